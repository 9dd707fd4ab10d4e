"""Filters of the case list; every filter is an indexed column thanks to intake's storing.

Strict, because a client that sends `?open=maybe` or `?created_after=` believes it filtered:
a value the filter cannot read is a 400 naming the parameter, never silently ignored.
"""

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.models import Case, Light, Source, Status, Urgency
from dispatch.models import Assignment, Department
from dispatch.selectors import QUEUES, live

BIGINT_MAX = 2**63 - 1


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 time with any offset Python accepts, handed to the database in UTC
    (PostgreSQL refuses offsets past ±15:59, and a time near year 1 or 9999 may not survive
    the shift: both are a field error, not a DataError)."""

    def to_python(self, value: Any) -> datetime | None:
        try:
            parsed = super().to_python(value)
            return parsed.astimezone(UTC) if parsed is not None else None
        except (OverflowError, ValueError) as exc:
            raise ValidationError(_("时间超出可表示的范围"), code="invalid") from exc


class StrictBooleanField(forms.Field):
    TRUE, FALSE = {"true", "1"}, {"false", "0"}

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE | self.FALSE:
            return text in self.TRUE
        raise ValidationError(_("应为 true 或 false"), code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


@extend_schema_field(OpenApiTypes.DATETIME)
class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": BIGINT_MAX})
class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(*args, **kwargs)


class StrictForm(forms.Form):
    """A parameter sent empty is an error unless it is free text: `?created_after=` or
    `?status=` says nothing a filter can use."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, field in self.fields.items():
            if isinstance(field, forms.CharField) or name in self.errors:
                continue
            values = self.data.getlist(name) if hasattr(self.data, "getlist") else []
            if any(v == "" for v in values):
                self.add_error(name, _("不能为空"))
        return cleaned


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
    queue = django_filters.ChoiceFilter(choices=[(k, k) for k in QUEUES], method="filter_queue")
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
        return live(qs).filter(QUEUES[value])

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


class UtcDateTimeSerializerField(serializers.DateTimeField):
    """DRF's DateTimeField, refusing times that cannot be shifted to UTC."""

    def to_internal_value(self, value: Any) -> datetime:
        parsed = super().to_internal_value(value)
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            self.fail("invalid", format="ISO 8601")


class ChangesQuery(serializers.Serializer):
    since = UtcDateTimeSerializerField(
        help_text="ISO 8601 时间;传回上次答复的 now / an ISO 8601 time: the last answer's now"
    )

    def to_internal_value(self, data: Any) -> Any:
        # A "+" in a query string arrives as a space: "2026-01-01T08:00:00 08:00".
        if hasattr(data, "get") and isinstance(data.get("since"), str):
            data = {"since": data["since"].replace(" ", "+")}
        return super().to_internal_value(data)
