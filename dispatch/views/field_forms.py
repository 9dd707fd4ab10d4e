"""Forms of the intake pages. They only parse and check what a page can check at once
(required fields, numbers); every rule of intake stays in dispatch.services.intake, whose
messages are shown beside the fields they name."""

import uuid
from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from cases.models import Source, Urgency
from dispatch.services.intake import IntakeInput
from dispatch.workflow import MAX_PHOTOS

# Service error fields shown in the location block of the page.
LOCATION_FIELDS = ("location", "lng", "lat")


class IntakeForm(forms.Form):
    category = forms.CharField(max_length=8, error_messages={"required": _("请选择问题小类")})
    description = forms.CharField(
        max_length=4000,
        error_messages={
            "required": _("请描述问题"),
            "max_length": _("描述不能超过 4000 字"),
        },
    )
    urgency = forms.ChoiceField(
        choices=Urgency.choices,
        required=False,
        error_messages={"invalid_choice": _("紧急程度无效")},
    )
    lng = forms.FloatField(
        required=False, min_value=-180, max_value=180, error_messages={"invalid": _("经度无效")}
    )
    lat = forms.FloatField(
        required=False, min_value=-90, max_value=90, error_messages={"invalid": _("纬度无效")}
    )
    address = forms.CharField(max_length=300, required=False)
    idempotency_key = forms.CharField(max_length=80, required=False)
    # Filled only when the browser runs no script (see the report template's <noscript>).
    idempotency_key_nojs = forms.CharField(max_length=80, required=False)

    source = Source.GRID_WORKER

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("lng") is None) != (data.get("lat") is None):
            self.add_error("lng", _("经纬度需同时提供"))
        return data

    def intake_input(self, request: HttpRequest) -> IntakeInput:
        d = self.cleaned_data
        return IntakeInput(
            category=d["category"],
            description=d["description"],
            source=self.source,
            urgency=d.get("urgency") or Urgency.NORMAL,
            lng=d.get("lng"),
            lat=d.get("lat"),
            address=d.get("address", ""),
            photos=list(request.FILES.getlist("photos")),
            idempotency_key=d.get("idempotency_key") or d.get("idempotency_key_nojs") or "",
            **self.extra_input(),
        )

    def extra_input(self) -> dict[str, Any]:
        return {}


class ReportForm(IntakeForm):
    """A grid worker's report from the field."""


class HotlineForm(IntakeForm):
    """A hotline call taken by an operator: the caller's contact is required."""

    source = Source.HOTLINE
    citizen_name = forms.CharField(max_length=50, required=False)
    citizen_phone = forms.CharField(max_length=20, required=False)
    register_outside = forms.BooleanField(required=False)

    def extra_input(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "citizen_name": d.get("citizen_name", ""),
            "citizen_phone": d.get("citizen_phone", ""),
            "register_outside": bool(d.get("register_outside")),
        }


def photo_count_error(request: HttpRequest) -> dict[str, list[str]]:
    if len(request.FILES.getlist("photos")) > MAX_PHOTOS:
        return {"photos": [str(_("最多上传 9 张照片"))]}
    return {}


def new_key() -> str:
    return str(uuid.uuid4())
