"""What each action does to a case beyond its status: the `effect` of a transition.

The transition table (dispatch/workflow.py) names one of these per action; case_act
(dispatch/services/transitions.py) runs it under the case's row lock, after every check, and
writes the event with the payload the effect returns. An effect may still refuse (Invalid)
when its input names something that isn't there. The clock is not touched here: the table's
`clock` says what happens to it, and case_act applies that after the effect.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from cases.models import Case
from dispatch.actors import Actor, scope_q
from dispatch.errors import Invalid
from dispatch.models import Assignment, Department


@dataclass
class ActionInput:
    note: str = ""
    photos: list[UploadedFile | bytes] = field(default_factory=list)
    department_id: int | None = None
    deadline: datetime | None = None
    target_case: str = ""  # id or number of the case to merge into
    satisfaction: str = ""
    result: str = ""
    expected_version: int | None = None


@dataclass
class ActionContext:
    """One action under way: the locked case, who acts, what they sent, and what the
    effect found (the department dispatched to, the case merged into, a deadline to move)."""

    case: Case
    actor: Actor
    data: ActionInput
    now: datetime
    assignment: Assignment | None
    department: Department | None = None
    target: Case | None = None
    extend_to: datetime | None = None
    # (user ids, kind, message): people told beyond the table's recipients (merges).
    notify_extra: list[tuple[set[int], str, str]] = field(default_factory=list)


Effect = Callable[[ActionContext], dict[str, Any]]


def verify(c: ActionContext) -> dict[str, Any]:
    return {"result": c.data.result}


def open_case(c: ActionContext) -> dict[str, Any]:
    c.case.opened_at = c.now
    return {}


def dispatch_to_department(c: ActionContext) -> dict[str, Any]:
    assert c.data.department_id is not None  # required by the table, checked before
    dept = (
        Department.objects.filter(id=c.data.department_id, active=True)
        .select_related("region")
        .defer("region__boundary")
        .first()
    )
    if dept is None:
        raise Invalid(_("部门不存在或已停用"), fields={"department": [_("部门不存在或已停用")]})
    case = c.case
    if case.handling_level == "street":
        ok = dept.level == Department.Level.STREET and case.street_id == dept.region_id
    else:
        ok = dept.level == Department.Level.DISTRICT
    if not ok:
        message = _("只能派遣给本级的部门")
        raise Invalid(message, fields={"department": [message]})
    Assignment.objects.filter(case=case, active=True).update(active=False)
    c.assignment = Assignment.objects.create(case=case, department=dept, dispatched_by=c.actor.user)
    c.department = dept
    return {"department_id": dept.id, "department": dept.name}


def target_of(actor: Actor, ref: str) -> Any:
    """The cases `ref` (an id or a case number) names among those the actor may see: another
    street's case "does not exist" for a merge either."""
    qs = Case.objects.filter(scope_q(actor))
    ref = ref.strip()
    return qs.filter(id=int(ref)) if ref.isdigit() else qs.filter(number=ref)


def merge(c: ActionContext) -> dict[str, Any]:
    target = target_of(c.actor, str(c.data.target_case)).select_for_update().first()
    if target is not None and target.id == c.case.id:
        message = _("不能把案件合并到它自己")
        raise Invalid(message, fields={"target_case": [message]})
    if target is None:
        raise Invalid(_("合并目标不存在"), fields={"target_case": [_("合并目标不存在")]})
    if target.is_final:
        raise Invalid(_("不能合并到已结束的案件"), fields={"target_case": [_("目标案件已结束")]})
    c.case.merged_into = target
    c.target = target
    reporters = {r for r in (c.case.reporter_id, target.reporter_id) if r}
    c.notify_extra.append((reporters, "merged", f"案件 {c.case.number} 已合并至 {target.number}"))
    return {"merged_into": target.number}


def escalate(c: ActionContext) -> dict[str, Any]:
    c.case.handling_level = "district"
    return {}


def accept(c: ActionContext) -> dict[str, Any]:
    assert c.assignment is not None
    c.assignment.accepted_at = c.now
    return {}


def return_task(c: ActionContext) -> dict[str, Any]:
    assert c.assignment is not None
    c.assignment.active = False
    c.assignment.returned_at = c.now
    c.case.return_count += 1
    return {}


def report_done(c: ActionContext) -> dict[str, Any]:
    assert c.assignment is not None
    c.assignment.done_at = c.now
    return {}


def check_fail(c: ActionContext) -> dict[str, Any]:
    c.case.rework_count += 1
    if c.assignment is not None:
        c.assignment.done_at = None
    return {}


def close(c: ActionContext) -> dict[str, Any]:
    c.case.closed_at = c.now
    Assignment.objects.filter(case=c.case, active=True).update(active=False)
    c.assignment = None
    return {}


def request_extension(c: ActionContext) -> dict[str, Any]:
    assert c.assignment is not None and c.data.deadline is not None
    deadline = c.data.deadline
    if deadline <= c.now or (c.case.deadline and deadline <= c.case.deadline):
        message = _("申请的时限必须晚于当前时限")
        raise Invalid(message, fields={"deadline": [message]})
    c.assignment.requested_deadline = deadline
    c.assignment.pending_request = Assignment.Request.EXTENSION
    c.assignment.request_note = c.data.note
    return {"requested_deadline": deadline}


def request_park(c: ActionContext) -> dict[str, Any]:
    assert c.assignment is not None
    c.assignment.pending_request = Assignment.Request.PARK
    c.assignment.request_note = c.data.note
    return {}


def approve_extension(c: ActionContext) -> dict[str, Any]:
    """The clock moves the deadline (the table's Clock.EXTEND) to the requested one."""
    assert c.assignment is not None
    c.extend_to = c.assignment.requested_deadline
    c.case.extension_count += 1
    return _decided(c)


def decide(c: ActionContext) -> dict[str, Any]:
    """A pending request answered (park approved, or a request rejected)."""
    return _decided(c)


def _decided(c: ActionContext) -> dict[str, Any]:
    assert c.assignment is not None
    c.assignment.pending_request = Assignment.Request.NONE
    c.assignment.requested_deadline = None
    return {}


def supervise(c: ActionContext) -> dict[str, Any]:
    c.case.supervised = True
    return {}


def unsupervise(c: ActionContext) -> dict[str, Any]:
    c.case.supervised = False
    return {}


def reopen(c: ActionContext) -> dict[str, Any]:
    c.case.closed_at = None
    return {}


def callback(c: ActionContext) -> dict[str, Any]:
    c.case.satisfaction = c.data.satisfaction
    return {"satisfaction": c.data.satisfaction}


def nothing(c: ActionContext) -> dict[str, Any]:
    """Actions whose whole meaning is their status change and their event."""
    return {}
