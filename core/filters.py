"""Query parameters that refuse what they cannot use.

A client that sends `?open=maybe`, `?created_after=` or `?level=` believes it filtered: a
value a filter cannot read is a 400 naming the parameter, never silently ignored. Times
may carry any offset ISO 8601 allows; they reach the database in UTC.
"""

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

BIGINT_MAX = 2**63 - 1  # ids are PostgreSQL bigints


def to_utc(value: datetime) -> datetime:
    """The same instant in UTC. A time within hours of year 1 or year 9999 may have no UTC
    form in Python: it is clamped to the earliest or latest time there is, which compares
    the same way with every stored time (PostgreSQL refuses offsets past ±15:59, so an
    offset like -18:01 must never reach it)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)


class UtcDateTimeField(IsoDateTimeField):
    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        return to_utc(parsed) if parsed is not None else None


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
    `?status=` says nothing a filter can use. Use as a FilterSet's Meta.form."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, field in self.fields.items():
            if isinstance(field, forms.CharField) or name in self.errors:
                continue
            values = self.data.getlist(name) if hasattr(self.data, "getlist") else []
            if any(v == "" for v in values):
                self.add_error(name, _("不能为空"))
        return cleaned


class UtcDateTimeSerializerField(serializers.DateTimeField):
    """DRF's DateTimeField, read in UTC (an offset far from Beijing's must not overflow)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> datetime:
        return to_utc(super().to_internal_value(value))
