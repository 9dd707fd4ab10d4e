from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = _("指挥派遣")

    def ready(self) -> None:
        from dispatch import calendar, reference

        # Overrides, categories and policies are cached per process; changes invalidate.
        calendar.connect_signals()
        reference.connect_signals()
