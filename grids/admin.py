"""Admin for the territory, with map widgets from django-leaflet."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from .models import Membership, Region


@admin.register(Region)
class RegionAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "level", "kind", "parent", "area_km2", "synthetic"]
    list_filter = ["level", "synthetic", "kind"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]
    readonly_fields = ["area_m2", "updated_at"]
    list_per_page = 50
    ordering = ["code"]

    @admin.display(description=_("面积(平方公里)"), ordering="area_m2")
    def area_km2(self, obj: Region) -> str:
        return f"{obj.area_m2 / 1e6:.2f}"


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "region", "created_at"]
    list_filter = ["role", "region__level"]
    search_fields = ["user__username", "user__first_name", "region__name", "region__code"]
    raw_id_fields = ["user", "region"]
    list_select_related = ["user", "region"]
