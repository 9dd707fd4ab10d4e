"""summarize, the pure function: one case's hand-built log → its summary and stage rounds."""

from datetime import timedelta
from typing import Any

import pytest

from cases import events
from cases.models import Case, Source, Status
from core.roles import Role
from evaluation.summary import Round, summarize
from tests.evaluation.logs import (
    History,
    World,
    accept,
    check_fail,
    check_pass,
    close,
    dispatch,
    done,
    local,
    make_world,
    open_,
    through,
)

pytestmark = pytest.mark.django_db
S = Status
T0 = local(2026, 3, 2)  # a Monday, 09:00


@pytest.fixture
def w(territory: None) -> World:
    return make_world()


def run(h: History) -> tuple[dict[str, Any], list[Round]]:
    done_ = summarize(Case.objects.get(id=h.case_id), h.events)
    return done_.values, done_.rounds


def test_a_loop_on_time_records_every_stage_and_closes_on_time(w: World) -> None:
    h = through(w, w.case(reported=T0))
    v, rounds = run(h)
    assert [r.stage for r in rounds] == ["open", "dispatch", "accept", "handle", "check", "close"]
    assert all(r.on_time and r.ended_at is not None for r in rounds)
    assert v["reported_at"] == T0
    assert v["opened_at"] == T0 + timedelta(hours=1)
    assert v["dispatched_at"] == T0 + timedelta(hours=2)
    assert v["closed_at"] == T0 + timedelta(hours=6)
    assert v["status"] == S.CLOSED and v["closed_on_time"]
    assert v["close_due_at"] == v["closed_at"]  # it fell due when it closed
    assert v["opened_by_id"] == w.user("lead").id
    assert v["closed_by_id"] == w.user("lead").id
    assert v["handle_met"] is True and v["handle_deadline"] == T0 + timedelta(hours=7)
    assert rounds[2].department_id == w.departments["sanitation"].id
    assert rounds[0].department_id is None  # before the dispatch no department holds it
    assert v["reporter_role"] == Role.GRID_WORKER


def test_a_late_handling_falls_due_at_its_deadline_and_is_not_closed_on_time(w: World) -> None:
    h = accept(w, dispatch(w, open_(w, w.case(reported=T0))))
    h = done(w, h, hours=5)  # the handle stage has 4 hours
    h = close(w, check_pass(w, h))
    v, rounds = run(h)
    handle = next(r for r in rounds if r.stage == "handle")
    assert not handle.on_time
    assert handle.due_at == handle.deadline == T0 + timedelta(hours=7)
    assert v["handle_met"] is False
    assert v["close_due_at"] == handle.deadline
    assert not v["closed_on_time"]


def test_a_running_case_falls_due_when_its_deadline_passes(w: World) -> None:
    h = accept(w, dispatch(w, open_(w, w.case(reported=T0))))
    v, rounds = run(h)
    assert rounds[-1].ended_at is None and not rounds[-1].on_time
    assert v["close_due_at"] == rounds[-1].deadline == T0 + timedelta(hours=7)
    assert v["handle_met"] is None


def test_rework_starts_handle_afresh_and_marks_the_failed_round(w: World) -> None:
    h = done(w, accept(w, dispatch(w, open_(w, w.case(reported=T0)))))
    h = close(w, check_pass(w, done(w, check_fail(w, h))))
    v, rounds = run(h)
    handles = [r for r in rounds if r.stage == "handle"]
    checks = [r for r in rounds if r.stage == "check"]
    assert len(handles) == 2 and len(checks) == 2
    assert handles[0].undone_by == "check_fail" and handles[1].undone_by == ""
    assert handles[1].start_action == "check_fail"
    assert checks[0].end_action == "check_fail" and checks[0].ended_by_id == w.user("worker").id
    assert v["rework_count"] == 1 and v["closed_on_time"]


def test_a_return_marks_the_dispatch_undone_and_ends_the_assignment(w: World) -> None:
    h = accept(w, dispatch(w, open_(w, w.case(reported=T0)), dept="enforcement"))
    h.go(events.returned, S.RETURNED, actor=w.user("handler"), role=Role.HANDLER)
    h = done(w, accept(w, dispatch(w, h, dept="sanitation")))
    v, rounds = run(h)
    accepts = [r for r in rounds if r.stage == "accept"]
    assert [a.undone_by for a in accepts] == ["return", ""]
    assert accepts[0].department_id == w.departments["enforcement"].id
    assert accepts[1].department_id == w.departments["sanitation"].id
    returned_round = next(r for r in rounds if r.end_action == "return")
    assert returned_round.stage == "handle"
    # The returned case waits at the centre with no department.
    assert next(r for r in rounds if r.start_action == "return").department_id is None
    assert v["return_count"] == 1 and v["dispatch_count"] == 2


def test_an_approved_extension_moves_the_deadline_the_round_is_judged_by(w: World) -> None:
    h = accept(w, dispatch(w, open_(w, w.case(reported=T0))))
    later = h.now + timedelta(hours=10)
    h.go(
        events.extension_requested,
        actor=w.user("handler"),
        role=Role.HANDLER,
        requested_deadline=later,
    )
    h.go(events.extension_approved, deadline=later, actor=w.user("dispatcher"))
    h = done(w, h, hours=6)  # past the first deadline, before the new one
    v, rounds = run(h)
    handle = rounds[-2]
    assert handle.stage == "handle" and handle.deadline == later
    assert handle.on_time and handle.extensions == 1
    assert v["extension_count"] == 1


def test_parking_stops_the_clock_and_unparking_restores_a_deadline(w: World) -> None:
    h = accept(w, dispatch(w, open_(w, w.case(reported=T0))))
    h.go(events.park_requested, actor=w.user("handler"))
    h.go(events.park_approved, S.PARKED, actor=w.user("dispatcher"))
    _v, parked_rounds = run(h)
    assert parked_rounds[-1].deadline is None and parked_rounds[-1].due_at is None
    h.go(events.unparked, S.ACCEPTED, hours=48, deadline=h.now + timedelta(hours=50))
    h = done(w, h)
    v, rounds = run(h)
    handle = next(r for r in rounds if r.stage == "handle")
    # One round across the parking: 50 h after the parking began it is still on time.
    assert handle.parks == 1 and handle.on_time
    assert [r.stage for r in rounds].count("handle") == 1
    assert v["park_count"] == 1


def test_a_void_after_opening_never_falls_due(w: World) -> None:
    h = open_(w, w.case(reported=T0))
    h.go(events.voided, S.VOID, actor=w.user("lead"))
    v, rounds = run(h)
    assert v["voided_at"] == T0 + timedelta(hours=2)
    assert v["opened_at"] is not None and v["close_due_at"] is None
    assert rounds[-1].end_action == "void"


def test_a_merged_case_ends_and_its_target_ignores_the_note(w: World) -> None:
    a = w.case(reported=T0)
    b = w.case(reported=T0)
    a.go(events.merged, S.MERGED, actor=w.user("operator"), merged_into="T-target")
    b.go(events.merged_from, deadline=None, case_id=a.case_id)
    va, ra = run(a)
    assert va["status"] == S.MERGED and va["merged_at"] == T0 + timedelta(hours=1)
    assert ra[0].end_action == "merge" and va["close_due_at"] is None
    vb, rb = run(b)
    assert vb["status"] == S.REPORTED
    # merged_from changes nothing on the target but the last event it reflects.
    assert len(rb) == 1 and rb[0].ended_at is None and rb[0].deadline is not None


def test_a_reopened_case_is_closed_only_by_its_new_closing(w: World) -> None:
    h = through(w, w.case(reported=T0))
    h.go(events.reopened, S.OPEN, actor=w.user("lead"))
    v, _rounds = run(h)
    assert v["closed_at"] is None and v["reopen_count"] == 1 and v["status"] == S.OPEN
    assert not v["closed_on_time"]
    h = close(w, check_pass(w, done(w, accept(w, dispatch(w, h)))))
    v, rounds = run(h)
    assert v["closed_at"] == h.now and v["closed_on_time"]
    assert [r.stage for r in rounds].count("dispatch") == 2


def test_escalation_moves_the_case_to_the_district(w: World) -> None:
    h = open_(w, w.case(reported=T0))
    h.go(events.escalated, S.ESCALATED, actor=w.user("dispatcher"), role=Role.DISPATCHER)
    v, rounds = run(h)
    assert v["handling_level"] == "district" and v["escalation_count"] == 1
    assert [r.end_action for r in rounds if r.stage == "dispatch"] == ["escalate", ""]


def test_a_public_report_is_verified_first_and_rated_at_its_callback(w: World) -> None:
    h = w.case(Source.HOTLINE, reporter="operator", reported=T0, role=Role.INTAKE_OPERATOR)
    h.go(events.verified, S.VERIFIED, actor=w.user("worker"), role=Role.GRID_WORKER, result="ok")
    h = through(w, h)
    h.go(events.called_back, actor=w.user("operator"), satisfaction="basically")
    v, rounds = run(h)
    assert rounds[0].stage == "verify" and rounds[0].seq == 0 and rounds[0].on_time
    assert v["verified_by_id"] == w.user("worker").id and v["verify_met"] is True
    assert v["satisfaction"] == "basically" and v["called_back_at"] == h.now
    assert v["status"] == S.CLOSED


def test_the_clock_events_move_nothing(w: World) -> None:
    h = accept(w, dispatch(w, open_(w, w.case(reported=T0))))
    before, rounds_before = run(h)
    h.go(events.sla_yellow, deadline=None)
    h.go(events.sla_red, deadline=None)
    h.go(events.auto_supervised, deadline=None)
    for i, e in enumerate(h.events):
        e.id = i + 1
    after, rounds_after = run(h)
    assert rounds_after == rounds_before
    assert {k: x for k, x in after.items() if k != "last_event_id"} == {
        k: x for k, x in before.items() if k != "last_event_id"
    }
    assert after["last_event_id"] == len(h.events)
