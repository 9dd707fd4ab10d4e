"""The demo (seed_demo) for closed-loop tests, seeded once per test module.

seed_demo takes one to two seconds, most of it the category policies; per test that would
dominate these suites. A module fixture seeds it inside a transaction that every test's own
transaction nests in (as Django's TestCase.setUpTestData does) and rolls it back when the
module is done, so nothing outlives the module.

Tests that commit (transaction=True: real threads, a real worker) can't share an open
transaction: they seed their own committed copy, which the test's flush removes. pytest-django
runs a module's transactional tests after its ordinary ones, while the module fixture is
still alive, so `committed_demo` first rolls the module's transaction back.

Use in a test module (fixtures made by factories, so modules don't import fixture names):

    demo = module_demo()                # for ordinary tests
    committed_demo = committed_demo()   # for transaction=True tests
"""

import threading
from collections.abc import Callable, Iterator
from io import StringIO
from typing import Any, TypeVar

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, transaction

from cases.models import Case
from dispatch.models import Department
from dispatch.services.transitions import ActionInput, case_act
from grids.models import Region
from tests.conftest import SNAPSHOT

GRID1 = "110105001001001"  # jianwai_grid1's grid; jianwai_grid2 has the next one
T = TypeVar("T")


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


def _restore_territory() -> None:
    """As the `territory` fixture: put the territory back if a flush removed it."""
    with connection.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM grids_region WHERE level = 4)")
        if not cur.fetchone()[0]:
            cur.execute(f"INSERT INTO grids_region SELECT * FROM {SNAPSHOT}")


def seed() -> None:
    call_command("seed_demo", stdout=StringIO())


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
            _restore_territory()
            outer = _OPEN[request.module.__name__] = _Outer()
            try:
                seed()
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
        seed()

    return committed_demo


# ---- small helpers over the demo -------------------------------------------------------


def user(username: str) -> User:
    return User.objects.get(username=username)


def grid_point(code: str = GRID1) -> tuple[float, float]:
    """A point inside the region (PostGIS's point on surface)."""
    point = Region.objects.get(code=code).boundary.point_on_surface
    return point.x, point.y


def hw() -> Department:
    """jianwai's 环卫所 (street sanitation), where exposed garbage goes."""
    return Department.objects.get(code="110105001-sanitation")


def act(case: Case, username: str, action: str, **fields: Any) -> Case:
    return case_act(case_id=case.id, user=user(username), action=action, data=ActionInput(**fields))


def at_once(count: int, call: Callable[[], T]) -> list[T]:
    """Run `call` in `count` threads released together, each on its own database connection
    (for transaction=True tests); re-raise the first error in the calling thread."""
    barrier = threading.Barrier(count)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(call())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
