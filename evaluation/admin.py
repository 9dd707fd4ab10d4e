from typing import Any

from django.contrib import admin
from django.db.models import Max
from django.http import HttpRequest

from .models import CaseSummary, WeightSet


@admin.register(WeightSet)
class WeightSetAdmin(admin.ModelAdmin):
    """Weights are versioned: saving an edit writes the next version and leaves the old row
    as it was, because stored scores name the version that made them."""

    list_display = ["version", "label", "is_default", "created_at"]
    readonly_fields = ["version", "is_default", "created_at"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.pk = None
        obj.is_default = False
        obj.version = (WeightSet.objects.aggregate(m=Max("version"))["m"] or 0) + 1
        obj.save(force_insert=True)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CaseSummary)
class CaseSummaryAdmin(admin.ModelAdmin):
    """Read-only: the rows are rebuilt from the event log (manage.py rebuild_evaluation)."""

    list_display = ["case", "street", "source", "status", "opened_at", "close_due_at"]
    list_filter = ["status", "source"]
    raw_id_fields = ["case", "street", "community", "grid", "reporter", "opened_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
