"""Filters of the case list; every filter is an indexed column thanks to intake's storing.
Strict (core.filters): a value a filter cannot read is a 400 naming the parameter."""

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from cases.models import Case, Light, Source, Status, Urgency
from core.filters import (
    IdFilter,
    StrictBooleanFilter,
    StrictForm,
    UtcDateTimeFilter,
    UtcDateTimeSerializerField,
)
from dispatch.actors import request_actor
from dispatch.models import Assignment, Department
from dispatch.queues import QUEUE_KEYS, centre_for
from dispatch.selectors import live


class CaseFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    light = django_filters.MultipleChoiceFilter(choices=Light.choices)
    source = django_filters.MultipleChoiceFilter(choices=Source.choices)
    urgency = django_filters.ChoiceFilter(choices=Urgency.choices)
    handling_level = django_filters.ChoiceFilter(
        choices=[("street", _("街道")), ("district", _("区级"))]
    )
    street = django_filters.CharFilter(field_name="street__code", help_text="街道编码")
    community = django_filters.CharFilter(field_name="community__code", help_text="社区编码")
    grid = django_filters.CharFilter(field_name="grid__code", help_text="网格编码")
    category = django_filters.CharFilter(method="filter_category", help_text="大类或小类编码")
    department = IdFilter(method="filter_department", help_text="部门 id")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")
    q = django_filters.CharFilter(method="filter_text", help_text="编号、地址或描述")
    queue = django_filters.ChoiceFilter(
        choices=[(k, k) for k in QUEUE_KEYS],
        method="filter_queue",
        help_text="指挥中心的队列(见 /cases/queues/);不在本中心的队列为空",
    )
    supervised = StrictBooleanFilter()
    open = StrictBooleanFilter(method="filter_open", help_text="仅未结束的案件")

    class Meta:
        model = Case
        fields: list[str] = []
        form = StrictForm

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
        # The queue as the user's own centre defines it: the same rows its page lists.
        centre = centre_for(request_actor(self.request))
        queue = centre.queue(value) if centre else None
        return live(qs).filter(queue.q) if queue else qs.none()

    def filter_open(self, qs: QuerySet[Case], name: str, value: bool) -> QuerySet[Case]:
        return live(qs) if value else qs


class DepartmentFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(choices=Department.Level.choices)
    kind = django_filters.CharFilter(help_text="职能,如 enforcement、sanitation")
    region = django_filters.CharFilter(field_name="region__code", help_text="所属辖区编码")

    class Meta:
        model = Department
        fields: list[str] = []
        form = StrictForm


class ChangesQuery(serializers.Serializer):
    since = UtcDateTimeSerializerField(
        help_text="ISO 8601 时间;传回上次答复的 now / an ISO 8601 time: the last answer's now"
    )

    def to_internal_value(self, data: Any) -> Any:
        # A "+" in a query string arrives as a space: "2026-01-01T08:00:00 08:00".
        if hasattr(data, "get") and isinstance(data.get("since"), str):
            data = {"since": data["since"].replace(" ", "+")}
        return super().to_internal_value(data)
