"""Demo data and cases for tests: the demo's accounts, tiny photos, and a case driven to
any status (and setup) through the real services, case_intake and case_act.

Who may act is worked out here from the demo's memberships (role, region code,
department), independently of dispatch.actors.may_act, so tests check the services
against the rules as the domain states them rather than against the code's own answer.
"""

import io
import itertools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from cases.models import FINAL_STATUSES, Case, Category, Source, Status
from core.roles import Role
from dispatch.models import Assignment, Department, DepartmentMembership
from dispatch.services.intake import IntakeInput, case_intake
from dispatch.services.transitions import ActionInput, case_act
from dispatch.workflow import BY_ACTION, LIVE, Field, Scope, Transition
from grids.models import Membership, Region

S = Status
HOME: str = settings.HOME_DISTRICT_CODE
STREETS = {"jianwai": "110105001", "wangjing": "110105021"}
# The demo has no district shift lead or intake operator, so nobody could open, close,
# reopen or call back a case the district handles; these two accounts stand in for them.
EXTRA_ACCOUNTS = (
    ("t_district_lead", Role.SHIFT_LEAD),
    ("t_district_operator", Role.INTAKE_OPERATOR),
)


def tiny_jpeg(color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, format="JPEG")
    return out.getvalue()


# --- the demo --------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """One role of one person: where they hold it, or which department they work in."""

    username: str
    role: str
    code: str  # region code of the membership ("" for department handlers)
    department_id: int | None = None


@dataclass
class Demo:
    users: dict[str, User]
    accounts: list[Account]
    category: str
    # street slug -> (lng, lat) inside the slug's grid1 (where `<slug>_grid1` works)
    points: dict[str, tuple[float, float]]
    # (region code, department kind) -> department id
    departments: dict[tuple[str, str], int]

    def user(self, username: str) -> User:
        return self.users[username]

    @property
    def usernames(self) -> list[str]:
        return sorted(self.users)

    def roles_of(self, username: str) -> set[str]:
        return {a.role for a in self.accounts if a.username == username}

    def dispatch_department(self, case: Case) -> int:
        """Where the case goes: the street's enforcement team (jianwai_cg / wangjing_cg),
        or the district's city management committee (district_cgw) after escalation."""
        if case.handling_level == "street":
            assert case.street is not None
            return self.departments[(case.street.code, "enforcement")]
        return self.departments[(HOME, "city")]


def seed_demo() -> Demo:
    call_command("seed_demo", stdout=io.StringIO())
    district = Region.objects.get(code=HOME)
    for username, role in EXTRA_ACCOUNTS:
        user, _ = User.objects.get_or_create(username=username, defaults={"first_name": username})
        Membership.objects.get_or_create(user=user, region=district, role=role)
    return load_demo()


def load_demo() -> Demo:
    accounts = [
        Account(u, role, code)
        for u, role, code in Membership.objects.values_list(
            "user__username", "role", "region__code"
        )
    ]
    accounts += [
        Account(u, Role.HANDLER, "", dept)
        for u, dept in DepartmentMembership.objects.values_list("user__username", "department_id")
    ]
    names = {a.username for a in accounts}
    users = {u.username: u for u in User.objects.filter(username__in=names)}
    points = {}
    for slug in STREETS:
        grid = Membership.objects.get(user__username=f"{slug}_grid1").region
        p = grid.boundary.point_on_surface
        points[slug] = (p.x, p.y)
    departments = {
        (code, kind): dept_id
        for code, kind, dept_id in Department.objects.values_list("region__code", "kind", "id")
    }
    category = Category.objects.filter(parent__isnull=False, active=True).order_by("code")[0]
    return Demo(
        users, sorted(accounts, key=lambda a: a.username), category.code, points, departments
    )


# --- who may act (the rule, restated from the demo's memberships) ----------------------


def centre_of(case: Case) -> str:
    if case.handling_level == "street":
        assert case.street is not None
        return case.street.code
    return HOME


def allowed_users(demo: Demo, t: Transition, case: Case) -> set[str]:
    """Accounts holding one of the transition's roles in the jurisdiction its scope names."""
    assignment = Assignment.objects.filter(case=case, active=True).first()
    grid = case.grid.code if case.grid else ""
    out: set[str] = set()
    for a in demo.accounts:
        if a.role not in t.roles:
            continue
        if t.scope is Scope.CENTRE:
            ok = a.code == centre_of(case)
        elif t.scope is Scope.REGION:
            ok = grid.startswith(a.code) and a.code != ""
        elif t.scope is Scope.GRID:
            ok = a.code != "" and grid.startswith(a.code)
        else:
            ok = assignment is not None and a.department_id == assignment.department_id
        if ok:
            out.add(a.username)
    return out


def role_holders(demo: Demo, t: Transition) -> set[str]:
    return {a.username for a in demo.accounts if a.role in t.roles}


# --- inputs ----------------------------------------------------------------------------


def merge_target(demo: Demo, case: Case) -> Case:
    """Another live case of the same street to merge into (reported on demand)."""
    other = (
        Case.objects.filter(street=case.street)
        .exclude(id=case.id)
        .exclude(status__in=FINAL_STATUSES)
        .order_by("id")
        .first()
    )
    if other is not None:
        return other
    slug = next(s for s, code in STREETS.items() if case.street and case.street.code == code)
    return intake(demo, street=slug)


def inputs_for(demo: Demo, t: Transition, case: Case, *, omit: Field | None = None) -> ActionInput:
    """Valid inputs for every required field (and a note when one is accepted)."""
    data = ActionInput()
    for f in sorted(t.required | ({Field.NOTE} & t.optional)):
        if f == omit:
            continue
        if f is Field.NOTE:
            data.note = f"测试:{t.action}"
        elif f is Field.PHOTOS:
            data.photos = [tiny_jpeg()]
        elif f is Field.DEPARTMENT:
            data.department_id = demo.dispatch_department(case)
        elif f is Field.DEADLINE:
            base = max(timezone.now(), case.deadline or timezone.now())
            data.deadline = base + timedelta(days=5)
        elif f is Field.TARGET_CASE:
            data.target_case = merge_target(demo, case).number
        elif f is Field.SATISFACTION:
            data.satisfaction = "satisfied"
        elif f is Field.RESULT:
            data.result = "confirmed"
        else:  # a new Field in the table: give it a valid test value here
            raise AssertionError(f"no test value for the field {f!r}")
    return data


# --- driving a case --------------------------------------------------------------------


def intake(demo: Demo, *, citizen: bool = False, street: str = "jianwai", key: str = "") -> Case:
    """A grid worker's report (reported) or a hotline call (verifying) in `street`'s grid1."""
    lng, lat = demo.points[street]
    if citizen:
        user = demo.user(f"{street}_operator")
        data = IntakeInput(
            category=demo.category,
            description="热线:路灯不亮",
            source=Source.HOTLINE,
            lng=lng,
            lat=lat,
            citizen_name="张三",
            citizen_phone="13800138000",
            idempotency_key=key,
        )
    else:
        user = demo.user(f"{street}_grid1")
        data = IntakeInput(
            category=demo.category,
            description="网格员上报:暴露垃圾",
            source=Source.GRID_WORKER,
            lng=lng,
            lat=lat,
            idempotency_key=key,
        )
    return case_intake(user=user, data=data).case


def act(demo: Demo, case: Case, action: str, username: str | None = None, **overrides: Any) -> Case:
    """Perform `action` as `username` (default: the first account allowed) with valid
    inputs; fields in `overrides` replace the generated ones."""
    t = BY_ACTION[action]
    if username is None:
        allowed = sorted(allowed_users(demo, t, case))
        assert allowed, f"no account may {action} case {case.number} in {case.status}"
        username = allowed[0]
    data = inputs_for(demo, t, case)
    for name, value in overrides.items():
        setattr(data, name, value)
    return case_act(case_id=case.id, user=demo.user(username), action=action, data=data)


@dataclass(frozen=True, order=True)
class Setup:
    """How a case got to its status, beyond the status itself."""

    district: bool = False  # escalated: the district centre handles it
    citizen: bool = False  # a hotline report: verified before opening, may get a callback
    pending: str = ""  # an open request on the assignment: "extension" or "park"
    supervised: bool = False

    @property
    def label(self) -> str:
        parts = ["district" if self.district else "street"]
        parts += ["citizen"] * self.citizen + [self.pending] * bool(self.pending)
        return "-".join(parts + ["supervised"] * self.supervised)


DISTRICT_STATUSES = {S.ESCALATED, S.DISPATCHED, S.ACCEPTED, S.RETURNED, S.DONE, S.CHECKED}
DISTRICT_STATUSES |= {S.CLOSED, S.PARKED}

# Simplest first: a test uses the first setup that fits.
SETUPS: list[Setup] = sorted(
    (
        Setup(d, c, p, s)
        for d, c, p, s in itertools.product(
            (False, True), (False, True), ("", "extension", "park"), (False, True)
        )
    ),
    key=lambda x: (x.district, x.district + x.citizen + bool(x.pending) + x.supervised, x),
)


def feasible(status: Status, setup: Setup) -> bool:
    if setup.citizen and status == S.REPORTED:
        return False
    if not setup.citizen and status in (S.VERIFYING, S.VERIFIED, S.UNCONFIRMED):
        return False
    if status == S.ESCALATED and not setup.district:
        return False
    if setup.district and status not in DISTRICT_STATUSES:
        return False
    if setup.pending == "extension" and status not in (S.DISPATCHED, S.ACCEPTED):
        return False
    if setup.pending == "park" and status != S.ACCEPTED:
        return False
    return not (setup.supervised and status not in LIVE)


def sketch(status: Status, setup: Setup) -> Case:
    """An unsaved case with the attributes `when` conditions read, to pick setups cheaply."""
    return Case(
        status=status,
        source=Source.HOTLINE if setup.citizen else Source.GRID_WORKER,
        verification_required=setup.citizen,
        handling_level="district" if setup.district else "street",
        supervised=setup.supervised,
        satisfaction="",
    )


def first_setup(
    t: Transition, status: Status, *, district: bool, when: bool = True
) -> Setup | None:
    """The simplest feasible setup at this level whose `when` evaluates to `when`."""
    for setup in SETUPS:
        if setup.district != district or not feasible(status, setup):
            continue
        holds = t.when is None or bool(t.when(sketch(status, setup), setup.pending))
        if holds == when:
            return setup
    return None


def simplest_setup(status: Status) -> Setup:
    return next(s for s in SETUPS if feasible(status, s))


def path_to(status: Status, setup: Setup) -> list[str]:
    opened = ["verify", "open"] if setup.citizen else ["open"]
    sent = [*opened, "escalate", "dispatch"] if setup.district else [*opened, "dispatch"]
    accepted = [*sent, "accept"]
    done = [*accepted, "report_done"]
    paths: dict[Status, list[str]] = {
        S.REPORTED: [],
        S.VERIFYING: [],
        S.VERIFIED: ["verify"],
        S.UNCONFIRMED: ["verify:not_found"],
        S.OPEN: opened,
        S.ESCALATED: [*opened, "escalate"],
        S.DISPATCHED: sent,
        S.ACCEPTED: accepted,
        S.RETURNED: [*sent, "return"],
        S.DONE: done,
        S.CHECKED: [*done, "check_pass"],
        S.CLOSED: [*done, "check_pass", "close"],
        S.PARKED: [*accepted, "request_park", "approve_park"],
        S.VOID: ["void"],
        S.MERGED: ["merge"],
    }
    tail = {"extension": ["request_extension"], "park": ["request_park"]}.get(setup.pending, [])
    return paths[status] + tail + ["supervise"] * setup.supervised


def drive(demo: Demo, status: Status, setup: Setup = Setup(), street: str = "jianwai") -> Case:
    """A new case in `street`, taken to `status` through the real services."""
    assert feasible(status, setup), (status, setup)
    case = intake(demo, citizen=setup.citizen, street=street)
    for step in path_to(status, setup):
        action, _sep, result = step.partition(":")  # "verify:not_found": with that result
        case = act(demo, case, action, **({"result": result} if result else {}))
    case = Case.objects.select_related("grid", "street").get(id=case.id)
    assert case.status == status, (case.status, status, setup)
    return case


def pending_of(case: Case) -> str:
    a = Assignment.objects.filter(case=case, active=True).first()
    return a.pending_request if a else ""
