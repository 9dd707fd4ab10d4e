"""Filters of the region list (strict: core.filters)."""

import django_filters
from django.db.models import QuerySet

from core.filters import StrictForm
from grids import selectors
from grids.models import Level, Region


class RegionFilter(django_filters.FilterSet):
    level = django_filters.TypedChoiceFilter(
        choices=Level.choices, coerce=int, help_text="1 区 · 2 街道 · 3 社区 · 4 网格"
    )
    parent = django_filters.CharFilter(field_name="parent__code", help_text="上级编码")
    q = django_filters.CharFilter(method="filter_q", help_text="名称片段或编码前缀")

    class Meta:
        model = Region
        fields: list[str] = []
        form = StrictForm

    def filter_q(self, qs: QuerySet[Region], name: str, value: str) -> QuerySet[Region]:
        return selectors.region_search(qs, value)
