"""Filters of the case list; every filter is an indexed column thanks to intake's storing."""

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from cases.models import Case, Light, Source, Status
from dispatch.models import Assignment
from dispatch.selectors import QUEUES, live


class CaseFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    light = django_filters.MultipleChoiceFilter(choices=Light.choices)
    source = django_filters.MultipleChoiceFilter(choices=Source.choices)
    street = django_filters.CharFilter(field_name="street__code", help_text="街道编码")
    community = django_filters.CharFilter(field_name="community__code", help_text="社区编码")
    grid = django_filters.CharFilter(field_name="grid__code", help_text="网格编码")
    category = django_filters.CharFilter(method="filter_category", help_text="大类或小类编码")
    department = django_filters.NumberFilter(method="filter_department", help_text="部门 id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    q = django_filters.CharFilter(method="filter_text", help_text="编号、地址或描述")
    queue = django_filters.ChoiceFilter(choices=[(k, k) for k in QUEUES], method="filter_queue")
    supervised = django_filters.BooleanFilter()
    open = django_filters.BooleanFilter(method="filter_open", help_text="仅未结束的案件")

    class Meta:
        model = Case
        fields = ["urgency", "handling_level"]

    def filter_category(self, qs: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        return qs.filter(Q(category__code=value) | Q(category__parent__code=value))

    def filter_department(self, qs: QuerySet[Case], name: str, value: int) -> QuerySet[Case]:
        return qs.filter(
            Exists(Assignment.objects.filter(case=OuterRef("pk"), department_id=value, active=True))
        )

    def filter_text(self, qs: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        value = value.strip()
        if not value:
            return qs
        return qs.filter(
            Q(number__startswith=value)
            | Q(address__icontains=value)
            | Q(description__icontains=value)
        )

    def filter_queue(self, qs: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        return live(qs).filter(QUEUES[value])

    def filter_open(self, qs: QuerySet[Case], name: str, value: bool) -> QuerySet[Case]:
        return live(qs) if value else qs
