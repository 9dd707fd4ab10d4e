"""The command centre's case panel: what it shows and how its action forms are read.

Presentation only. Which actions a user may take comes from selectors.available_actions
(the transition table), what happens comes from transitions.case_act; this module turns
both into the panel's forms, messages and timeline.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Attachment, Case, CaseEvent, Satisfaction, Status
from dispatch import selectors
from dispatch.actors import Actor
from dispatch.models import Assignment, Department
from dispatch.services.transitions import VERIFY_RESULTS, ActionInput
from dispatch.workflow import BY_ACTION, Field

from .labels import (
    MAX_PHOTOS,
    VERIFY_RESULT_LABELS,
    event_label,
    role_label,
    status_label,
)

# Actions that end or undo someone's work: the page asks before sending them.
DESTRUCTIVE = frozenset(
    {"void", "merge", "return", "check_fail", "reject_extension", "reject_park"}
)
# The order inputs appear in a form: what to choose first, the note, then photos.
FIELD_ORDER = [
    Field.DEPARTMENT,
    Field.TARGET_CASE,
    Field.RESULT,
    Field.SATISFACTION,
    Field.DEADLINE,
    Field.NOTE,
    Field.PHOTOS,
]


class ActionForm(forms.Form):
    """Every input any action may take; which are required is the transition table's call."""

    action = forms.ChoiceField(choices=[(a, a) for a in BY_ACTION])
    version = forms.IntegerField(min_value=0)
    note = forms.CharField(required=False, max_length=2000)
    department = forms.IntegerField(required=False)
    deadline = forms.DateTimeField(required=False)
    target_case = forms.CharField(required=False, max_length=40)
    satisfaction = forms.ChoiceField(required=False, choices=[("", ""), *Satisfaction.choices])
    result = forms.ChoiceField(
        required=False, choices=[("", ""), *((r, r) for r in VERIFY_RESULTS)]
    )

    def to_input(self, photos: list[Any]) -> ActionInput:
        d = self.cleaned_data
        return ActionInput(
            note=d["note"] or "",
            photos=photos,
            department_id=d["department"],
            deadline=d["deadline"],
            target_case=d["target_case"] or "",
            satisfaction=d["satisfaction"] or "",
            result=d["result"] or "",
            expected_version=d["version"],
        )


@dataclass
class FieldView:
    name: str
    required: bool
    errors: list[str] = field(default_factory=list)


@dataclass
class ActionView:
    action: str
    label: str
    fields: list[FieldView]  # in FIELD_ORDER
    destructive: bool
    confirm: str = ""


@dataclass
class Entry:
    event: CaseEvent
    label: str
    role: str
    from_label: str
    to_label: str
    details: list[str]
    photos: list[tuple[Attachment, dict[str, str]]] = field(default_factory=list)


def timeline(case: Case) -> list[Entry]:
    """Every event, oldest first, with the details a reader needs beside the note."""
    out = []
    events = case.events.select_related("actor").prefetch_related("attachments")
    for ev in events.order_by("at", "id"):
        data = ev.data or {}
        details = []
        if data.get("department"):
            details.append(_("派遣至:%(d)s") % {"d": data["department"]})
        if data.get("result"):
            details.append(
                _("核实结果:%(r)s") % {"r": VERIFY_RESULT_LABELS.get(data["result"], "")}
            )
        if data.get("merged_into"):
            details.append(_("合并至:%(n)s") % {"n": data["merged_into"]})
        if data.get("satisfaction"):
            details.append(_("满意度:%(s)s") % {"s": Satisfaction(data["satisfaction"]).label})
        if data.get("requested_deadline"):
            at = datetime.fromisoformat(str(data["requested_deadline"]))
            details.append(
                _("申请时限:%(t)s") % {"t": timezone.localtime(at).strftime("%Y-%m-%d %H:%M")}
            )
        changed = ev.from_status != ev.to_status
        out.append(
            Entry(
                event=ev,
                label=event_label(ev.action),
                role=role_label(ev.actor_role),
                from_label=status_label(ev.from_status) if changed and ev.from_status else "",
                to_label=status_label(ev.to_status) if changed else "",
                details=details,
                photos=[(att, photo_urls(att)) for att in ev.attachments.all()],
            )
        )
    return out


def duration_text(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)s天%(h)s小时") % {"d": days, "h": hours}
    if hours:
        return _("%(h)s小时%(m)s分") % {"h": hours, "m": mins}
    return _("%(m)s分钟") % {"m": mins}


def clock_text(case: Case, now: datetime) -> tuple[str, bool]:
    """(what the clock says, overdue?) for the panel's deadline line."""
    if case.status == Status.PARKED:
        return _("已挂账,计时暂停"), False
    if case.deadline is None:
        return "", False
    left = case.deadline - now
    if left.total_seconds() < 0:
        return _("已超期 %(t)s") % {"t": duration_text(left)}, True
    return _("剩余 %(t)s") % {"t": duration_text(left)}, False


def masked_name(name: str) -> str:
    return name[:1] + "*" * min(len(name) - 1, 2) if name else ""


def photo_urls(att: Attachment) -> dict[str, str]:
    return {
        "full": reverse("dispatch:centre-photo", args=[att.id, "full"]),
        "thumb": reverse("dispatch:centre-photo", args=[att.id, "thumb"]),
    }


def action_views(actor: Actor, case: Case) -> list[ActionView]:
    out = []
    for spec in selectors.available_actions(actor, case):
        required, optional = set(spec.required), set(spec.optional)
        fields = [
            FieldView(f.value, f.value in required) for f in FIELD_ORDER if f in required | optional
        ]
        destructive = spec.action in DESTRUCTIVE
        confirm = (
            _("确定要执行“%(label)s”吗?此操作会记入案件日志。") % {"label": spec.label}
            if destructive
            else ""
        )
        out.append(ActionView(spec.action, spec.label, fields, destructive, confirm))
    return out


def panel_context(
    actor: Actor,
    case: Case,
    *,
    message: str = "",
    message_kind: str = "",
    errors: dict[str, list[str]] | None = None,
    open_action: str = "",
    submitted: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Everything _case_panel.html shows for this actor and case."""
    now = timezone.now()
    actions = action_views(actor, case)
    errors = dict(errors or {})
    for a in actions:
        if a.action == open_action:
            for f in a.fields:
                f.errors = errors.pop(f.name, [])
    # What no field of the open form shows (a stale form's version, a bad action name).
    general = [m for msgs in errors.values() for m in msgs]
    names = {a.action for a in actions}
    departments: list[Department] = []
    default_id = None
    if "dispatch" in names:
        departments = list(selectors.dispatch_targets(case))
        default = selectors.default_department(case)
        default_id = default.id if default else None
    # Suggestions may lie across a street border: show only cases this actor may see.
    candidates = [r.id for r in selectors.duplicate_rows(case)] if not case.is_final else []
    duplicates = list(
        selectors.cases_visible(actor)
        .filter(id__in=candidates)
        .select_related("category")
        .order_by("created_at")
    )
    assignment = (
        Assignment.objects.filter(case=case, active=True).select_related("department").first()
    )
    clock, overdue = clock_text(case, now)
    photos = [(att, photo_urls(att)) for att in case.attachments.all()]
    entries = timeline(case)
    submitted = submitted or {}
    return {
        "case": case,
        "status_label": status_label(case.status),
        "clock": clock,
        "overdue": overdue,
        "citizen_name": masked_name(case.citizen_name),
        "assignment": assignment,
        "photos": photos,
        "timeline": entries,
        "duplicates": duplicates,
        "can_merge": "merge" in names,
        "actions": actions,
        "departments": departments,
        "default_department": submitted.get("department") or (str(default_id or "")),
        "satisfaction_choices": Satisfaction.choices,
        "result_choices": [(r, VERIFY_RESULT_LABELS[r]) for r in VERIFY_RESULTS],
        "message": message,
        "message_kind": message_kind,
        "general_errors": general,
        "open_action": open_action,
        "submitted": submitted,
        "max_photos": MAX_PHOTOS,
        "now": now,
    }
