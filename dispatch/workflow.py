"""The transition table: the one place that says who may do what to a case, from which
state, into which state, and with what input. Services, pages, the API and the tests all
read it; nothing else decides whether an action is allowed.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Satisfaction, Source, Status
from core.roles import Role

from .models import Stage

S = Status


class Scope(StrEnum):
    """Whose jurisdiction must cover the case for the actor to act."""

    CENTRE = "centre"  # the command centre now handling it (street, or district after 上报)
    REGION = "region"  # any centre role whose region covers the case (leaders)
    GRID = "grid"  # a grid worker whose grid (or larger region) holds the case
    DEPARTMENT = "department"  # a handler of the department the case is dispatched to


class Field(StrEnum):
    """Inputs an action may require; the API and the page forms are built from these."""

    NOTE = "note"
    PHOTOS = "photos"
    DEPARTMENT = "department"
    DEADLINE = "deadline"
    TARGET_CASE = "target_case"
    SATISFACTION = "satisfaction"
    RESULT = "result"


class VerifyResult(models.TextChoices):
    CONFIRMED = "confirmed", _("问题属实")
    NOT_FOUND = "not_found", _("未发现问题")


# Inputs whose values come from a fixed list: the API lists them with each available
# action, the pages build their choices from them, the service refuses anything else.
FIELD_CHOICES: dict[Field, Sequence[tuple[str, Promise | str]]] = {
    Field.RESULT: VerifyResult.choices,
    Field.SATISFACTION: Satisfaction.choices,
}

CITIZEN_SOURCES = frozenset({Source.HOTLINE, Source.WEB, Source.OPEN311})


@dataclass(frozen=True)
class Transition:
    action: str
    label: Promise
    sources: frozenset[Status]
    target: Status | None  # None: the status stays as it is
    roles: frozenset[Role]
    scope: Scope
    required: frozenset[Field] = frozenset()
    optional: frozenset[Field] = frozenset()
    # An extra precondition on the case (and its active assignment's pending request).
    when: Callable[[Case, str], bool] | None = None
    when_label: Promise | None = None

    def allows_state(self, case: Case, pending: str) -> bool:
        if case.status not in self.sources:
            return False
        return self.when is None or self.when(case, pending)


def _t(
    action: str,
    label: Promise,
    sources: set[Status],
    target: Status | None,
    roles: set[Role],
    scope: Scope,
    required: set[Field] | None = None,
    optional: set[Field] | None = None,
    when: Callable[[Case, str], bool] | None = None,
    when_label: Promise | None = None,
) -> Transition:
    return Transition(
        action,
        label,
        frozenset(sources),
        target,
        frozenset(roles),
        scope,
        frozenset(required or ()),
        frozenset(optional or ()),
        when,
        when_label,
    )


OPERATOR, LEAD, DISPATCHER = Role.INTAKE_OPERATOR, Role.SHIFT_LEAD, Role.DISPATCHER
LEADER, WORKER, HANDLER = Role.LEADER, Role.GRID_WORKER, Role.HANDLER
PRE_OPEN: set[Status] = {S.REPORTED, S.VERIFYING, S.VERIFIED}
LIVE: set[Status] = {s for s in Status if s not in (S.CLOSED, S.VOID, S.MERGED)}
NOTE, PHOTOS = Field.NOTE, Field.PHOTOS

# Kept as a table, one transition per entry: ruff format would spread it over pages.
# fmt: off
TRANSITIONS: tuple[Transition, ...] = (
    _t("request_verify", _("派核实"), {S.REPORTED}, S.VERIFYING, {OPERATOR, LEAD},
       Scope.CENTRE, optional={NOTE}),
    _t("verify", _("核实"), {S.VERIFYING}, S.VERIFIED, {WORKER}, Scope.GRID,
       required={Field.RESULT}, optional={NOTE, PHOTOS}),
    _t("open", _("立案"), {S.REPORTED, S.VERIFIED}, S.OPEN, {LEAD}, Scope.CENTRE,
       optional={NOTE},
       when=lambda c, p: c.status == S.VERIFIED or not c.verification_required,
       when_label=_("该渠道的上报需先经网格员核实")),
    _t("void", _("作废"), PRE_OPEN | {S.OPEN}, S.VOID, {LEAD}, Scope.CENTRE, required={NOTE}),
    _t("merge", _("合并"), PRE_OPEN | {S.OPEN}, S.MERGED, {OPERATOR, LEAD}, Scope.CENTRE,
       required={Field.TARGET_CASE}, optional={NOTE}),
    _t("dispatch", _("派遣"), {S.OPEN, S.RETURNED, S.ESCALATED}, S.DISPATCHED, {DISPATCHER},
       Scope.CENTRE, required={Field.DEPARTMENT}, optional={NOTE}),
    _t("escalate", _("上报区级"), {S.OPEN, S.RETURNED}, S.ESCALATED, {DISPATCHER, LEAD},
       Scope.CENTRE, required={NOTE}, when=lambda c, p: c.handling_level == "street",
       when_label=_("已在区级处置")),
    _t("accept", _("签收"), {S.DISPATCHED}, S.ACCEPTED, {HANDLER}, Scope.DEPARTMENT,
       optional={NOTE}),
    _t("return", _("回退"), {S.DISPATCHED, S.ACCEPTED}, S.RETURNED, {HANDLER},
       Scope.DEPARTMENT, required={NOTE}, when=lambda c, p: p == "",
       when_label=_("有待审批的申请")),
    _t("report_done", _("处置反馈"), {S.ACCEPTED}, S.DONE, {HANDLER}, Scope.DEPARTMENT,
       required={NOTE, PHOTOS}),
    _t("check_pass", _("核查通过"), {S.DONE}, S.CHECKED, {WORKER}, Scope.GRID,
       required={PHOTOS}, optional={NOTE}),
    _t("check_fail", _("核查不通过(返工)"), {S.DONE}, S.ACCEPTED, {WORKER}, Scope.GRID,
       required={NOTE, PHOTOS}),
    _t("close", _("结案"), {S.CHECKED}, S.CLOSED, {LEAD}, Scope.CENTRE, optional={NOTE}),
    _t("request_extension", _("申请延期"), {S.DISPATCHED, S.ACCEPTED}, None, {HANDLER},
       Scope.DEPARTMENT, required={NOTE, Field.DEADLINE}, when=lambda c, p: p == "",
       when_label=_("已有待审批的申请")),
    _t("approve_extension", _("批准延期"), {S.DISPATCHED, S.ACCEPTED}, None, {DISPATCHER},
       Scope.CENTRE, optional={NOTE}, when=lambda c, p: p == "extension",
       when_label=_("没有待审批的延期申请")),
    _t("reject_extension", _("驳回延期"), {S.DISPATCHED, S.ACCEPTED}, None, {DISPATCHER},
       Scope.CENTRE, required={NOTE}, when=lambda c, p: p == "extension",
       when_label=_("没有待审批的延期申请")),
    _t("request_park", _("申请挂账"), {S.ACCEPTED}, None, {HANDLER}, Scope.DEPARTMENT,
       required={NOTE}, when=lambda c, p: p == "", when_label=_("已有待审批的申请")),
    _t("approve_park", _("批准挂账"), {S.ACCEPTED}, S.PARKED, {DISPATCHER}, Scope.CENTRE,
       optional={NOTE}, when=lambda c, p: p == "park",
       when_label=_("没有待审批的挂账申请")),
    _t("reject_park", _("驳回挂账"), {S.ACCEPTED}, None, {DISPATCHER}, Scope.CENTRE,
       required={NOTE}, when=lambda c, p: p == "park", when_label=_("没有待审批的挂账申请")),
    _t("unpark", _("解除挂账"), {S.PARKED}, S.ACCEPTED, {DISPATCHER}, Scope.CENTRE,
       optional={NOTE}),
    _t("supervise", _("督办"), LIVE, None, {LEADER}, Scope.REGION, optional={NOTE},
       when=lambda c, p: not c.supervised, when_label=_("已在督办")),
    _t("unsupervise", _("取消督办"), LIVE, None, {LEADER}, Scope.REGION, optional={NOTE},
       when=lambda c, p: c.supervised, when_label=_("未在督办")),
    _t("reopen", _("重新立案"), {S.CLOSED}, S.OPEN, {LEAD}, Scope.CENTRE, required={NOTE}),
    _t("callback", _("回访"), {S.CLOSED}, None, {OPERATOR}, Scope.CENTRE,
       required={Field.SATISFACTION}, optional={NOTE},
       when=lambda c, p: c.source in CITIZEN_SOURCES and not c.satisfaction,
       when_label=_("仅市民来源且尚未回访的案件")),
)
# fmt: on

BY_ACTION: dict[str, Transition] = {t.action: t for t in TRANSITIONS}

# The clock stage of each status; PARKED and the final statuses have no running clock.
STAGE_OF: dict[Status, Stage] = {
    S.VERIFYING: Stage.VERIFY,
    S.REPORTED: Stage.OPEN,
    S.VERIFIED: Stage.OPEN,
    S.OPEN: Stage.DISPATCH,
    S.RETURNED: Stage.DISPATCH,
    S.ESCALATED: Stage.DISPATCH,
    S.DISPATCHED: Stage.ACCEPT,
    S.ACCEPTED: Stage.HANDLE,
    S.DONE: Stage.CHECK,
    S.CHECKED: Stage.CLOSE,
}

# Channels whose reports a grid worker verifies before a case may be opened.
VERIFY_SOURCES = CITIZEN_SOURCES
