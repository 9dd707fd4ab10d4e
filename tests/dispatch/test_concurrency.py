"""Two people acting on one case at once: exactly one wins, the other gets a clear 409.

Real concurrency: each racer is a thread with its own database connection, on committed
rows (transactional tests). To make sure the two really collide rather than run one after
the other, the main thread holds the contended lock (the case row, or for intake the day's
case-number counter) until both racers are seen waiting on it in pg_locks; then it lets go.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent, Status
from cases.services.records import case_next_number
from dispatch.errors import ActionError, Conflict, InvalidState
from dispatch.models import Assignment, DepartmentMembership
from dispatch.services import notify
from dispatch.services.transitions import ActionInput, case_act
from grids.models import Membership
from tests.factories import Demo, act, drive, intake, seed_demo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(territory: None, settings: Any, tmp_path: Path) -> Iterator[Demo]:
    settings.MEDIA_ROOT = str(tmp_path)
    # These tests commit, so notifications would be handed to the broker: no senders.
    settings.NOTIFY_SENDERS = []
    notify.senders.cache_clear()
    yield seed_demo()
    notify.senders.cache_clear()


def _colleague(demo: Demo, of: str, username: str) -> User:
    """A second account with the same role and place as `of`."""
    user = User.objects.create_user(username, password="x")
    for m in Membership.objects.filter(user__username=of):
        Membership.objects.create(user=user, region=m.region, role=m.role)
    for dm in DepartmentMembership.objects.filter(user__username=of):
        DepartmentMembership.objects.create(user=user, department=dm.department)
    demo.users[username] = user
    return user


# Bounds on waits, not timed assertions: on a shared two-core machine (a demo, an API client
# and another test run beside this one) starting a thread and opening its connection has
# taken over a minute.
WAIT_S = 180


def _wait_until_blocked(pids: list[int]) -> None:
    """Wait until every backend in `pids` waits for a lock another transaction holds."""
    deadline = time.monotonic() + WAIT_S
    with connections["default"].cursor() as cur:
        while True:
            cur.execute(
                "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted AND pid = ANY(%s)",
                [pids],
            )
            if cur.fetchone()[0] == len(pids):
                return
            if time.monotonic() > deadline:
                raise AssertionError("the racers never waited on the lock")
            time.sleep(0.005)


@contextmanager
def _holding(lock: Callable[[], None]) -> Iterator[None]:
    with transaction.atomic():
        lock()
        yield


def race(lock: Callable[[], None], *calls: Callable[[], Any], staged: bool = False) -> list[Any]:
    """Run `calls` at once in threads (each with its own connection), while `lock` is held
    in the main thread until all of them block on it. Returns each result or exception.

    `staged`: start them one at a time, each once the previous one waits, so they queue
    for the lock in order (the lock manager grants a row's waiters first come first served).
    """
    n = len(calls)
    barriers = [threading.Barrier(2) for _ in calls] if staged else [threading.Barrier(n + 1)] * n
    results: list[Any] = [None] * n
    pids: list[int] = [0] * n

    def run(i: int, fn: Callable[[], Any]) -> None:
        started = False
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pids[i] = cur.fetchone()[0]
            barriers[i].wait(timeout=WAIT_S)
            started = True
            results[i] = fn()
        except Exception as exc:  # the assertions look at what each racer ended with
            results[i] = exc
            if not started:
                # Don't leave the main thread waiting out the bound for a racer that
                # failed before the start: break the barrier, and `start` reports why.
                barriers[i].abort()
        finally:
            connections.close_all()

    def start(barrier: threading.Barrier) -> None:
        try:
            barrier.wait(timeout=WAIT_S)
        except threading.BrokenBarrierError:
            raise AssertionError(f"a racer failed before the start: {results}") from None

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    with _holding(lock):
        for i, t in enumerate(threads):
            t.start()
            if staged:
                start(barriers[i])
                _wait_until_blocked(pids[: i + 1])
        if not staged:
            start(barriers[0])
            _wait_until_blocked(pids)
    for t in threads:
        t.join(timeout=WAIT_S)
        assert not t.is_alive()
    return results


def _lock_case(case_id: int) -> Callable[[], None]:
    def lock() -> None:
        Case.objects.select_for_update().get(id=case_id)

    return lock


def _split(results: list[Any]) -> tuple[list[Any], list[ActionError]]:
    errors = [r for r in results if isinstance(r, ActionError)]
    others = [r for r in results if isinstance(r, Exception) and not isinstance(r, ActionError)]
    assert not others, others
    return [r for r in results if not isinstance(r, Exception)], errors


def test_two_dispatchers_dispatch_the_same_case_exactly_once(demo: Demo) -> None:
    _colleague(demo, "jianwai_dispatcher", "jianwai_dispatcher2")
    case = drive(demo, Status.OPEN)
    dept = demo.dispatch_department(case)

    def dispatch(username: str) -> Case:
        data = ActionInput(department_id=dept, note=username)
        return case_act(case_id=case.id, user=demo.user(username), action="dispatch", data=data)

    results = race(
        _lock_case(case.id),
        lambda: dispatch("jianwai_dispatcher"),
        lambda: dispatch("jianwai_dispatcher2"),
    )
    won, lost = _split(results)
    assert len(won) == 1 and len(lost) == 1
    # Neither sent a version: the loser finds a state the action no longer applies to.
    assert isinstance(lost[0], InvalidState) and lost[0].status == 422
    assert "已派遣" in lost[0].message  # names the state the winner left it in
    fresh = Case.objects.get(id=case.id)
    assert (fresh.status, fresh.version) == (Status.DISPATCHED, case.version + 1)
    events = CaseEvent.objects.filter(case=case, action="dispatch")
    assert events.count() == 1
    assert events.get().note == won[0].events.get(action="dispatch").note
    assert Assignment.objects.filter(case=case).count() == 1


def test_two_handlers_accepting_through_the_api_get_200_and_409(demo: Demo) -> None:
    """Both send the version they saw, as clients do: the loser learns the case changed."""
    _colleague(demo, "jianwai_cg", "jianwai_cg2")
    case = drive(demo, Status.DISPATCHED)

    def accept(username: str) -> int:
        client = APIClient()
        client.force_authenticate(demo.user(username))
        body = {"action": "accept", "version": case.version}
        r = client.post(f"/api/v1/cases/{case.id}/actions/", body, format="json")
        if r.status_code == 200:
            assert r.json()["status"] == "accepted"
        else:
            assert r.json()["code"] == "version_conflict" and r.json()["detail"]
        return r.status_code

    results = race(_lock_case(case.id), lambda: accept("jianwai_cg"), lambda: accept("jianwai_cg2"))
    assert sorted(results) == [200, 409]
    assert CaseEvent.objects.filter(case=case, action="accept").count() == 1
    fresh = Case.objects.get(id=case.id)
    assert (fresh.status, fresh.version) == (Status.ACCEPTED, case.version + 1)
    assert Assignment.objects.get(case=case).accepted_at is not None


def test_same_version_submitted_twice_at_once_applies_once(demo: Demo) -> None:
    """Two tabs of one shift lead close the case seen at the same version."""
    case = drive(demo, Status.CHECKED)

    def close() -> Case:
        data = ActionInput(expected_version=case.version)
        return case_act(case_id=case.id, user=demo.user("jianwai_lead"), action="close", data=data)

    won, lost = _split(race(_lock_case(case.id), close, close))
    assert len(won) == 1 and len(lost) == 1
    assert isinstance(lost[0], Conflict)
    assert lost[0].extra == {"case_status": Status.CLOSED, "version": case.version + 1}
    assert CaseEvent.objects.filter(case=case, action="close").count() == 1


def test_stale_expected_version_is_a_conflict_that_changes_nothing(demo: Demo) -> None:
    case = drive(demo, Status.OPEN)
    seen = case.version
    act(demo, case, "supervise", "jianwai_leader")  # someone else acts meanwhile
    events = CaseEvent.objects.filter(case=case).count()
    dept = demo.dispatch_department(case)
    data = ActionInput(department_id=dept, expected_version=seen)
    with pytest.raises(Conflict) as err:
        case_act(
            case_id=case.id, user=demo.user("jianwai_dispatcher"), action="dispatch", data=data
        )
    assert err.value.status == 409 and "刷新" in err.value.message
    assert err.value.extra == {"case_status": Status.OPEN, "version": seen + 1}
    fresh = Case.objects.get(id=case.id)
    assert (fresh.status, fresh.version) == (Status.OPEN, seen + 1)
    assert CaseEvent.objects.filter(case=case).count() == events
    data.expected_version = seen + 1  # reloaded: now it goes through
    done = case_act(
        case_id=case.id, user=demo.user("jianwai_dispatcher"), action="dispatch", data=data
    )
    assert (done.status, done.version) == (Status.DISPATCHED, seen + 2)


def test_concurrent_intake_with_one_idempotency_key_registers_one_case(demo: Demo) -> None:
    lng, lat = demo.points["jianwai"]
    body = {
        "category": demo.category,
        "description": "同一请求重复提交",
        "source": "grid_worker",
        "lng": lng,
        "lat": lat,
    }

    def post() -> tuple[int, int]:
        client = APIClient()
        client.force_authenticate(demo.user("jianwai_grid1"))
        r = client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-42")
        return r.status_code, r.json()["id"]

    def lock_counter() -> None:
        # Both copies pass the "already registered?" check, then wait for a case number
        # behind this lock: the unique key has to decide between them.
        case_next_number(district_code="110105", day=timezone.localdate())

    results = race(lock_counter, post, post)
    assert all(isinstance(r, tuple) for r in results), results
    assert sorted(code for code, _id in results) == [200, 201]
    assert results[0][1] == results[1][1]
    cases = Case.objects.filter(idempotency_key__endswith=":k-42")
    assert cases.count() == 1
    assert CaseEvent.objects.filter(case=cases.get()).count() == 1


def test_the_same_key_from_another_user_is_another_case(demo: Demo) -> None:

    first = intake(demo, key="shared")
    again = intake(demo, key="shared")
    other = intake(demo, key="shared", citizen=True)  # by jianwai_operator
    assert first.id == again.id
    assert other.id != first.id


def test_crossed_merges_end_in_one_merge_and_a_clear_refusal(demo: Demo) -> None:
    a, b = intake(demo), intake(demo)

    def merge(source: Case, target: Case, username: str) -> Case:
        data = ActionInput(target_case=target.number)
        return case_act(case_id=source.id, user=demo.user(username), action="merge", data=data)

    # b→a queues for b first; a→b locks a, then queues for b behind it. Once b is free,
    # b→a holds b and waits for a, which a→b holds while it waits for b.
    results = race(
        _lock_case(b.id),
        lambda: merge(b, a, "jianwai_operator"),
        lambda: merge(a, b, "jianwai_lead"),
        staged=True,
    )
    won, lost = _split(results)
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].status in (400, 422)
