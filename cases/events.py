"""The event log: one kind per thing that happens to a case, one writer per kind.

Every row of the append-only log is built here, by the writer of its kind, with that kind's
payload as keyword arguments: a transition writes the kind the transition table declares
(dispatch/workflow.py), intake writes `reported`, the clock writes the light changes. The
writers build rows without saving them, so a single action saves its row and a bulk path
(the SLA sweep, generated history) inserts thousands at once; readers (the timeline, the
evaluation) read `kind` and `data` knowing what each kind carries. docs/domain.md names
the steps of the closed loop these kinds record.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import CaseEvent


class EventKind(models.TextChoices):
    """Stored in CaseEvent.action. The values are the action names of the transition table
    (and a few of intake and the clock): rows written before the kinds had a type read the
    same."""

    REPORTED = "report", _("上报")
    VERIFY_REQUESTED = "request_verify", _("派核实")
    VERIFIED = "verify", _("核实")
    OPENED = "open", _("立案")
    VOIDED = "void", _("作废")
    MERGED = "merge", _("合并")
    MERGED_FROM = "merged_from", _("合并来源")
    DISPATCHED = "dispatch", _("派遣")
    ESCALATED = "escalate", _("上报区级")
    ACCEPTED = "accept", _("签收")
    RETURNED = "return", _("回退")
    HANDLED = "report_done", _("处置反馈")
    CHECK_PASSED = "check_pass", _("核查通过")
    CHECK_FAILED = "check_fail", _("核查不通过(返工)")
    CLOSED = "close", _("结案")
    EXTENSION_REQUESTED = "request_extension", _("申请延期")
    EXTENSION_APPROVED = "approve_extension", _("批准延期")
    EXTENSION_REJECTED = "reject_extension", _("驳回延期")
    PARK_REQUESTED = "request_park", _("申请挂账")
    PARK_APPROVED = "approve_park", _("批准挂账")
    PARK_REJECTED = "reject_park", _("驳回挂账")
    UNPARKED = "unpark", _("解除挂账")
    SUPERVISED = "supervise", _("督办")
    UNSUPERVISED = "unsupervise", _("取消督办")
    REOPENED = "reopen", _("重新立案")
    CALLED_BACK = "callback", _("回访")
    SLA_YELLOW = "sla_yellow", _("黄灯预警")
    SLA_RED = "sla_red", _("红灯超期")
    AUTO_SUPERVISED = "auto_supervise", _("超期自动督办")


@dataclass(frozen=True)
class Step:
    """What every event of a person's action records beside its payload."""

    case_id: int
    actor: User | None
    role: str = ""
    unit: str = ""
    from_status: str = ""
    to_status: str = ""
    note: str = ""
    deadline: datetime | None = None  # the case's deadline after the step
    at: datetime | None = None  # now, unless history is being written


def _event(kind: EventKind, step: Step, **data: Any) -> CaseEvent:
    payload = {k: v for k, v in data.items() if v not in (None, "")}
    if step.deadline is not None:
        payload["deadline"] = timezone.localtime(step.deadline).isoformat()
    return CaseEvent(
        case_id=step.case_id,
        action=kind,
        from_status=step.from_status,
        to_status=step.to_status,
        actor=step.actor,
        actor_role=step.role,
        unit=step.unit,
        note=step.note,
        at=step.at or timezone.now(),
        data=payload,
    )


def _local(at: datetime | None) -> str | None:
    return timezone.localtime(at).isoformat() if at is not None else None


# --- intake ---------------------------------------------------------------------------------


def reported(step: Step, *, source: str) -> CaseEvent:
    return _event(EventKind.REPORTED, step, source=source)


# --- the transitions (dispatch/workflow.py names each transition's writer) --------------------


def verify_requested(step: Step) -> CaseEvent:
    return _event(EventKind.VERIFY_REQUESTED, step)


def verified(step: Step, *, result: str) -> CaseEvent:
    return _event(EventKind.VERIFIED, step, result=result)


def opened(step: Step) -> CaseEvent:
    return _event(EventKind.OPENED, step)


def voided(step: Step) -> CaseEvent:
    return _event(EventKind.VOIDED, step)


def merged(step: Step, *, merged_into: str) -> CaseEvent:
    return _event(EventKind.MERGED, step, merged_into=merged_into)


def merged_from(step: Step, *, case_id: int) -> CaseEvent:
    """On the case another was merged into; `case_id` is the merged one."""
    return _event(EventKind.MERGED_FROM, step, case_id=case_id)


def dispatched(step: Step, *, department_id: int, department: str) -> CaseEvent:
    return _event(EventKind.DISPATCHED, step, department_id=department_id, department=department)


def escalated(step: Step) -> CaseEvent:
    return _event(EventKind.ESCALATED, step)


def accepted(step: Step) -> CaseEvent:
    return _event(EventKind.ACCEPTED, step)


def returned(step: Step) -> CaseEvent:
    return _event(EventKind.RETURNED, step)


def handled(step: Step) -> CaseEvent:
    return _event(EventKind.HANDLED, step)


def check_passed(step: Step) -> CaseEvent:
    return _event(EventKind.CHECK_PASSED, step)


def check_failed(step: Step) -> CaseEvent:
    return _event(EventKind.CHECK_FAILED, step)


def closed(step: Step) -> CaseEvent:
    return _event(EventKind.CLOSED, step)


def extension_requested(step: Step, *, requested_deadline: datetime) -> CaseEvent:
    return _event(
        EventKind.EXTENSION_REQUESTED, step, requested_deadline=_local(requested_deadline)
    )


def extension_approved(step: Step) -> CaseEvent:
    return _event(EventKind.EXTENSION_APPROVED, step)


def extension_rejected(step: Step) -> CaseEvent:
    return _event(EventKind.EXTENSION_REJECTED, step)


def park_requested(step: Step) -> CaseEvent:
    return _event(EventKind.PARK_REQUESTED, step)


def park_approved(step: Step) -> CaseEvent:
    return _event(EventKind.PARK_APPROVED, step)


def park_rejected(step: Step) -> CaseEvent:
    return _event(EventKind.PARK_REJECTED, step)


def unparked(step: Step) -> CaseEvent:
    return _event(EventKind.UNPARKED, step)


def supervised(step: Step) -> CaseEvent:
    return _event(EventKind.SUPERVISED, step)


def unsupervised(step: Step) -> CaseEvent:
    return _event(EventKind.UNSUPERVISED, step)


def reopened(step: Step) -> CaseEvent:
    return _event(EventKind.REOPENED, step)


def called_back(step: Step, *, satisfaction: str) -> CaseEvent:
    return _event(EventKind.CALLED_BACK, step, satisfaction=satisfaction)


# --- the clock --------------------------------------------------------------------------------


def sla_yellow(step: Step) -> CaseEvent:
    return _event(EventKind.SLA_YELLOW, step, at=_local(step.at))


def sla_red(step: Step) -> CaseEvent:
    return _event(EventKind.SLA_RED, step, at=_local(step.at))


def auto_supervised(step: Step) -> CaseEvent:
    return _event(EventKind.AUTO_SUPERVISED, step, at=_local(step.at))


# The writer of each kind: the transition table names kinds, case_act writes through here.
WRITERS: dict[EventKind, Callable[..., CaseEvent]] = {
    EventKind.REPORTED: reported,
    EventKind.VERIFY_REQUESTED: verify_requested,
    EventKind.VERIFIED: verified,
    EventKind.OPENED: opened,
    EventKind.VOIDED: voided,
    EventKind.MERGED: merged,
    EventKind.MERGED_FROM: merged_from,
    EventKind.DISPATCHED: dispatched,
    EventKind.ESCALATED: escalated,
    EventKind.ACCEPTED: accepted,
    EventKind.RETURNED: returned,
    EventKind.HANDLED: handled,
    EventKind.CHECK_PASSED: check_passed,
    EventKind.CHECK_FAILED: check_failed,
    EventKind.CLOSED: closed,
    EventKind.EXTENSION_REQUESTED: extension_requested,
    EventKind.EXTENSION_APPROVED: extension_approved,
    EventKind.EXTENSION_REJECTED: extension_rejected,
    EventKind.PARK_REQUESTED: park_requested,
    EventKind.PARK_APPROVED: park_approved,
    EventKind.PARK_REJECTED: park_rejected,
    EventKind.UNPARKED: unparked,
    EventKind.SUPERVISED: supervised,
    EventKind.UNSUPERVISED: unsupervised,
    EventKind.REOPENED: reopened,
    EventKind.CALLED_BACK: called_back,
    EventKind.SLA_YELLOW: sla_yellow,
    EventKind.SLA_RED: sla_red,
    EventKind.AUTO_SUPERVISED: auto_supervised,
}
