"""Keeping the rollups current: histories driven through the real services (case_intake,
case_act, the SLA sweep), the evaluation sweep after every step, and the rebuild from the
log giving the very same rows; the sweep run twice, at once, by a real worker, and beside a
transaction that has not committed its event yet."""

import io
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from cases import events
from cases.models import Case, CaseEvent, Status
from dispatch.services import sla
from evaluation.models import CaseStage, CaseSummary, SweepMark
from evaluation.services import rollup
from grids.models import Membership, Region
from tests.factories import EXTRA_ACCOUNTS, HOME, Demo, act, intake, load_demo, module_demo
from tests.factories import committed_demo as committed_demo_fixture

S = Status


def district_accounts() -> None:
    """The district shift lead and operator tests/factories/cases.py stands in for."""
    from django.contrib.auth.models import User

    district = Region.objects.get(code=HOME)
    for username, role in EXTRA_ACCOUNTS:
        user, _ = User.objects.get_or_create(username=username)
        Membership.objects.get_or_create(user=user, region=district, role=role)


demo = module_demo(district_accounts)
committed_demo = committed_demo_fixture()


@pytest.fixture(autouse=True)
def media(settings: SettingsWrapper, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.NOTIFY_SENDERS = []  # committed tests would queue deliveries for no worker


def snapshot() -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    summaries: list[dict[str, Any]] = [
        dict(row) for row in CaseSummary.objects.order_by("case_id").values()
    ]
    stages = [
        {k: v for k, v in row.items() if k != "id"}
        for row in CaseStage.objects.order_by("case_id", "seq").values()
    ]
    return summaries, stages, rollup.watermark()


def rebuild() -> None:
    call_command("rebuild_evaluation", stdout=io.StringIO())


def assert_sweep_equals_rebuild() -> None:
    rollup.sweep()
    swept = snapshot()
    assert swept[2] == CaseEvent.objects.order_by("-id").values_list("id", flat=True)[0]
    rebuild()
    assert snapshot() == swept


def history(d: Demo) -> list[Callable[[], Any]]:
    """Steps over four cases: a rework with an extension, then a reopen; a public report
    escalated, returned, parked and called back; a void; a merge; the clock's red light."""
    c: dict[str, Case] = {}

    def new(name: str, **kw: Any) -> Callable[[], Any]:
        return lambda: c.__setitem__(name, intake(d, **kw))

    def do(name: str, action: str, **kw: Any) -> Callable[[], Any]:
        return lambda: c.__setitem__(name, act(d, c[name], action, **kw))

    loop = ["open", "dispatch", "accept", "request_extension", "approve_extension"]
    loop += ["report_done", "check_fail", "report_done", "check_pass", "close", "reopen"]
    public = ["verify", "open", "escalate", "dispatch", "return", "dispatch", "accept"]
    public += ["request_park", "approve_park", "unpark", "report_done", "check_pass", "close"]
    public += ["callback"]
    steps: list[Callable[[], Any]] = [new("a")]
    steps += [do("a", action) for action in loop]
    steps += [new("b", citizen=True)] + [do("b", action) for action in public]
    steps += [new("v"), do("v", "open"), do("v", "void")]
    steps += [new("m"), do("m", "merge")]  # into the reopened "a"
    steps += [lambda: sla.sweep(now=timezone.now() + timedelta(days=30))]
    return steps


@pytest.mark.django_db
def test_the_sweep_after_every_step_equals_the_rebuild(demo: None) -> None:
    d = load_demo()
    for step in history(d):
        step()
        assert_sweep_equals_rebuild()
    kinds = set(CaseEvent.objects.values_list("action", flat=True))
    assert {"check_fail", "approve_extension", "approve_park", "return", "reopen"} <= kinds
    assert {"escalate", "void", "merge", "merged_from", "callback", "sla_red"} <= kinds
    # The rollups say what happened.
    summaries = {s.case.status: s for s in CaseSummary.objects.select_related("case")}
    reopened = summaries[S.OPEN]
    assert (reopened.rework_count, reopened.extension_count, reopened.reopen_count) == (1, 1, 1)
    public = summaries[S.CLOSED]
    assert (public.return_count, public.park_count, public.escalation_count) == (1, 1, 1)
    assert public.handling_level == "district" and public.satisfaction == "satisfied"
    assert summaries[S.VOID].voided_at is not None
    assert summaries[S.MERGED].merged_at is not None


@pytest.mark.django_db
def test_a_sweep_run_twice_changes_nothing(demo: None) -> None:
    d = load_demo()
    for step in history(d)[:8]:
        step()
    first = rollup.sweep()
    assert first.events == CaseEvent.objects.count() and first.cases == 1
    before = snapshot()
    again = rollup.sweep()
    assert (again.events, again.cases) == (0, 0)
    assert snapshot() == before


@pytest.mark.django_db
def test_batches_smaller_than_the_log_give_the_same_rows(demo: None) -> None:
    d = load_demo()
    for step in history(d):
        step()
    upto = rollup.high_water()
    assert upto is not None
    while rollup.sweep_batch(upto=upto, limit=3).events:
        pass
    batched = snapshot()
    rebuild()
    assert snapshot() == batched


@pytest.mark.django_db
def test_the_rebuild_drops_rows_the_log_does_not_support(demo: None) -> None:
    d = load_demo()
    case = intake(d)
    rollup.sweep()
    CaseSummary.objects.filter(case=case).update(rework_count=9, status="closed")
    CaseStage.objects.filter(case=case).delete()
    rebuild()
    summary = CaseSummary.objects.get(case=case)
    assert (summary.rework_count, summary.status) == (0, S.REPORTED)
    assert CaseStage.objects.filter(case=case).count() == 1


# ---- committed: concurrent sweeps, an open transaction, a real worker ------------------------


def _events_for(count: int) -> list[Case]:
    """`count` cases reported and opened: two events each."""
    d = load_demo()
    return [act(d, intake(d), "open") for _ in range(count)]


@pytest.mark.django_db(transaction=True)
def test_sweeps_at_once_take_turns_and_agree_with_the_rebuild(committed_demo: None) -> None:
    from tests.factories import at_once

    _events_for(6)
    results = at_once(3, rollup.sweep)
    assert sum(r.events for r in results) == CaseEvent.objects.count() == 12
    swept = snapshot()
    rebuild()
    assert snapshot() == swept


@pytest.mark.django_db(transaction=True)
def test_an_uncommitted_event_is_not_passed_over(committed_demo: None) -> None:
    """An event whose id is taken but whose transaction has not committed must not fall
    behind the watermark: the sweep waits for it, or leaves everything for later."""
    (case,) = _events_for(1)
    rollup.sweep()
    mark = rollup.watermark()
    inserted, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                step = events.Step(
                    case_id=case.id, actor=None, from_status="open", to_status="open"
                )
                events.supervised(step).save()
                inserted.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    try:
        assert inserted.wait(timeout=30)
        _events_for(1)  # a later id that commits first: a plain max(id) would pass over
        result = rollup.sweep()
        assert (result.events, result.watermark) == (0, mark)
    finally:
        release.set()
        writer.join()
    result = rollup.sweep()
    assert result.events == 3
    assert SweepMark.objects.get().last_event_id == CaseEvent.objects.order_by("-id")[0].id


@pytest.mark.django_db(transaction=True)
def test_a_sweep_finding_the_watermark_taken_returns_at_once(committed_demo: None) -> None:
    """A rebuild (or another sweep) holds the watermark: a periodic sweep leaves the work to
    it instead of queueing behind it, and the next sweep catches up."""
    _events_for(1)
    rollup.sweep()
    (case,) = _events_for(1)
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        try:
            with transaction.atomic():
                SweepMark.objects.select_for_update().get(id=1)
                held.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(timeout=30)
        before = rollup.watermark()
        assert rollup.sweep() == rollup.SweepResult(0, 0, before)
        assert not CaseSummary.objects.filter(case=case).exists()
    finally:
        release.set()
        thread.join()
    assert rollup.sweep().cases == 1
    assert CaseSummary.objects.get(case=case).status == S.OPEN


def test_the_beat_schedule_runs_the_sweep(settings: SettingsWrapper) -> None:
    from chaoyang.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["evaluation-sweep"]
    assert entry["task"] == "evaluation.tasks.evaluation_sweep"
    assert entry["schedule"] == settings.EVALUATION_SWEEP_SECONDS
    app.loader.import_default_modules()
    assert "evaluation.tasks.evaluation_sweep" in app.tasks


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sweeps_the_log(celery_worker_process: object, committed_demo: None) -> None:
    from evaluation.tasks import evaluation_sweep

    _events_for(2)
    last = CaseEvent.objects.order_by("-id")[0].id
    assert evaluation_sweep.delay().get(timeout=30) == {"events": 4, "cases": 2, "watermark": last}
    assert CaseSummary.objects.filter(status=S.OPEN).count() == 2
    assert evaluation_sweep.delay().get(timeout=30) == {"events": 0, "cases": 0, "watermark": last}
    swept = snapshot()
    rebuild()
    assert snapshot() == swept
