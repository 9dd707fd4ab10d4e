"""Serializers for the territory API."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from grids.crs import CRS
from grids.models import Region


class LocateQuerySerializer(serializers.Serializer):
    lng = serializers.FloatField(min_value=-180, max_value=180, help_text=_("经度"))
    lat = serializers.FloatField(min_value=-90, max_value=90, help_text=_("纬度"))
    crs = serializers.ChoiceField(
        choices=[c.value for c in CRS],
        default=CRS.WGS84.value,
        help_text=_("坐标系:wgs84(GPS)、gcj02(高德/腾讯地图)或 cgcs2000"),
    )


class RegionRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["code", "name"]


class LocateResultSerializer(serializers.Serializer):
    grid = RegionRefSerializer()
    community = RegionRefSerializer()
    street = RegionRefSerializer()
    district = RegionRefSerializer()
    lng = serializers.FloatField(help_text=_("WGS 84 经度"))
    lat = serializers.FloatField(help_text=_("WGS 84 纬度"))


class RegionSerializer(serializers.ModelSerializer):
    level_display = serializers.CharField(source="get_level_display", read_only=True)
    parent_code = serializers.CharField(
        source="parent.code", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Region
        fields = [
            "code",
            "name",
            "kind",
            "level",
            "level_display",
            "parent_code",
            "area_m2",
            "responsible",
            "synthetic",
        ]


class RegionDetailSerializer(RegionSerializer):
    ancestors = serializers.SerializerMethodField()
    children = serializers.SerializerMethodField()
    bbox = serializers.SerializerMethodField()

    class Meta(RegionSerializer.Meta):
        fields = [*RegionSerializer.Meta.fields, "ancestors", "children", "bbox"]

    def get_ancestors(self, obj: Region) -> list[dict[str, str]]:
        chain: list[dict[str, str]] = []
        node = obj.parent
        while node is not None:
            chain.insert(0, {"code": node.code, "name": node.name})
            node = node.parent
        return chain

    def get_children(self, obj: Region) -> list[dict[str, str]]:
        return [{"code": c.code, "name": c.name} for c in obj.children.order_by("code")]

    def get_bbox(self, obj: Region) -> list[float]:
        """[west, south, east, north] in WGS 84."""
        return list(obj.boundary.extent)
