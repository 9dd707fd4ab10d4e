"""The rulebook of the closed loop: one table, one row per action, everything it means.

A Transition says who may act (roles, and whose jurisdiction must cover the case), from which
states and into which, with what input, what it does to the case (its effect), what the
clock does, which event it writes, which kind its photos are, who is told, and how a page
presents it (labels, a confirmation question). case_act applies it, the pages and the API
build their forms and lists from it, the tests walk it. Intake, the first step, has its
rule beside it: which roles may report through which channels. docs/domain.md describes the
loop in the trade's words; docs/architecture.md says where to add an action.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases.events import EventKind
from cases.models import Attachment, Case, Satisfaction, Source, Status
from core.roles import Role

from . import effects
from .actors import Actor
from .effects import Effect
from .models import Stage

S = Status
Photo = Attachment.Kind


class Scope(StrEnum):
    """Whose jurisdiction must cover the case for the actor to act."""

    CENTRE = "centre"  # the command centre now handling it (street, or district after 上报)
    REGION = "region"  # any centre role whose region covers the case (leaders)
    GRID = "grid"  # a grid worker whose grid (or larger region) holds the case
    DEPARTMENT = "department"  # a handler of the department the case is dispatched to


class Field(StrEnum):
    """Inputs an action may take; the API's and the pages' forms are built from these."""

    NOTE = "note"
    PHOTOS = "photos"
    DEPARTMENT = "department"
    DEADLINE = "deadline"
    TARGET_CASE = "target_case"
    SATISFACTION = "satisfaction"
    RESULT = "result"


# Limits of the inputs, checked alike by the pages' ActionForm and the API's serializers.
NOTE_MAX_LENGTH = 2000
TARGET_CASE_MAX_LENGTH = 40  # a case id or number
MAX_PHOTOS = 9  # per action or report


class VerifyResult(models.TextChoices):
    CONFIRMED = "confirmed", _("问题属实")
    NOT_FOUND = "not_found", _("未发现问题")


# Inputs whose values come from a fixed list: the API lists them with each available
# action, the pages build their choices from them, the service refuses anything else.
FIELD_CHOICES: dict[Field, Sequence[tuple[str, Promise | str]]] = {
    Field.RESULT: VerifyResult.choices,
    Field.SATISFACTION: Satisfaction.choices,
}


class Clock(StrEnum):
    """What an action does to the case's clock (dispatch/services/sla.py)."""

    STAGE = "stage"  # a new status starts its stage's clock; no new status, no change
    PAUSE = "pause"  # parked: the clock stops, keeping the time that was left
    RESUME = "resume"  # unparked: the clock runs again with the time that was left
    EXTEND = "extend"  # an approved extension moves the deadline to the one asked for


class Recipients(StrEnum):
    """Who is told after an action (dispatch/services/notify.py finds them)."""

    NONE = "none"
    DEPARTMENT = "department"  # the handlers of the department it went to
    GRID_WORKERS = "grid_workers"  # the grid workers of the case's grid
    CENTRE_DISPATCHERS = "centre_dispatchers"  # the handling centre's dispatchers
    DISTRICT_DISPATCHERS = "district_dispatchers"  # the district centre's dispatchers
    CENTRE_LEADS = "centre_leads"  # the handling centre's shift leads
    REPORTER = "reporter"  # whoever reported the case


@dataclass(frozen=True)
class Transition:
    action: str
    label: Promise
    sources: frozenset[Status]
    target: Status | None  # None: the status stays as it is
    roles: frozenset[Role]
    scope: Scope
    effect: Effect
    event: EventKind
    required: frozenset[Field] = frozenset()
    optional: frozenset[Field] = frozenset()
    # An extra precondition on the case (and its active assignment's pending request).
    when: Callable[[Case, str], bool] | None = None
    when_label: Promise | None = None
    # The target decided by the `result` input instead (verification).
    targets_by_result: Mapping[str, Status] = field(default_factory=dict)
    clock: Clock = Clock.STAGE
    photo_kind: str | None = None  # Attachment.Kind of the photos the action takes
    notify: Recipients = Recipients.NONE
    confirm: Promise | None = None  # pages ask this before sending the action
    note_label: Promise | None = None  # what the note is, when more than an opinion
    photo_label: Promise | None = None

    @property
    def inputs(self) -> frozenset[Field]:
        return self.required | self.optional

    def allows_state(self, case: Case, pending: str) -> bool:
        if case.status not in self.sources:
            return False
        return self.when is None or self.when(case, pending)

    def target_for(self, result: str) -> Status | None:
        return self.targets_by_result.get(result, self.target)


OPERATOR, LEAD, DISPATCHER = Role.INTAKE_OPERATOR, Role.SHIFT_LEAD, Role.DISPATCHER
LEADER, WORKER, HANDLER = Role.LEADER, Role.GRID_WORKER, Role.HANDLER
PRE_OPEN: frozenset[Status] = frozenset({S.REPORTED, S.VERIFYING, S.VERIFIED, S.UNCONFIRMED})
LIVE: frozenset[Status] = frozenset(s for s in Status if s not in (S.CLOSED, S.VOID, S.MERGED))
NOTE, PHOTOS, DEPARTMENT, DEADLINE = Field.NOTE, Field.PHOTOS, Field.DEPARTMENT, Field.DEADLINE
CITIZEN_SOURCES = frozenset({Source.HOTLINE, Source.WEB, Source.OPEN311})


def _no_pending(c: Case, p: str) -> bool:
    return p == ""


TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        "request_verify", _("派核实"), frozenset({S.REPORTED, S.UNCONFIRMED}), S.VERIFYING,
        frozenset({OPERATOR, LEAD}), Scope.CENTRE, effects.nothing, EventKind.VERIFY_REQUESTED,
        optional=frozenset({NOTE}), notify=Recipients.GRID_WORKERS,
    ),
    Transition(
        "verify", _("核实"), frozenset({S.VERIFYING}), S.VERIFIED, frozenset({WORKER}),
        Scope.GRID, effects.verify, EventKind.VERIFIED,
        required=frozenset({Field.RESULT}), optional=frozenset({NOTE, PHOTOS}),
        # Not found: back to the centre, whose shift lead voids it or sends it again.
        targets_by_result={VerifyResult.NOT_FOUND: S.UNCONFIRMED},
        photo_kind=Photo.BEFORE, notify=Recipients.CENTRE_LEADS,
        note_label=_("核实说明"), photo_label=_("现场照片"),
    ),
    Transition(
        "open", _("立案"), frozenset({S.REPORTED, S.VERIFIED}), S.OPEN, frozenset({LEAD}),
        Scope.CENTRE, effects.open_case, EventKind.OPENED, optional=frozenset({NOTE}),
        when=lambda c, p: c.status == S.VERIFIED or not c.verification_required,
        when_label=_("该渠道的上报需先经网格员核实"),
    ),
    Transition(
        "void", _("作废"), PRE_OPEN | {S.OPEN}, S.VOID, frozenset({LEAD}), Scope.CENTRE,
        effects.nothing, EventKind.VOIDED, required=frozenset({NOTE}),
        confirm=_("确定作废该案件吗?作废后案件结束,并计入立案准确率。"),
        note_label=_("作废原因"),
    ),
    Transition(
        "merge", _("合并"), PRE_OPEN | {S.OPEN}, S.MERGED, frozenset({OPERATOR, LEAD}),
        Scope.CENTRE, effects.merge, EventKind.MERGED,
        required=frozenset({Field.TARGET_CASE}), optional=frozenset({NOTE}),
        confirm=_("确定把本案合并到目标案件吗?本案将结束,由目标案件继续处置。"),
    ),
    Transition(
        "dispatch", _("派遣"), frozenset({S.OPEN, S.RETURNED, S.ESCALATED}), S.DISPATCHED,
        frozenset({DISPATCHER}), Scope.CENTRE, effects.dispatch_to_department,
        EventKind.DISPATCHED, required=frozenset({DEPARTMENT}), optional=frozenset({NOTE}),
        notify=Recipients.DEPARTMENT,
    ),
    Transition(
        "escalate", _("上报区级"), frozenset({S.OPEN, S.RETURNED}), S.ESCALATED,
        frozenset({DISPATCHER, LEAD}), Scope.CENTRE, effects.escalate, EventKind.ESCALATED,
        required=frozenset({NOTE}), when=lambda c, p: c.handling_level == "street",
        when_label=_("已在区级处置"), notify=Recipients.DISTRICT_DISPATCHERS,
        note_label=_("上报理由"),
    ),
    Transition(
        "accept", _("签收"), frozenset({S.DISPATCHED}), S.ACCEPTED, frozenset({HANDLER}),
        Scope.DEPARTMENT, effects.accept, EventKind.ACCEPTED, optional=frozenset({NOTE}),
    ),
    Transition(
        "return", _("回退"), frozenset({S.DISPATCHED, S.ACCEPTED}), S.RETURNED,
        frozenset({HANDLER}), Scope.DEPARTMENT, effects.return_task, EventKind.RETURNED,
        required=frozenset({NOTE}), when=_no_pending, when_label=_("有待审批的申请"),
        notify=Recipients.CENTRE_DISPATCHERS,
        confirm=_("确定回退该任务吗?回退后由派遣员重新派遣,并计入派遣准确率。"),
        note_label=_("回退原因"),
    ),
    Transition(
        "report_done", _("处置反馈"), frozenset({S.ACCEPTED}), S.DONE, frozenset({HANDLER}),
        Scope.DEPARTMENT, effects.report_done, EventKind.HANDLED,
        required=frozenset({NOTE, PHOTOS}), photo_kind=Photo.AFTER,
        notify=Recipients.GRID_WORKERS, note_label=_("处置情况"), photo_label=_("处置后照片"),
    ),
    Transition(
        "check_pass", _("核查通过"), frozenset({S.DONE}), S.CHECKED, frozenset({WORKER}),
        Scope.GRID, effects.nothing, EventKind.CHECK_PASSED, required=frozenset({PHOTOS}),
        optional=frozenset({NOTE}), photo_kind=Photo.CHECK, notify=Recipients.CENTRE_LEADS,
        photo_label=_("核查照片"),
    ),
    Transition(
        "check_fail", _("核查不通过(返工)"), frozenset({S.DONE}), S.ACCEPTED,
        frozenset({WORKER}), Scope.GRID, effects.check_fail, EventKind.CHECK_FAILED,
        required=frozenset({NOTE, PHOTOS}), photo_kind=Photo.CHECK,
        confirm=_("确定核查不通过吗?案件将退回处置部门返工,并计入返工率。"),
        note_label=_("不通过原因"), photo_label=_("核查照片"),
    ),
    Transition(
        "close", _("结案"), frozenset({S.CHECKED}), S.CLOSED, frozenset({LEAD}), Scope.CENTRE,
        effects.close, EventKind.CLOSED, optional=frozenset({NOTE}),
        notify=Recipients.REPORTER,
    ),
    Transition(
        "request_extension", _("申请延期"), frozenset({S.DISPATCHED, S.ACCEPTED}), None,
        frozenset({HANDLER}), Scope.DEPARTMENT, effects.request_extension,
        EventKind.EXTENSION_REQUESTED, required=frozenset({NOTE, DEADLINE}),
        when=_no_pending, when_label=_("已有待审批的申请"),
        notify=Recipients.CENTRE_DISPATCHERS, note_label=_("延期理由"),
    ),
    Transition(
        "approve_extension", _("批准延期"), frozenset({S.DISPATCHED, S.ACCEPTED}), None,
        frozenset({DISPATCHER}), Scope.CENTRE, effects.approve_extension,
        EventKind.EXTENSION_APPROVED, optional=frozenset({NOTE}),
        when=lambda c, p: p == "extension", when_label=_("没有待审批的延期申请"),
        clock=Clock.EXTEND,
    ),
    Transition(
        "reject_extension", _("驳回延期"), frozenset({S.DISPATCHED, S.ACCEPTED}), None,
        frozenset({DISPATCHER}), Scope.CENTRE, effects.decide, EventKind.EXTENSION_REJECTED,
        required=frozenset({NOTE}), when=lambda c, p: p == "extension",
        when_label=_("没有待审批的延期申请"),
        confirm=_("确定驳回延期申请吗?时限不变。"), note_label=_("驳回理由"),
    ),
    Transition(
        "request_park", _("申请挂账"), frozenset({S.ACCEPTED}), None, frozenset({HANDLER}),
        Scope.DEPARTMENT, effects.request_park, EventKind.PARK_REQUESTED,
        required=frozenset({NOTE}), when=_no_pending, when_label=_("已有待审批的申请"),
        notify=Recipients.CENTRE_DISPATCHERS, note_label=_("挂账理由"),
    ),
    Transition(
        "approve_park", _("批准挂账"), frozenset({S.ACCEPTED}), S.PARKED,
        frozenset({DISPATCHER}), Scope.CENTRE, effects.decide, EventKind.PARK_APPROVED,
        optional=frozenset({NOTE}), when=lambda c, p: p == "park",
        when_label=_("没有待审批的挂账申请"), clock=Clock.PAUSE,
    ),
    Transition(
        "reject_park", _("驳回挂账"), frozenset({S.ACCEPTED}), None, frozenset({DISPATCHER}),
        Scope.CENTRE, effects.decide, EventKind.PARK_REJECTED, required=frozenset({NOTE}),
        when=lambda c, p: p == "park", when_label=_("没有待审批的挂账申请"),
        confirm=_("确定驳回挂账申请吗?部门须继续处置。"),
        note_label=_("驳回理由"),
    ),
    Transition(
        "unpark", _("解除挂账"), frozenset({S.PARKED}), S.ACCEPTED, frozenset({DISPATCHER}),
        Scope.CENTRE, effects.nothing, EventKind.UNPARKED, optional=frozenset({NOTE}),
        clock=Clock.RESUME,
    ),
    Transition(
        "supervise", _("督办"), LIVE, None, frozenset({LEADER}), Scope.REGION,
        effects.supervise, EventKind.SUPERVISED, optional=frozenset({NOTE}),
        when=lambda c, p: not c.supervised, when_label=_("已在督办"),
    ),
    Transition(
        "unsupervise", _("取消督办"), LIVE, None, frozenset({LEADER}), Scope.REGION,
        effects.unsupervise, EventKind.UNSUPERVISED, optional=frozenset({NOTE}),
        when=lambda c, p: c.supervised, when_label=_("未在督办"),
    ),
    Transition(
        "reopen", _("重新立案"), frozenset({S.CLOSED}), S.OPEN, frozenset({LEAD}),
        Scope.CENTRE, effects.reopen, EventKind.REOPENED, required=frozenset({NOTE}),
        note_label=_("重新立案理由"),
    ),
    Transition(
        "callback", _("回访"), frozenset({S.CLOSED}), None, frozenset({OPERATOR}),
        Scope.CENTRE, effects.callback, EventKind.CALLED_BACK,
        required=frozenset({Field.SATISFACTION}), optional=frozenset({NOTE}),
        when=lambda c, p: c.source in CITIZEN_SOURCES and not c.satisfaction,
        when_label=_("仅市民来源且尚未回访的案件"), note_label=_("回访记录"),
    ),
)  # fmt: skip

BY_ACTION: dict[str, Transition] = {t.action: t for t in TRANSITIONS}

# The clock stage of each status; PARKED and the final statuses have no running clock.
STAGE_OF: dict[Status, Stage] = {
    S.VERIFYING: Stage.VERIFY,
    S.REPORTED: Stage.OPEN,
    S.VERIFIED: Stage.OPEN,
    S.UNCONFIRMED: Stage.OPEN,
    S.OPEN: Stage.DISPATCH,
    S.RETURNED: Stage.DISPATCH,
    S.ESCALATED: Stage.DISPATCH,
    S.DISPATCHED: Stage.ACCEPT,
    S.ACCEPTED: Stage.HANDLE,
    S.DONE: Stage.CHECK,
    S.CHECKED: Stage.CLOSE,
}


# --- who may act ------------------------------------------------------------------------------


def centre_code(case: Case) -> str:
    """The command centre that handles the case now: its street, or the district."""
    if case.handling_level == "street" and case.street is not None:
        return case.street.code
    return settings.HOME_DISTRICT_CODE


def case_region_code(case: Case) -> str | None:
    """The most precise region code of the case (its grid), for coverage checks."""
    if case.grid is not None:
        return case.grid.code
    return settings.HOME_DISTRICT_CODE if case.outside_jurisdiction else None


def may_act(actor: Actor, transition: Transition, case: Case, department_id: int | None) -> bool:
    """Role and jurisdiction only; the state check is the transition's own."""
    for role in transition.roles:
        if transition.scope is Scope.CENTRE and actor.role_at(role, centre_code(case)):
            return True
        if transition.scope is Scope.REGION and (
            actor.role_covering(role, case_region_code(case))
            or actor.role_at(role, settings.HOME_DISTRICT_CODE)
        ):
            return True
        if transition.scope is Scope.GRID and actor.role_covering(role, case_region_code(case)):
            return True
        if (
            transition.scope is Scope.DEPARTMENT
            and role == Role.HANDLER
            and department_id is not None
            and department_id in actor.departments
        ):
            return True
    return False


# --- intake: who may report through which channel ---------------------------------------------

# Channels a command centre registers reports from; a grid worker reports what they find.
CENTRE_CHANNELS = frozenset(
    {Source.HOTLINE, Source.WEB, Source.PATROL, Source.TRANSFER, Source.OPEN311}
)
INTAKE_CHANNELS: dict[Role, frozenset[Source]] = {
    Role.GRID_WORKER: frozenset({Source.GRID_WORKER, Source.PATROL}),
    Role.INTAKE_OPERATOR: CENTRE_CHANNELS,
    Role.SHIFT_LEAD: CENTRE_CHANNELS,
}
# Who may register a report whose point lies outside the district ("非本辖区", for transfer).
OUTSIDE_ROLES = frozenset({Role.INTAKE_OPERATOR, Role.SHIFT_LEAD})
# Channels whose reports a grid worker verifies before a case may be opened.
VERIFY_SOURCES = CITIZEN_SOURCES


def intake_channels(roles: frozenset[str] | set[str]) -> frozenset[Source]:
    """The channels these roles may register reports from (none: no intake at all)."""
    out: frozenset[Source] = frozenset()
    for role in roles:
        out |= INTAKE_CHANNELS.get(Role(role), frozenset()) if role in Role.values else frozenset()
    return out
