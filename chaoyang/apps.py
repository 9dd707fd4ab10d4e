from django.apps import AppConfig


class ChaoyangConfig(AppConfig):
    name = "chaoyang"
    verbose_name = "Chaoyang Grid"
