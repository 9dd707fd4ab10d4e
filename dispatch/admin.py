from django.contrib import admin

from .models import (
    Assignment,
    CalendarOverride,
    CategoryPolicy,
    Department,
    DepartmentMembership,
)


class DepartmentMembershipInline(admin.TabularInline):
    model = DepartmentMembership
    raw_id_fields = ["user"]
    extra = 0


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "kind", "region", "active"]
    list_filter = ["level", "kind", "active"]
    search_fields = ["code", "name"]
    raw_id_fields = ["region"]
    inlines = [DepartmentMembershipInline]


@admin.register(DepartmentMembership)
class DepartmentMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "department", "role"]
    list_filter = ["role", "department__level"]
    search_fields = ["user__username", "department__name"]
    raw_id_fields = ["user", "department"]


@admin.register(CategoryPolicy)
class CategoryPolicyAdmin(admin.ModelAdmin):
    list_display = ["category", "urgency", "principle", "department_kind", "limits"]
    list_filter = ["urgency", "principle", "department_kind"]
    search_fields = ["category__code", "category__name"]
    raw_id_fields = ["category"]


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):
    list_display = ["date", "is_workday", "note"]
    list_filter = ["is_workday"]
    date_hierarchy = "date"


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = [
        "case",
        "department",
        "active",
        "dispatched_at",
        "accepted_at",
        "done_at",
        "pending_request",
    ]
    list_filter = ["active", "pending_request", "department"]
    raw_id_fields = ["case", "department", "dispatched_by"]

    def has_add_permission(self, request):
        return False  # dispatch is a workflow action, not an admin edit
