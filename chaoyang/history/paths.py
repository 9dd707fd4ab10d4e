"""One case's life, walked step by step through the transition table.

Every step is looked up in dispatch.workflow.BY_ACTION and refused unless the table allows
it (the case's status among the row's sources, its `when`, the acting role among its roles),
then does to the case what case_act does (the effect's fields, the status, the row's clock
through dispatch.services.sla) and builds its row with the kind's writer from cases/events.py.
So a generated log is one the live services could have written. The lights the SLA sweep
would have switched between two steps are written at the moments they fell due. A walk stops
at `end`: whatever comes later has not happened yet, so recent cases stay open.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from cases import events
from cases.models import Case, CaseEvent, Light, Status
from core.roles import Role
from dispatch import calendar
from dispatch.services import sla
from dispatch.workflow import BY_ACTION, STAGE_OF, Clock

S = Status
Dept = tuple[int, str, str]  # id, name, level


class Illegal(AssertionError):
    """A step the table refuses: a bug in the generator, never a case to write."""


class Stop(Exception):
    """The walk reached the end of the history."""


@dataclass(frozen=True)
class Rates:
    """How often each turn of the loop happens (shares of the cases that reach it)."""

    not_found: float = 0.06
    void: float = 0.03
    merge: float = 0.025
    escalate: float = 0.02
    ret: float = 0.05
    extension: float = 0.06
    extension_rejected: float = 0.2
    park: float = 0.02
    park_rejected: float = 0.25
    check_fail: float = 0.07
    late: float = 0.025  # per stage: about one case in seven misses one of its ~7 stages
    supervise: float = 0.1
    unsupervise: float = 0.5
    callback: float = 0.92
    reopen: float = 0.01
    reopen_unsatisfied: float = 0.3


@dataclass
class Places:
    """Who acts for the case: callbacks into the generator's staff and departments."""

    centre_user: Callable[[str, Role], int]  # (centre code, role) → user id
    grid_worker: int
    route: Callable[[Case, int], Dept]  # (case, attempt) → the department to dispatch to
    handler: Callable[[int], int]  # department id → user id
    merge_target: Callable[[Case, datetime], tuple[int, str, str] | None]  # id, number, status
    merged_from: Callable[[int, CaseEvent], None]  # the target's note of the merge


@dataclass
class Walk:
    case: Case
    street_code: str
    places: Places
    rng: random.Random
    end: datetime
    rates: Rates = field(default_factory=Rates)
    events: list[CaseEvent] = field(default_factory=list)
    pending: str = ""
    requested: datetime | None = None
    dept: Dept | None = None
    final_at: datetime | None = None
    red_action: str = field(default_factory=lambda: str(settings.SLA_RED_ACTION))

    @property
    def now(self) -> datetime:
        return self.events[-1].at if self.events else self.case.created_at

    def centre(self) -> str:
        if self.case.handling_level == "street" and self.case.street_id is not None:
            return self.street_code
        return str(settings.HOME_DISTRICT_CODE)

    # --- time ---------------------------------------------------------------------------

    def stage_end(self, *, late: float | None = None) -> datetime:
        """When the running stage ends: mostly well inside its limit, sometimes past it."""
        stage = STAGE_OF.get(S(self.case.status))
        assert stage is not None
        amount, unit = sla.stage_limit(self.case, stage)
        if self.rng.random() < (self.rates.late if late is None else late):
            share = self.rng.uniform(1.05, 2.5)
        else:
            share = self.rng.triangular(0.05, 0.95, 0.3)
        return max(calendar.add_duration(self.now, amount * share, unit), self.soon(2, 10))

    def soon(self, low: float, high: float) -> datetime:
        """A person's quick step: `low`–`high` minutes later."""
        return self.now + timedelta(minutes=self.rng.uniform(low, high))

    # --- the clock's lights, as the sweep would have written them -------------------------

    def lights(self, upto: datetime) -> None:
        c = self.case
        if c.status in (S.CLOSED, S.VOID, S.MERGED, S.PARKED) or c.deadline is None:
            return
        if c.light == Light.GREEN and c.warning_at and c.warning_at <= upto < c.deadline:
            self._light(events.sla_yellow, c.warning_at, Light.YELLOW, "即将超期")
            if not c.supervised and self.rng.random() < self.rates.supervise:
                at = min(upto, c.warning_at + timedelta(minutes=self.rng.uniform(10, 120)))
                self.act(
                    "supervise",
                    Role.LEADER,
                    self.places.centre_user(self.centre(), Role.LEADER),
                    at,
                )
        if c.light != Light.RED and c.deadline <= upto:
            self._light(events.sla_red, c.deadline, Light.RED, "超期")
            if self.red_action == "supervise" and not c.supervised:
                c.supervised = True
                self._light(events.auto_supervised, c.deadline, Light.RED, "超期自动督办")

    def _light(self, writer: Callable[..., CaseEvent], at: datetime, light: str, note: str) -> None:
        at = max(at, self.now)
        self.case.light = light
        step = events.Step(
            case_id=self.case.id, actor=None, from_status=self.case.status,
            to_status=self.case.status, note=note, at=at,
        )  # fmt: skip
        self.events.append(writer(step))

    # --- one step -------------------------------------------------------------------------

    def act(
        self, action: str, role: Role, user_id: int, at: datetime, *, result: str = "",
        note: str = "", **payload: Any,
    ) -> None:  # fmt: skip
        t = BY_ACTION[action]
        c = self.case
        if role not in t.roles or not t.allows_state(c, self.pending):
            raise Illegal(f"{action} as {role} from {c.status} (pending {self.pending!r})")
        at = max(at, self.now)
        if at > self.end:
            self.lights(self.end)
            raise Stop
        if action not in ("supervise",):
            self.lights(at)
        from_status = c.status
        extend_to = self._effect(action, at, payload, result)
        target = t.target_for(result)
        if target is not None:
            c.status = target
        if t.clock is Clock.PAUSE:
            sla.pause(c, at)
        elif t.clock is Clock.RESUME:
            sla.resume(c, at)
        elif t.clock is Clock.EXTEND and extend_to is not None:
            sla.move_deadline(c, at, extend_to)
        elif t.clock is Clock.STAGE and c.status != from_status:
            sla.start_stage(c, at)
        c.version += 1
        unit = self.dept[1] if role == Role.HANDLER and self.dept else ""
        step = events.Step(
            case_id=c.id, actor=None, role=role, unit=unit, from_status=from_status,
            to_status=c.status, note=note, deadline=c.deadline, at=at,
        )  # fmt: skip
        event = events.WRITERS[t.event](step, **payload)
        event.actor_id = user_id
        self.events.append(event)
        if c.status in (S.CLOSED, S.VOID, S.MERGED):
            self.final_at = at
        elif self.final_at is not None:
            self.final_at = None  # reopened

    def _effect(
        self, action: str, at: datetime, payload: dict[str, Any], result: str
    ) -> datetime | None:
        """The fields dispatch/effects.py sets, for the actions that set any."""
        c = self.case
        if result:
            payload["result"] = result
        if action == "open":
            c.opened_at = at
        elif action == "escalate":
            c.handling_level = "district"
        elif action == "return":
            c.return_count += 1
        elif action == "check_fail":
            c.rework_count += 1
        elif action == "close":
            c.closed_at = at
        elif action == "reopen":
            c.closed_at = None
        elif action == "callback":
            c.satisfaction = payload["satisfaction"]
        elif action == "supervise":
            c.supervised = True
        elif action == "unsupervise":
            c.supervised = False
        elif action == "request_extension":
            self.requested, self.pending = payload["requested_deadline"], "extension"
        elif action == "request_park":
            self.pending = "park"
        elif action in ("approve_extension", "reject_extension", "approve_park", "reject_park"):
            extend_to = self.requested if action == "approve_extension" else None
            if extend_to is not None:
                c.extension_count += 1
            self.pending, self.requested = "", None
            return extend_to
        return None
