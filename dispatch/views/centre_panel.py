"""The command centre's case panel: what it shows and how its action forms are read.

Presentation only. Which actions a user may take comes from selectors.available_actions
(the transition table), what happens comes from transitions.case_act; the forms, timeline
and photos are case_view's (shared with the field case page); this module adds what only
the panel shows (the clock, duplicates, the masked caller).
"""

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, Status
from dispatch import selectors
from dispatch.actors import Actor
from dispatch.models import Assignment
from dispatch.workflow import FIELD_CHOICES, MAX_PHOTOS, Field

from .case_view import case_actions, case_photos, timeline
from .labels import status_label


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
    submitted = submitted or {}
    actions = case_actions(actor, case, open_action=open_action, errors=errors, values=submitted)
    names = {a.action for a in actions.views}
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
    return {
        "case": case,
        "status_label": status_label(case.status),
        "clock": clock,
        "overdue": overdue,
        "citizen_name": masked_name(case.citizen_name),
        "assignment": assignment,
        "photos": case_photos(case, "centre"),
        "timeline": timeline(case, "centre"),
        "duplicates": duplicates,
        "can_merge": "merge" in names,
        "actions": actions.views,
        "satisfaction_choices": FIELD_CHOICES[Field.SATISFACTION],
        "result_choices": FIELD_CHOICES[Field.RESULT],
        "message": message,
        "message_kind": message_kind,
        "general_errors": actions.general + [m for a in actions.views if a.open for m in a.general],
        "open_action": open_action,
        "max_photos": MAX_PHOTOS,
        "now": now,
    }
