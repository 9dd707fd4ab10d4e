from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from .models import Attachment, Case, CaseEvent, Category


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "parent",
        "kind",
        "duplicate_radius_m",
        "duplicate_window_hours",
        "active",
    ]
    list_filter = ["kind", "active", "parent"]
    search_fields = ["code", "name", "examples"]
    raw_id_fields = ["parent"]


class EventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    readonly_fields = [
        "at",
        "action",
        "from_status",
        "to_status",
        "actor",
        "actor_role",
        "unit",
        "note",
        "data",
    ]

    def has_add_permission(self, request, obj=None):
        return False  # the log is written by services only


@admin.register(Case)
class CaseAdmin(LeafletGeoAdmin):
    list_display = ["number", "category", "status", "light", "street", "source", "created_at"]
    list_filter = ["status", "light", "source", "urgency", "supervised", "handling_level"]
    search_fields = ["number", "address", "description"]
    raw_id_fields = ["category", "grid", "community", "street", "reporter", "merged_into"]
    readonly_fields = [f.name for f in Case._meta.fields if f.name not in ("location",)]
    exclude = ["citizen_phone_enc", "citizen_phone_index"]
    inlines = [EventInline]

    def has_add_permission(self, request):
        return False  # cases enter through intake, which numbers and routes them


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["case", "kind", "width", "height", "created_at"]
    raw_id_fields = ["case", "event", "uploaded_by"]
