"""Test data, one function per thing: the demo's accounts and departments, places in the
territory, people, buildings and organisations, cases driven to any status, and the
fixtures that share data across a module.

Everything is written through the real services (case_intake, case_act,
population.services, the seed_demo command), as production writers do, so tests see the
same rows, events, ciphertexts and blind indexes.

Who may act is worked out here from the demo's memberships (role, region code,
department), independently of dispatch.actors.may_act, so tests check the services
against the rules as the domain states them rather than against the code's own answer.

Module-scoped demo fixtures are made by factories (`module_demo()`, `committed_demo()`),
so test modules don't import fixture names:

    demo = module_demo()                # for ordinary tests
    committed_demo = committed_demo()   # for transaction=True tests
"""

import io
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from itertools import count
from typing import Any, TypeVar

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.gis.db.models.functions import PointOnSurface
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from PIL import Image

from cases.models import FINAL_STATUSES, Case, Category, Source, Status
from core.roles import Role
from dispatch.errors import ActionError
from dispatch.models import Assignment, Department, DepartmentMembership
from dispatch.services.intake import IntakeInput, case_intake
from dispatch.services.transitions import ActionInput, case_act
from dispatch.workflow import BY_ACTION, LIVE, Field, Scope, Transition
from grids.models import Level, Membership, Region
from population import services
from population.models import Building, HousingUnit, Organisation, Person
from population.validators import credit_check_char, id_check_char

S = Status
T = TypeVar("T")
HOME: str = settings.HOME_DISTRICT_CODE
STREETS = {"jianwai": "110105001", "wangjing": "110105021"}
GRID1 = "110105001001001"  # jianwai_grid1's grid; jianwai_grid2 has the next one
DONGCHENG = (116.3975, 39.9087)  # Tiananmen: in the territory, outside the home district
# The demo has no district shift lead or intake operator, so nobody could open, close,
# reopen or call back a case the district handles; these two accounts stand in for them.
EXTRA_ACCOUNTS = (
    ("t_district_lead", Role.SHIFT_LEAD),
    ("t_district_operator", Role.INTAKE_OPERATOR),
)
# A copy of grids_region, in a table Django doesn't know, so a transactional test's flush
# leaves it alone (made by the _territory_snapshot fixture in tests/conftest.py).
SNAPSHOT = "test_territory_snapshot"

_serial = count(1)


# --- the territory ----------------------------------------------------------------------


def ensure_territory() -> None:
    """Put the demo territory back from the snapshot if a flush removed it."""
    with connection.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM grids_region WHERE level = 4)")
        if not cur.fetchone()[0]:
            cur.execute(f"INSERT INTO grids_region SELECT * FROM {SNAPSHOT}")


def grid_point(code: str = GRID1) -> Point:
    """A point inside the region with this code (PostGIS's point on surface); unpacks as
    `lng, lat`."""
    region = Region.objects.annotate(p=PointOnSurface("boundary")).get(code=code)
    point: Point = region.p
    return Point(point.x, point.y, srid=4326)


def safest_point(code: str) -> tuple[float, float]:
    """The centre of the largest circle inside a region: far from its edges, the safest
    point to click on a map or to stand at with a phone."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT (ST_MaximumInscribedCircle(boundary)).center c"
            " FROM grids_region WHERE code = %s) s",
            [code],
        )
        row = cur.fetchone()
    assert row, code
    return float(row[0]), float(row[1])


def demo_grids() -> dict[str, str]:
    """Grid codes the demo users hold and a few around them.

    grid1 / grid2: jianwai_grid1's and jianwai_grid2's grids; jianwai_other: a jianwai grid
    in another community; wangjing: wangjing_grid1's grid.
    """
    held = dict(
        Membership.objects.filter(
            user__username__in=["jianwai_grid1", "jianwai_grid2", "wangjing_grid1"]
        ).values_list("user__username", "region__code")
    )
    other = (
        Region.objects.filter(level=Level.GRID, code__startswith="110105001")
        .exclude(parent__code=held["jianwai_grid1"][:12])
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )
    assert other is not None
    return {
        "grid1": held["jianwai_grid1"],
        "grid2": held["jianwai_grid2"],
        "jianwai_other": other,
        "wangjing": held["wangjing_grid1"],
    }


# --- the demo: accounts, departments, categories ----------------------------------------


def run_seed_demo() -> None:
    """The seed_demo command: the demo's territory data, accounts, departments and
    categories, as `make demo` loads them."""
    call_command("seed_demo", stdout=io.StringIO())


def user(username: str) -> User:
    return User.objects.get(username=username)


def client_for(username: str) -> Client:
    client = Client()
    user: User = get_user_model().objects.get(username=username)
    client.force_login(user)
    return client


def hw() -> Department:
    """jianwai's 环卫所 (street sanitation), where exposed garbage goes."""
    return Department.objects.get(code="110105001-sanitation")


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
    run_seed_demo()
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


# --- data shared by the tests of a module ----------------------------------------------
#
# seed_demo takes one to two seconds, most of it the category policies; per test that would
# dominate these suites. A module fixture seeds it inside a transaction that every test's own
# transaction nests in (as Django's TestCase.setUpTestData does) and rolls it back when the
# module is done, so nothing outlives the module.
#
# Tests that commit (transaction=True: real threads, a real worker) can't share an open
# transaction: they seed their own committed copy, which the test's flush removes.
# pytest-django runs a module's transactional tests after its ordinary ones, while the
# module fixture is still alive, so `committed_demo` first rolls the module's transaction
# back.


class _Outer:
    """The module's open transaction, closed once: by the module's end or a committing test."""

    def __init__(self) -> None:
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.open = True

    def close(self) -> None:
        if self.open:
            self.open = False
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)


_OPEN: dict[str, _Outer] = {}  # module name → its open transaction


def module_demo(prepare: Callable[[], None] | None = None) -> Any:
    """A module-scoped `demo` fixture; `prepare` runs once after seeding (e.g. a policy
    edit). Only for ordinary (non-transactional) django_db tests."""

    @pytest.fixture(scope="module")
    def demo(
        request: pytest.FixtureRequest,
        django_db_setup: None,
        _territory_snapshot: None,
        django_db_blocker: Any,
    ) -> Iterator[None]:
        with django_db_blocker.unblock():
            ensure_territory()
            outer = _OPEN[request.module.__name__] = _Outer()
            try:
                run_seed_demo()
                if prepare is not None:
                    prepare()
                yield
            finally:
                outer.close()
                _OPEN.pop(request.module.__name__, None)

    return demo


def committed_demo() -> Any:
    """A `committed_demo` fixture for transaction=True tests: seeded and committed per test."""

    @pytest.fixture
    def committed_demo(request: pytest.FixtureRequest, territory: None) -> None:
        outer = _OPEN.get(request.module.__name__)
        if outer is not None:
            outer.close()
        run_seed_demo()

    return committed_demo


def _row_counts() -> dict[str, int]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename NOT IN ('spatial_ref_sys', 'test_territory_snapshot')"
        )
        tables = [r[0] for r in cur.fetchall()]
        cur.execute(" UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables))
        return {t: int(n) for t, n in cur.fetchall()}


@contextmanager
def committed_for_module() -> Iterator[None]:
    """Rows created in the block are committed, for the tests of one module to share, and
    removed afterwards: every table that was empty before is truncated again.

    Why not one transaction around the module, rolled back at the end: thousands of
    rolled-back savepoints in one transaction leave garbage no one may prune until it
    ends, and the tests slowed down threefold as it piled up. Committed rows keep each
    test's transaction short. Only for the non-transactional phase of a run, when nothing
    else is committed except the territory (which is never empty, so never truncated).
    """
    before = _row_counts()
    try:
        yield
    finally:
        empty = sorted(t for t, n in before.items() if n == 0)
        with connection.cursor() as cur:
            cur.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in empty))
        changed = {t: (before[t], n) for t, n in _row_counts().items() if n != before.get(t)}
        assert not changed, f"rows left behind in tables that had rows before: {changed}"


# --- identifiers, people, buildings, organisations -------------------------------------


def id_number(born: str = "19800101", seq: int = 1, area: str = "110105") -> str:
    """A valid GB 11643 number: `seq` odd for a man, even for a woman."""
    first17 = f"{area}{born}{seq:03d}"
    return first17 + id_check_char(first17)


def credit_code(body: str = "MA01234567") -> str:
    """A valid GB 32100 code for Chaoyang: 91 110105 + a nine-character organisation code."""
    first17 = ("91110105" + body)[:17].ljust(17, "0")
    return first17 + credit_check_char(first17)


@dataclass
class Placed:
    person: Person
    unit: HousingUnit
    building: Building
    number: str
    phone: str


def person_in(
    grid_code: str,
    *,
    name: str = "张三",
    born: str = "19800101",
    seq: int | None = None,
    phone: str | None = None,
    hukou: str = "local",
    use: str = "owner",
    area: str = "110105",
) -> Placed:
    """A person living in a new unit of a new building inside the grid."""
    n = next(_serial)
    number = id_number(born, seq if seq is not None else (n * 2 + 1) % 1000, area)
    phone = phone if phone is not None else f"139{n:08d}"
    building = services.building_create(
        data=services.BuildingInput(address=f"测试路{n}号楼", location=grid_point(grid_code))
    )
    unit = services.housing_unit_create(building=building, unit="1", room="101", use=use)
    person = services.person_create(
        data=services.PersonInput(name=name, id_number=number, phone=phone, hukou=hukou)
    )
    services.residence_add(person=person, housing=unit, relation="owner")
    person.refresh_from_db()
    return Placed(person, unit, building, number, phone)


def organisation_in(
    grid_code: str,
    *,
    name: str = "测试便利店",
    phone: str = "",
    code: str = "",
    kind: str = "shop",
) -> Organisation:
    n = next(_serial)
    return services.organisation_create(
        data=services.OrganisationInput(
            name=name,
            credit_code=code or credit_code(f"T{n:08d}"),
            kind=kind,
            address=f"测试路{n}号",
            location=grid_point(grid_code),
            contact_phone=phone,
        )
    )


# --- photos ----------------------------------------------------------------------------


def tiny_jpeg(color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, format="JPEG")
    return out.getvalue()


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


def outside_case(demo: Demo) -> Case:
    """A hotline report of a point in Dongcheng, registered for the district to pass on: no
    grid, community or street."""
    data = IntakeInput(
        category=demo.category,
        description="热线:东城区的井盖",
        source=Source.HOTLINE,
        lng=DONGCHENG[0],
        lat=DONGCHENG[1],
        citizen_name="王先生",
        citizen_phone="13800138000",
        register_outside=True,
    )
    return case_intake(user=demo.user("jianwai_operator"), data=data).case


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


def act_as(case: Case, username: str, action: str, **fields: Any) -> Case:
    """Perform `action` as `username` with exactly these inputs (none generated)."""
    return case_act(case_id=case.id, user=user(username), action=action, data=ActionInput(**fields))


# --- attempts that leave no trace -------------------------------------------------------


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run the block in a savepoint and undo it, so one driven case serves many attempts."""
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


@dataclass(frozen=True)
class Outcome:
    error: ActionError | None
    case: Case | None = None


def fingerprint(case_id: int) -> tuple[Any, ...]:
    """What a refused action must leave as it was, in one query."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT status, version, deadline, supervised, handling_level, light,"
            " (SELECT count(*) FROM cases_caseevent e WHERE e.case_id = c.id),"
            " (SELECT count(*) FROM dispatch_assignment a WHERE a.case_id = c.id)"
            " FROM cases_case c WHERE id = %s",
            [case_id],
        )
        row = cur.fetchone()
    assert row is not None
    return tuple(row)


def attempt(
    demo: Demo,
    case: Case,
    action: str,
    username: str,
    data: ActionInput,
    on_success: Callable[[Case], None] | None = None,
    check_unchanged: bool = True,
) -> Outcome:
    """case_act in a savepoint that is rolled back afterwards; `on_success` runs inside it,
    while the changes are still visible. A refusal must change nothing."""
    before = fingerprint(case.id) if check_unchanged else None
    with rolled_back():
        try:
            done = case_act(case_id=case.id, user=demo.user(username), action=action, data=data)
        except ActionError as exc:
            if before is not None:
                assert fingerprint(case.id) == before, f"refused {action} changed the case"
            return Outcome(exc)
        if on_success is not None:
            on_success(done)
        return Outcome(None, done)
    raise AssertionError("unreachable")


# --- concurrency -----------------------------------------------------------------------


def at_once(count: int, call: Callable[[], T]) -> list[T]:
    """Run `call` in `count` threads released together, each on its own database connection
    (for transaction=True tests); re-raise the first error in the calling thread."""
    barrier = threading.Barrier(count)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            # A bound, not a timed assertion: generous for a busy machine.
            barrier.wait(timeout=180)
            results.append(call())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
        assert not t.is_alive(), "a thread of at_once never finished"
    if errors:
        raise errors[0]
    return results
