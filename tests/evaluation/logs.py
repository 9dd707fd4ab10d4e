"""Hand-built event logs for the evaluation tests, written with cases/events.py's writers.

A `History` walks one case through its statuses at chosen times with chosen deadlines, the
way case_act would record them: every step writes the kind's event through its writer, and
a step that changes the status gives the new stage a deadline `limit` hours on (natural
hours: the tests choose deadlines, the calendar is dispatch's and tested there). `World`
makes the cases, people and departments the logs name.
"""

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from cases import events
from cases.models import Case, CaseEvent, Category, Source, Status
from core.roles import Role
from dispatch.models import Department
from dispatch.workflow import STAGE_OF
from grids.models import Membership, Region

S = Status
_KEEP: Any = object()
_numbers = itertools.count(1)


def local(y: int, m: int, d: int, h: int = 9, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime(y, m, d, h, minute))


@dataclass
class History:
    case_id: int
    now: datetime
    status: str = ""
    deadline: datetime | None = None
    events: list[CaseEvent] = field(default_factory=list)

    def go(
        self,
        writer: Any,
        to: str | None = None,
        *,
        hours: float = 1.0,
        limit: float = 4.0,
        deadline: Any = _KEEP,
        actor: User | None = None,
        role: str = "",
        **payload: Any,
    ) -> "History":
        """One step `hours` after the last; `to` the new status (None: unchanged)."""
        self.now += timedelta(hours=hours)
        frm = self.status
        to = to or frm
        if deadline is _KEEP:
            if to != frm:
                has_clock = S(to) in STAGE_OF
                deadline = self.now + timedelta(hours=limit) if has_clock else None
            else:
                deadline = self.deadline
        self.deadline = deadline
        self.status = to
        step = events.Step(
            case_id=self.case_id,
            actor=actor,
            role=role,
            from_status=frm,
            to_status=to,
            deadline=deadline,
            at=self.now,
        )
        self.events.append(writer(step, **payload))
        return self

    def save(self) -> "History":
        """Write the events not yet written (ids follow the log's order)."""
        fresh = [e for e in self.events if e.pk is None]
        CaseEvent.objects.bulk_create(fresh)
        return self


@dataclass
class World:
    """A street with a community and two grids, people in each role, two departments."""

    street: Region
    community: Region
    grid: Region
    other_grid: Region
    category: Category
    people: dict[str, User]
    departments: dict[str, Department]

    def user(self, name: str) -> User:
        return self.people[name]

    def case(
        self,
        source: str = Source.GRID_WORKER,
        *,
        reporter: str = "worker",
        grid: Region | None = None,
        reported: datetime,
        role: str = Role.GRID_WORKER,
        limit: float = 4.0,
    ) -> History:
        """A case registered at `reported` through `source`, its report event written; its
        first stage has `limit` hours."""
        grid = grid or self.grid
        citizen = source in (Source.HOTLINE, Source.WEB, Source.OPEN311)
        case = Case.objects.create(
            number=f"T-{next(_numbers):06d}",
            category=self.category,
            description="测试",
            grid=grid,
            community=self.community,
            street=self.street,
            source=source,
            reporter=self.user(reporter),
            status=S.VERIFYING if citizen else S.REPORTED,
            verification_required=citizen,
        )
        h = History(case.id, reported - timedelta(hours=1))
        first = S.VERIFYING if citizen else S.REPORTED
        return h.go(
            events.reported, first, limit=limit, actor=self.user(reporter), role=role, source=source
        )


def make_world(street_code: str = "110105001") -> World:
    street = Region.objects.get(code=street_code)
    community = Region.objects.filter(parent=street).order_by("code")[0]
    grid, other = Region.objects.filter(parent=community).order_by("code")[:2]
    parent = Category.objects.create(code="T9", name="测试大类", kind=Category.Kind.EVENT)
    category = Category.objects.create(
        code="T901", name="测试小类", kind=Category.Kind.EVENT, parent=parent
    )
    people = {
        name: User.objects.create(username=f"ev_{name}")
        for name in ("worker", "worker2", "operator", "lead", "dispatcher", "handler", "leader")
    }
    Membership.objects.create(user=people["worker"], region=grid, role=Role.GRID_WORKER)
    Membership.objects.create(user=people["worker2"], region=other, role=Role.GRID_WORKER)
    departments = {
        kind: Department.objects.create(
            code=f"ev-{kind}", name=f"测试{kind}", level="street", kind=kind, region=street
        )
        for kind in ("sanitation", "enforcement")
    }
    return World(street, community, grid, other, category, people, departments)


# --- the steps of the loop, each by the role that takes it -----------------------------------

LEAD, DISP, HANDLER, WORKER = Role.SHIFT_LEAD, Role.DISPATCHER, Role.HANDLER, Role.GRID_WORKER


def open_(w: World, h: History, **kw: Any) -> History:
    return h.go(events.opened, S.OPEN, actor=w.user("lead"), role=LEAD, **kw)


def dispatch(w: World, h: History, dept: str = "sanitation", **kw: Any) -> History:
    d = w.departments[dept]
    return h.go(
        events.dispatched,
        S.DISPATCHED,
        actor=w.user("dispatcher"),
        role=DISP,
        department_id=d.id,
        department=d.name,
        **kw,
    )


def accept(w: World, h: History, **kw: Any) -> History:
    return h.go(events.accepted, S.ACCEPTED, actor=w.user("handler"), role=HANDLER, **kw)


def done(w: World, h: History, **kw: Any) -> History:
    return h.go(events.handled, S.DONE, actor=w.user("handler"), role=HANDLER, **kw)


def check_pass(w: World, h: History, **kw: Any) -> History:
    return h.go(events.check_passed, S.CHECKED, actor=w.user("worker"), role=WORKER, **kw)


def check_fail(w: World, h: History, **kw: Any) -> History:
    return h.go(events.check_failed, S.ACCEPTED, actor=w.user("worker"), role=WORKER, **kw)


def close(w: World, h: History, **kw: Any) -> History:
    return h.go(events.closed, S.CLOSED, actor=w.user("lead"), role=LEAD, **kw)


def through(w: World, h: History, dept: str = "sanitation") -> History:
    """Opened, dispatched, handled, checked and closed: an hour a step, all on time."""
    for step in (open_, dispatch, accept, done, check_pass, close):
        h = step(w, h, dept=dept) if step is dispatch else step(w, h)
    return h
