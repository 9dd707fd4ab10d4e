"""Thin API views for the territory."""

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.problems import Problem
from grids import selectors
from grids.crs import to_wgs84
from grids.models import Region

from .filters import RegionFilter
from .serializers import (
    LocateQuerySerializer,
    LocateResultSerializer,
    RegionDetailSerializer,
    RegionSerializer,
)


class LocateView(APIView):
    """Which unit grid, community, street and district a point falls in."""

    @extend_schema(
        parameters=[LocateQuerySerializer],
        responses={
            200: LocateResultSerializer,
            400: OpenApiResponse(description="坐标格式错误或超出范围 / malformed coordinates"),
            404: OpenApiResponse(
                description="不在本区范围内(outside_district,带 district)/ outside the district"
            ),
        },
    )
    def get(self, request: Request) -> Response:
        query = LocateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        lng, lat = to_wgs84(
            query.validated_data["lng"], query.validated_data["lat"], query.validated_data["crs"]
        )
        location = selectors.locate(lng=lng, lat=lat)
        if location is None:
            district = selectors.district_at(lng=lng, lat=lat)
            if district is not None:
                detail = _("该点不在朝阳区范围内,位于%(name)s。") % {"name": district.name}
            else:
                detail = _("该点不在朝阳区范围内。")
            raise Problem(
                detail,
                status=404,
                code="outside_district",
                district={"code": district.code, "name": district.name} if district else None,
            )
        data = {
            "grid": location.grid,
            "community": location.community,
            "street": location.street,
            "district": location.district,
            "lng": lng,
            "lat": lat,
        }
        return Response(LocateResultSerializer(data).data)


class RegionListView(generics.ListAPIView):
    """Regions at any level, filtered by level, parent code or a name/code search."""

    serializer_class = RegionSerializer
    filterset_class = RegionFilter

    def get_queryset(self) -> QuerySet[Region]:
        return selectors.region_list()


class RegionDetailView(generics.RetrieveAPIView):
    serializer_class = RegionDetailSerializer
    lookup_field = "code"

    def get_object(self) -> Region:
        try:
            return get_object_or_404(
                Region.objects.select_related("parent__parent__parent"), code=self.kwargs["code"]
            )
        except Http404 as exc:
            raise Http404(_("没有该编码的辖区")) from exc
