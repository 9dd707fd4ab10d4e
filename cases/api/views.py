"""Read endpoints of the category catalogue: what a report may be filed under."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from cases.models import Category

from .serializers import CategorySerializer


class CategoryListView(generics.ListAPIView):
    """Active categories (大类 and their 小类), in catalogue order. Reports are filed under
    a subcategory (`leaf: true`); its `code` is the intake's `category`."""

    serializer_class = CategorySerializer
    pagination_class = None  # about a hundred rows, read whole

    @extend_schema(
        parameters=[
            OpenApiParameter("parent", str, description="只列该大类的小类 / one group's"),
            OpenApiParameter("leaf", bool, description="true:只列小类 / subcategories only"),
        ]
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Category]:
        qs = Category.objects.filter(active=True).select_related("parent")
        params = self.request.query_params
        if "parent" in params:
            qs = qs.filter(parent__code=params["parent"])
        leaf = params.get("leaf")
        if leaf is not None:
            if leaf not in ("true", "false"):
                raise ValidationError({"leaf": [_("应为 true 或 false")]})
            qs = qs.filter(parent__isnull=leaf == "false")
        return qs.order_by("sort", "code")


class CategoryDetailView(generics.RetrieveAPIView):
    serializer_class = CategorySerializer
    lookup_field = "code"
    queryset = Category.objects.filter(active=True).select_related("parent")
