from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = _("指挥派遣")

    def ready(self) -> None:
        from dispatch import calendar

        calendar.connect_signals()  # calendar overrides invalidate the in-memory cache
