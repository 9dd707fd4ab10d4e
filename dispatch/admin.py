from django.contrib import admin

from .models import Department, DepartmentMembership


class DepartmentMembershipInline(admin.TabularInline):
    model = DepartmentMembership
    raw_id_fields = ["user"]
    extra = 0


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "region", "active"]
    list_filter = ["level", "active"]
    search_fields = ["code", "name"]
    raw_id_fields = ["region"]
    inlines = [DepartmentMembershipInline]


@admin.register(DepartmentMembership)
class DepartmentMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "department", "role"]
    list_filter = ["role", "department__level"]
    search_fields = ["user__username", "department__name"]
    raw_id_fields = ["user", "department"]
