"""The SLA clock: frozen limits in working time, lights that change once per stage,
extensions, parking, overlapping sweeps, and the sweep on a real Celery worker."""

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone
from pytest_django.fixtures import Settings

from cases.models import Case, CaseEvent, Light, Status
from dispatch import calendar
from dispatch.models import CategoryPolicy, Notification
from dispatch.services import sla
from dispatch.services.intake import IntakeInput, case_intake
from tests.factories import act_as, at_once, grid_point, hw, module_demo, user
from tests.factories import committed_demo as committed_demo_fixture

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = 3600


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SHANGHAI)


def four_hour_dispatch() -> None:
    """Exposed garbage (0601) gets a 4 work-hour dispatch limit, as in the examples."""
    policy = CategoryPolicy.objects.get(category__code="0601", urgency="normal")
    policy.limits["dispatch"] = [4, "work_hours"]
    policy.save()


committed_demo = committed_demo_fixture()
demo = module_demo(four_hour_dispatch)


@pytest.fixture
def clock() -> Iterator[Any]:
    """A stopped clock; tests move it with clock.move_to(...)."""
    with time_machine.travel(at(2026, 9, 1, 9, 0), tick=False) as traveller:
        yield traveller


def report(category: str = "0601", urgency: str = "normal") -> Case:
    lng, lat = grid_point()
    data = IntakeInput(category, "暴露垃圾", "grid_worker", urgency, lng, lat)
    return case_intake(user=user("jianwai_grid1"), data=data).case


def opened(clock: Any, when: datetime, **kwargs: Any) -> Case:
    """A case reported ten minutes before `when` and opened (立案) at `when`."""
    clock.move_to(when - timedelta(minutes=10))
    case = report(**kwargs)
    clock.move_to(when)
    return act_as(case, "jianwai_lead", "open")


def accepted(clock: Any, when: datetime, **kwargs: Any) -> Case:
    """A case accepted (签收) by jianwai's 环卫所 at `when`: the handle stage starts."""
    case = opened(clock, when - timedelta(minutes=20), **kwargs)
    clock.move_to(when - timedelta(minutes=10))
    act_as(case, "jianwai_dispatcher", "dispatch", department_id=hw().id)
    clock.move_to(when)
    return act_as(case, "jianwai_hw", "accept")


def events(case: Case) -> Counter[str]:
    return Counter(CaseEvent.objects.filter(case=case).values_list("action", flat=True))


def sweep_at(clock: Any, when: datetime) -> sla.SweepResult:
    clock.move_to(when)
    return sla.sweep()


# ---- deadlines in working time ---------------------------------------------------------


def test_a_deadline_skips_the_national_day_holiday(demo: None, clock: Any) -> None:
    # Wed 09-30 16:30: one working hour that day, then 10-01…10-07 off, then Thu 10-08.
    case = opened(clock, at(2026, 9, 30, 16, 30))
    assert case.status == Status.OPEN
    assert case.stage_started_at == at(2026, 9, 30, 16, 30)
    assert case.deadline == at(2026, 10, 8, 11, 30)
    assert case.warning_at == at(2026, 10, 8, 10, 42)  # 80 % of 4 h = 3 h 12 min
    assert case.light == Light.GREEN


def test_a_deadline_lands_on_the_adjusted_working_saturday(demo: None, clock: Any) -> None:
    # Fri 10-09 16:30 + 4 working hours: 1 h on Friday, 3 h on Saturday 10-10 (调休).
    case = opened(clock, at(2026, 10, 9, 16, 30))
    assert case.deadline == at(2026, 10, 10, 11, 30)
    assert case.warning_at == at(2026, 10, 10, 10, 42)
    assert case.deadline == calendar.add_duration(at(2026, 10, 9, 16, 30), 4, "work_hours")


def test_natural_hour_limits_ignore_the_holiday(demo: None, clock: Any) -> None:
    # A critical missing manhole cover: every stage counts natural hours.
    case = opened(clock, at(2026, 10, 2, 22, 0), category="0101", urgency="critical")
    assert case.deadline == at(2026, 10, 2, 23, 0)
    assert case.warning_at == at(2026, 10, 2, 22, 48)


def test_a_policy_edit_after_intake_leaves_the_case_its_frozen_limits(
    demo: None, clock: Any, settings: Settings
) -> None:
    clock.move_to(at(2026, 10, 12, 9, 0))
    case = report()
    policy = CategoryPolicy.objects.get(category__code="0601", urgency="normal")
    policy.limits["dispatch"] = [1, "work_hours"]
    policy.save()
    settings.SLA_WARNING_SHARE = 0.5
    clock.move_to(at(2026, 10, 12, 9, 30))
    case = act_as(case, "jianwai_lead", "open")
    assert case.deadline == at(2026, 10, 12, 15, 0)  # 4 h: 09:30–12:00, 13:30–15:00
    assert case.warning_at == at(2026, 10, 12, 14, 12)  # still 80 %
    later = opened(clock, at(2026, 10, 12, 9, 40))
    assert later.deadline == at(2026, 10, 12, 10, 40)  # the edited policy: 1 h
    assert later.warning_at == at(2026, 10, 12, 10, 10)  # and the new share


# ---- the sweep -------------------------------------------------------------------------


def test_yellow_once_at_80_percent_then_red_once_at_the_deadline(demo: None, clock: Any) -> None:
    case = opened(clock, at(2026, 10, 9, 16, 30))
    assert sweep_at(clock, at(2026, 10, 10, 10, 41)) == sla.SweepResult(0, 0, 0)
    assert sweep_at(clock, at(2026, 10, 10, 10, 42)) == sla.SweepResult(1, 0, 0)
    case.refresh_from_db()
    assert (case.light, case.supervised) == (Light.YELLOW, False)
    assert sweep_at(clock, at(2026, 10, 10, 11, 0)) == sla.SweepResult(0, 0, 0)
    assert sweep_at(clock, at(2026, 10, 10, 11, 30)) == sla.SweepResult(0, 1, 1)
    case.refresh_from_db()
    assert (case.light, case.supervised) == (Light.RED, True)
    assert sweep_at(clock, at(2026, 10, 12, 9, 0)) == sla.SweepResult(0, 0, 0)
    assert events(case) == {
        "report": 1,
        "open": 1,
        "sla_yellow": 1,
        "sla_red": 1,
        "auto_supervise": 1,
    }
    red = CaseEvent.objects.get(case=case, action="sla_red")
    assert (red.from_status, red.to_status, red.at) == ("open", "open", at(2026, 10, 10, 11, 30))
    assert case.status == Status.OPEN  # the light changes, the status does not


def test_an_overdue_case_found_late_turns_red_without_a_yellow(demo: None, clock: Any) -> None:
    case = opened(clock, at(2026, 10, 9, 16, 30))
    assert sweep_at(clock, at(2026, 10, 12, 9, 0)) == sla.SweepResult(0, 1, 1)
    assert events(case)["sla_yellow"] == 0


def test_overdue_cases_beyond_one_batch_are_never_warned_first(demo: None, clock: Any) -> None:
    # Ten cases fall due at once and the batch takes three: yellow must not pick up the
    # overdue ones red has not reached yet.
    cases = [opened(clock, at(2026, 10, 9, 16, 30)) for _ in range(10)]
    clock.move_to(at(2026, 10, 12, 9, 0))
    result = sla.sweep(limit=3)
    assert result == sla.SweepResult(0, 10, 10)
    for case in cases:
        assert events(case)["sla_red"] == 1
        assert events(case)["sla_yellow"] == 0


def test_an_already_supervised_case_is_not_escalated_again(demo: None, clock: Any) -> None:
    case = opened(clock, at(2026, 10, 9, 16, 30))
    act_as(case, "jianwai_leader", "supervise")
    assert sweep_at(clock, at(2026, 10, 12, 9, 0)) == sla.SweepResult(0, 1, 0)
    assert events(case)["auto_supervise"] == 0


def test_without_an_escalation_rule_red_only_turns_red(
    demo: None, clock: Any, settings: Settings
) -> None:
    settings.SLA_RED_ACTION = ""
    case = opened(clock, at(2026, 10, 9, 16, 30))
    assert sweep_at(clock, at(2026, 10, 12, 9, 0)) == sla.SweepResult(0, 1, 0)
    case.refresh_from_db()
    assert (case.light, case.supervised) == (Light.RED, False)


def test_a_batch_that_dies_leaves_its_cases_for_the_next_sweep(
    demo: None, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = opened(clock, at(2026, 10, 9, 16, 30))

    def crash(**kwargs: Any) -> None:
        raise RuntimeError("worker lost mid-batch")

    monkeypatch.setattr("dispatch.services.notify.notify_light_changes", crash)
    clock.move_to(at(2026, 10, 12, 9, 0))
    with pytest.raises(RuntimeError):
        sla.sweep()
    case.refresh_from_db()
    assert (case.light, case.supervised) == (Light.GREEN, False)
    assert events(case)["sla_red"] == 0
    monkeypatch.undo()
    assert sla.sweep() == sla.SweepResult(0, 1, 1)
    assert events(case)["sla_red"] == 1


def test_a_new_stage_starts_green_with_its_own_limit(demo: None, clock: Any) -> None:
    case = opened(clock, at(2026, 10, 9, 16, 30))
    sweep_at(clock, at(2026, 10, 12, 9, 0))
    clock.move_to(at(2026, 10, 12, 9, 30))
    case = act_as(case, "jianwai_dispatcher", "dispatch", department_id=hw().id)
    assert case.status == Status.DISPATCHED
    assert case.light == Light.GREEN
    assert case.supervised  # the supervision flag outlives the stage
    assert case.deadline == at(2026, 10, 12, 11, 30)  # accept: 2 working hours
    # The new stage warns and goes red again, once each.
    assert sweep_at(clock, at(2026, 10, 12, 11, 6)) == sla.SweepResult(1, 0, 0)
    assert sweep_at(clock, at(2026, 10, 12, 11, 30)) == sla.SweepResult(0, 1, 0)
    assert events(case)["sla_red"] == 2 and events(case)["auto_supervise"] == 1


# ---- extensions and parking ------------------------------------------------------------


def test_an_approved_extension_moves_the_deadline_and_resets_the_light(
    demo: None, clock: Any
) -> None:
    case = accepted(clock, at(2026, 10, 12, 9, 0))  # handle: 4 working hours
    assert case.deadline == at(2026, 10, 12, 14, 30)
    sweep_at(clock, at(2026, 10, 12, 14, 30))
    case.refresh_from_db()
    assert case.light == Light.RED
    clock.move_to(at(2026, 10, 12, 14, 40))
    act_as(
        case, "jianwai_hw", "request_extension", note="需要吊车", deadline=at(2026, 10, 13, 17, 30)
    )
    case.refresh_from_db()
    assert case.deadline == at(2026, 10, 12, 14, 30)  # unchanged until approved
    clock.move_to(at(2026, 10, 12, 15, 0))
    case = act_as(case, "jianwai_dispatcher", "approve_extension")
    assert case.deadline == at(2026, 10, 13, 17, 30)
    assert case.light == Light.GREEN
    assert case.extension_count == 1
    # 10 working hours remain; the warning comes when 8 of them are used.
    assert case.warning_at == at(2026, 10, 13, 15, 30)
    assert sweep_at(clock, at(2026, 10, 13, 15, 30)) == sla.SweepResult(1, 0, 0)
    assert sweep_at(clock, at(2026, 10, 13, 17, 30)) == sla.SweepResult(0, 1, 0)


def test_a_rejected_extension_leaves_the_deadline(demo: None, clock: Any) -> None:
    case = accepted(clock, at(2026, 10, 12, 9, 0))
    act_as(case, "jianwai_hw", "request_extension", note="忙", deadline=at(2026, 10, 14, 9, 0))
    case = act_as(case, "jianwai_dispatcher", "reject_extension", note="不批准")
    assert case.deadline == at(2026, 10, 12, 14, 30)
    assert case.extension_count == 0


def test_parking_stops_the_clock_and_unparking_restores_what_was_left(
    demo: None, clock: Any
) -> None:
    case = accepted(clock, at(2026, 10, 12, 9, 0))  # due 14:30, warned at 13:42
    clock.move_to(at(2026, 10, 12, 10, 0))
    act_as(case, "jianwai_hw", "request_park", note="需等待管线改造")
    case = act_as(case, "jianwai_dispatcher", "approve_park")
    assert case.status == Status.PARKED
    assert (case.deadline, case.warning_at) == (None, None)
    assert case.paused_remaining_s == 3 * HOUR
    # A week passes, holidays or not: nothing is due while parked.
    assert sweep_at(clock, at(2026, 10, 20, 9, 0)) == sla.SweepResult(0, 0, 0)
    case = act_as(case, "jianwai_dispatcher", "unpark")
    assert case.status == Status.ACCEPTED
    assert case.paused_remaining_s is None
    assert case.deadline == at(2026, 10, 20, 12, 0)
    assert calendar.working_seconds_between(at(2026, 10, 20, 9, 0), case.deadline) == 3 * HOUR
    # The warning keeps its place in the stage: at 80 % of the 4 h limit, i.e. 2 h 12 min
    # of working time after unparking (not at 80 % of the 3 h that were left).
    assert case.warning_at == at(2026, 10, 20, 11, 12)
    assert sweep_at(clock, at(2026, 10, 20, 11, 12)) == sla.SweepResult(1, 0, 0)
    assert sweep_at(clock, at(2026, 10, 20, 12, 0)) == sla.SweepResult(0, 1, 1)


def test_parking_a_natural_hour_stage_keeps_natural_time(demo: None, clock: Any) -> None:
    # A critical missing manhole cover (handle: 1 natural hour), parked after working hours.
    case = accepted(clock, at(2026, 10, 16, 17, 0), category="0101", urgency="critical")
    assert case.deadline == at(2026, 10, 16, 18, 0)
    clock.move_to(at(2026, 10, 16, 17, 20))
    act_as(case, "jianwai_hw", "request_park", note="需要市政配合")
    case = act_as(case, "jianwai_dispatcher", "approve_park")
    assert case.paused_remaining_s == 40 * 60
    clock.move_to(at(2026, 10, 19, 9, 0))
    case = act_as(case, "jianwai_dispatcher", "unpark")
    assert case.deadline == at(2026, 10, 19, 9, 40)
    assert case.warning_at == at(2026, 10, 19, 9, 28)  # 48 min into the hour


def test_extending_a_natural_hour_stage_warns_in_natural_time(demo: None, clock: Any) -> None:
    case = accepted(clock, at(2026, 10, 16, 17, 0), category="0101", urgency="critical")
    clock.move_to(at(2026, 10, 16, 17, 20))
    act_as(case, "jianwai_hw", "request_extension", note="夜间", deadline=at(2026, 10, 17, 12, 0))
    case = act_as(case, "jianwai_dispatcher", "approve_extension")
    assert case.deadline == at(2026, 10, 17, 12, 0)
    # 18 h 40 min remain; the warning comes after 80 % of them, overnight.
    assert case.warning_at == at(2026, 10, 17, 8, 16)


# ---- concurrency -----------------------------------------------------------------------


def due_cases(count: int) -> list[Case]:
    """`count` open cases, committed, all overdue on 2026-10-12 09:00."""
    with time_machine.travel(at(2026, 10, 9, 16, 0), tick=False):
        cases = [report() for _ in range(count)]
        for case in cases:
            act_as(case, "jianwai_lead", "open")
    return cases


@pytest.fixture
def no_senders(settings: Settings) -> None:
    """Committed notifications would queue deliveries for a worker this test doesn't run."""
    settings.NOTIFY_SENDERS = []


@pytest.mark.django_db(transaction=True)
def test_overlapping_sweeps_flag_each_case_once(committed_demo: None, no_senders: None) -> None:
    cases = due_cases(24)
    now = at(2026, 10, 12, 9, 0)
    results = at_once(3, lambda: sla.sweep(now=now, limit=4))
    assert sum(r.red for r in results) == 24
    assert sum(r.escalated for r in results) == 24
    assert sum(r.yellow for r in results) == 0
    per_case = Counter(
        CaseEvent.objects.filter(
            action__in=["sla_red", "auto_supervise", "sla_yellow"]
        ).values_list("case_id", "action")
    )
    assert per_case == Counter({(c.id, a): 1 for c in cases for a in ("sla_red", "auto_supervise")})
    assert sla.sweep(now=now) == sla.SweepResult(0, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_a_row_another_sweep_holds_is_skipped_not_waited_for(
    committed_demo: None, no_senders: None
) -> None:
    held, free = due_cases(2)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Case.objects.select_for_update().get(id=held.id)
                locked.set()
                release.wait(timeout=180)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(timeout=180)
        now = at(2026, 10, 12, 9, 0)
        assert sla.sweep(now=now) == sla.SweepResult(0, 1, 1)
        assert Case.objects.get(id=held.id).light == Light.GREEN
        assert Case.objects.get(id=free.id).light == Light.RED
    finally:
        release.set()
        holder.join()
    assert sla.sweep(now=now) == sla.SweepResult(0, 1, 1)
    assert CaseEvent.objects.filter(action="sla_red").count() == 2


# ---- the real worker and the beat schedule ---------------------------------------------


def test_the_beat_schedule_runs_the_sweep() -> None:
    from chaoyang.celery import app

    entry = django_settings.CELERY_BEAT_SCHEDULE["sla-sweep"]
    assert entry["task"] == "dispatch.tasks.sla_sweep"
    assert entry["schedule"] == django_settings.SLA_SWEEP_SECONDS == 30.0
    assert app.conf.beat_schedule["sla-sweep"]["task"] == "dispatch.tasks.sla_sweep"
    app.loader.import_default_modules()
    assert "dispatch.tasks.sla_sweep" in app.tasks


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sweeps_the_database(
    celery_worker_process: object, committed_demo: None
) -> None:
    from dispatch.tasks import sla_sweep

    # The worker runs on real time, so these cases fall due in the real past.
    now = timezone.now()
    overdue, warned, fresh = (act_as(report(), "jianwai_lead", "open") for _ in range(3))
    Case.objects.filter(id=overdue.id).update(
        warning_at=now - timedelta(hours=2), deadline=now - timedelta(hours=1)
    )
    Case.objects.filter(id=warned.id).update(
        warning_at=now - timedelta(minutes=1), deadline=now + timedelta(hours=1)
    )
    Case.objects.filter(id=fresh.id).update(
        warning_at=now + timedelta(hours=1), deadline=now + timedelta(hours=2)
    )
    assert sla_sweep.delay().get(timeout=120) == {"yellow": 1, "red": 1, "escalated": 1}
    lights = dict(Case.objects.values_list("id", "light"))
    assert lights == {overdue.id: Light.RED, warned.id: Light.YELLOW, fresh.id: Light.GREEN}
    assert Case.objects.get(id=overdue.id).supervised
    assert events(overdue)["sla_red"] == events(overdue)["auto_supervise"] == 1
    assert events(warned)["sla_yellow"] == 1
    # The dispatcher of the street centre is told, in the app.
    assert Notification.objects.filter(
        case=overdue, kind="sla_red", user=user("jianwai_dispatcher")
    ).exists()
    # Again: nothing left to do, nothing written twice.
    assert sla_sweep.delay().get(timeout=120) == {"yellow": 0, "red": 0, "escalated": 0}
    assert CaseEvent.objects.filter(action__startswith="sla_").count() == 2
