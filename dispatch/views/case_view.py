"""One presentation of a case for every page that shows one: the command centre's panel
and the field case page.

The transition table (dispatch/workflow.py) says which inputs an action takes, which are
required, what its note and photos are called and whether it asks before it is sent;
this module turns a row into an `ActionForm` (the one form that reads a posted action),
into the `ActionView`s both templates draw, and builds the timeline, the photos and the
department choices. The photo files are served by `photo`, the one view for both pages.
The pages differ in layout only, never in which actions confirm or what is required.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from cases.models import Attachment, Case, CaseEvent, Satisfaction
from core.filters import BIGINT_MAX
from dispatch import selectors
from dispatch.actors import Actor, request_actor
from dispatch.effects import ActionInput
from dispatch.services.transitions import REQUIRED_MESSAGES
from dispatch.workflow import (
    BY_ACTION,
    FIELD_CHOICES,
    MAX_PHOTOS,
    NOTE_MAX_LENGTH,
    TARGET_CASE_MAX_LENGTH,
    Field,
    Transition,
)

from .labels import VERIFY_RESULT_LABELS, event_label, role_label, status_label

# The order inputs appear in on a form: what to choose first, free text, then photos.
FIELD_ORDER: tuple[Field, ...] = (
    Field.RESULT,
    Field.DEPARTMENT,
    Field.TARGET_CASE,
    Field.DEADLINE,
    Field.SATISFACTION,
    Field.NOTE,
    Field.PHOTOS,
)
# What a form shows again after an error (files cannot be kept).
KEPT_INPUTS = ("note", "target_case", "deadline", "result", "satisfaction", "department")
UNKNOWN_ACTION = gettext_lazy("未知的操作")

Page = Literal["centre", "field"]


# --- the form ---------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name; whether each is a photo is the service's check."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(allow_empty_file=True, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if not files:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        if len(files) > MAX_PHOTOS:
            raise ValidationError(_("最多上传 %(n)s 张照片") % {"n": MAX_PHOTOS}, code="max_photos")
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


def _input_field(f: Field, required: bool) -> forms.Field:
    messages = {"required": str(REQUIRED_MESSAGES[f])}
    if f is Field.NOTE:
        return forms.CharField(
            required=required, max_length=NOTE_MAX_LENGTH, error_messages=messages
        )
    if f is Field.PHOTOS:
        return MultipleFileField(required=required, error_messages=messages)
    if f is Field.DEPARTMENT:
        messages["invalid"] = messages["min_value"] = str(REQUIRED_MESSAGES[f])
        return forms.IntegerField(
            required=required, min_value=1, max_value=BIGINT_MAX, error_messages=messages
        )
    if f is Field.DEADLINE:
        messages["invalid"] = _("时间格式不正确")
        return forms.DateTimeField(required=required, error_messages=messages)
    if f is Field.TARGET_CASE:
        return forms.CharField(
            required=required, max_length=TARGET_CASE_MAX_LENGTH, error_messages=messages
        )
    # A choice input (result, satisfaction): the table's list of allowed values.
    return forms.ChoiceField(
        required=required, choices=[("", ""), *FIELD_CHOICES[f]], error_messages=messages
    )


class ActionForm(forms.Form):
    """One action as posted by a page: its inputs are the transition's, required where the
    table requires them, and cleaned_data becomes the service's ActionInput."""

    action = forms.CharField(widget=forms.HiddenInput)
    version = forms.IntegerField(min_value=0, widget=forms.HiddenInput)

    def __init__(self, transition: Transition, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transition = transition
        for f in FIELD_ORDER:
            if f in transition.inputs:
                self.fields[f.value] = _input_field(f, f in transition.required)

    @classmethod
    def posted(cls, request: HttpRequest) -> "ActionForm | None":
        """The form of the action the request names; None for a name the table lacks."""
        t = BY_ACTION.get(request.POST.get("action", ""))
        return cls(t, request.POST, request.FILES) if t else None

    def clean_action(self) -> str:
        value: str = self.cleaned_data["action"]
        if value != self.transition.action:
            raise ValidationError(UNKNOWN_ACTION, code="action")
        return value

    def to_input(self) -> ActionInput:
        d = self.cleaned_data
        return ActionInput(
            note=d.get("note") or "",
            photos=list(d.get("photos") or []),
            department_id=d.get("department"),
            deadline=d.get("deadline"),
            target_case=d.get("target_case") or "",
            satisfaction=d.get("satisfaction") or "",
            result=d.get("result") or "",
            expected_version=d["version"],
        )


# --- the actions a page offers ------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentChoice:
    id: int
    name: str
    default: bool


def department_choices(case: Case) -> list[DepartmentChoice]:
    """Where the case may be dispatched, its category's usual department marked."""
    default = selectors.default_department(case)
    return [
        DepartmentChoice(d.id, d.name, default is not None and d.id == default.id)
        for d in selectors.dispatch_targets(case)
    ]


@dataclass
class InputView:
    name: str
    required: bool
    errors: list[str] = field(default_factory=list)


@dataclass
class ActionView:
    action: str
    label: str
    inputs: list[InputView]  # in FIELD_ORDER
    confirm: str  # asked before sending; empty: sent at once
    note_label: str
    photo_label: str
    departments: list[DepartmentChoice] = field(default_factory=list)
    general: list[str] = field(default_factory=list)  # messages no input of the form shows
    values: dict[str, str] = field(default_factory=dict)  # what was typed, after an error
    open: bool = False

    @property
    def danger(self) -> bool:
        """Actions that undo someone's work or end a case: styled apart, and confirmed."""
        return bool(self.confirm)


def action_view(t: Transition, case: Case) -> ActionView:
    view = ActionView(
        action=t.action,
        label=str(t.label),
        inputs=[InputView(f.value, f in t.required) for f in FIELD_ORDER if f in t.inputs],
        confirm=str(t.confirm or ""),
        note_label=str(t.note_label or _("意见")),
        photo_label=str(t.photo_label or _("照片")),
    )
    if Field.DEPARTMENT in t.inputs:
        view.departments = department_choices(case)
    return view


@dataclass
class Actions:
    views: list[ActionView]
    general: list[str]  # errors of a posted action that is not (or no longer) offered


def case_actions(
    actor: Actor,
    case: Case,
    *,
    open_action: str = "",
    errors: dict[str, list[str]] | None = None,
    values: dict[str, str] | None = None,
) -> Actions:
    """The actions this actor may take now; the one just posted (`open_action`) left open
    with its errors beside its inputs and what was typed."""
    views = [
        action_view(BY_ACTION[spec.action], case)
        for spec in selectors.available_actions(actor, case)
    ]
    errors = dict(errors or {})
    for view in views:
        if view.action != open_action:
            continue
        view.open = True
        view.values = dict(values or {})
        for i in view.inputs:
            i.errors = errors.pop(i.name, [])
    leftover = [m for msgs in errors.values() for m in msgs]
    target = next((v for v in views if v.open), None)
    if target is not None:
        target.general = leftover
        return Actions(views, [])
    return Actions(views, leftover)


def kept_values(request: HttpRequest) -> dict[str, str]:
    return {k: request.POST.get(k, "") for k in KEPT_INPUTS}


# --- photos and timeline -------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoView:
    attachment: Attachment
    full: str
    thumb: str

    @property
    def kind_label(self) -> str:
        return str(self.attachment.get_kind_display())


def photo_view(att: Attachment, page: Page) -> PhotoView:
    """The photo's links on this page; both routes lead to `photo` below."""
    if page == "centre":
        return PhotoView(
            att,
            reverse("dispatch:centre-photo", args=[att.id, "full"]),
            reverse("dispatch:centre-photo", args=[att.id, "thumb"]),
        )
    return PhotoView(
        att,
        reverse("dispatch:field-photo", args=[att.id]),
        reverse("dispatch:field-photo-thumb", args=[att.id]),
    )


def case_photos(case: Case, page: Page) -> list[PhotoView]:
    return [photo_view(att, page) for att in case.attachments.order_by("created_at", "id")]


def photo_groups(photos: list[PhotoView]) -> list[tuple[str, list[PhotoView]]]:
    """The photos by kind, in the kinds' order: before, after, check, other."""
    groups: dict[str, list[PhotoView]] = {}
    for p in photos:
        groups.setdefault(p.attachment.kind, []).append(p)
    return [(str(label), groups[kind]) for kind, label in Attachment.Kind.choices if kind in groups]


@dataclass
class Entry:
    event: CaseEvent
    label: str
    role: str
    from_label: str
    to_label: str
    details: list[str]
    photos: list[PhotoView] = field(default_factory=list)


def _details(data: dict[str, Any]) -> list[str]:
    details = []
    if data.get("department"):
        details.append(_("派遣至:%(d)s") % {"d": data["department"]})
    if data.get("result"):
        details.append(_("核实结果:%(r)s") % {"r": VERIFY_RESULT_LABELS.get(data["result"], "")})
    if data.get("merged_into"):
        details.append(_("合并至:%(n)s") % {"n": data["merged_into"]})
    if data.get("satisfaction"):
        details.append(_("满意度:%(s)s") % {"s": Satisfaction(data["satisfaction"]).label})
    if data.get("requested_deadline"):
        at = datetime.fromisoformat(str(data["requested_deadline"]))
        details.append(
            _("申请时限:%(t)s") % {"t": timezone.localtime(at).strftime("%Y-%m-%d %H:%M")}
        )
    return details


def timeline(case: Case, page: Page) -> list[Entry]:
    """Every event, oldest first, with the details a reader needs beside the note."""
    events = case.events.select_related("actor").prefetch_related("attachments")
    out = []
    for ev in events.order_by("at", "id"):
        changed = ev.from_status != ev.to_status
        out.append(
            Entry(
                event=ev,
                label=event_label(ev.action),
                role=role_label(ev.actor_role),
                from_label=status_label(ev.from_status) if changed and ev.from_status else "",
                to_label=status_label(ev.to_status) if changed else "",
                details=_details(ev.data or {}),
                photos=[photo_view(att, page) for att in ev.attachments.all()],
            )
        )
    return out


@login_required
@require_safe
def photo(request: HttpRequest, pk: int, size: str = "full") -> FileResponse:
    """A case photo, served only to someone who may see the case (not from MEDIA_URL:
    photos show people and addresses, and MEDIA_URL has no login in front of it). Photos
    are re-encoded at intake and never change (named by their hash): the browser may
    keep them."""
    visible = selectors.cases_visible(request_actor(request)).values("id")
    att = (
        Attachment.objects.filter(pk=pk, case__in=visible)
        .only("case_id", "image", "thumbnail")
        .first()
    )
    if att is None or size not in ("full", "thumb"):
        raise Http404(_("照片不存在"))
    file = att.thumbnail if size == "thumb" else att.image
    try:
        handle = file.open("rb")
    except FileNotFoundError as exc:
        raise Http404(_("照片文件缺失")) from exc
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response
