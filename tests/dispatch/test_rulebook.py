"""The transition table is the whole rulebook: a new action cannot be half-added.

The first test walks the table and fails when an action lacks anything it must declare
(label, states, roles, effect, event kind, clock, photo kind, recipients, input handling,
page wording). The second performs every action once through the real service and checks
that it wrote the event kind the table declares, with that kind's payload.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from cases.events import WRITERS, EventKind
from cases.models import Attachment, CaseEvent, Status
from dispatch.api.inputs import INPUT_TYPES
from dispatch.services.transitions import REQUIRED_MESSAGES
from dispatch.workflow import (
    BY_ACTION,
    FIELD_CHOICES,
    STAGE_OF,
    TRANSITIONS,
    Clock,
    Field,
    Recipients,
    Transition,
    VerifyResult,
)
from tests.factories import (
    Demo,
    act,
    allowed_users,
    drive,
    feasible,
    first_setup,
    seed_demo,
)

pytestmark = pytest.mark.django_db
FINAL = {Status.CLOSED, Status.VOID, Status.MERGED}


@pytest.mark.parametrize("t", TRANSITIONS, ids=lambda t: t.action)
def test_every_action_declares_everything_it_means(t: Transition) -> None:
    assert str(t.label) and t.sources and t.roles and callable(t.effect)
    assert t.event in WRITERS, "no writer for its event kind"
    assert not (t.required & t.optional), "an input both required and optional"
    # Photos: taken exactly when the action says what kind they are.
    assert (Field.PHOTOS in t.inputs) == (t.photo_kind is not None)
    if t.photo_kind is not None:
        assert t.photo_kind in Attachment.Kind.values
    # Every input can be asked for (API type, a message when missing, choices when fixed).
    for f in t.inputs:
        assert f in INPUT_TYPES and f in REQUIRED_MESSAGES
    # The clock: stop only into parking, resume only out of it, extend only in place.
    if t.clock is Clock.PAUSE:
        assert t.target is Status.PARKED
    if t.clock is Clock.RESUME:
        assert t.sources == {Status.PARKED} and t.target in STAGE_OF
    if t.clock is Clock.EXTEND:
        assert t.target is None
    # Every status an action can lead to is final, parked, or has a running clock.
    for target in {t.target, *t.targets_by_result.values()} - {None}:
        assert target in FINAL or target is Status.PARKED or target in STAGE_OF, target
    # A branch on the result only where the result is an input, and only on its values.
    if t.targets_by_result:
        assert Field.RESULT in t.required
        assert set(t.targets_by_result) <= {v for v, _label in FIELD_CHOICES[Field.RESULT]}
    assert t.notify in Recipients
    # Undoing someone's work, or ending a case, asks first.
    ends_work = t.target in {Status.VOID, Status.MERGED, Status.RETURNED} or (
        t.target is Status.ACCEPTED and Status.DONE in t.sources
    )
    if ends_work:
        assert t.confirm, "an action that undoes work or ends a case must ask first"
    if Field.NOTE in t.required and t.confirm:
        assert t.note_label, "a reason asked for before a confirmation needs its name"


def test_every_event_kind_has_its_writer_and_no_more() -> None:
    assert set(WRITERS) == set(EventKind)
    for kind, writer in WRITERS.items():
        assert writer.__module__ == "cases.events"
        assert kind.label


def test_every_status_but_the_end_ones_can_be_left() -> None:
    for status in Status:
        leaving = [t for t in TRANSITIONS if status in t.sources and t.target != status]
        assert leaving or status in FINAL, f"no way out of {status}"


# --- every action writes its declared kind --------------------------------------------------


@pytest.fixture
def demo(territory: None, settings: Any, tmp_path: Path) -> Demo:
    settings.MEDIA_ROOT = str(tmp_path)
    return seed_demo()


def _performable(t: Transition) -> tuple[Status, Any]:
    """A status and a setup (both levels tried) from which the action is allowed."""
    for status in sorted(t.sources):
        for district in (False, True):
            setup = first_setup(t, status, district=district)
            if setup is not None and feasible(status, setup):
                return status, setup
    raise AssertionError(f"no way to reach a state where {t.action} is allowed")


PAYLOAD = {  # what each kind carries beside the deadline
    EventKind.VERIFIED: {"result"},
    EventKind.MERGED: {"merged_into"},
    EventKind.DISPATCHED: {"department_id", "department"},
    EventKind.EXTENSION_REQUESTED: {"requested_deadline"},
    EventKind.CALLED_BACK: {"satisfaction"},
}


@pytest.mark.parametrize("action", sorted(BY_ACTION))
def test_every_action_writes_the_event_kind_it_declares(demo: Demo, action: str) -> None:
    t = BY_ACTION[action]
    status, setup = _performable(t)
    case = drive(demo, status, setup)
    username = sorted(allowed_users(demo, t, case))[0]
    before = set(CaseEvent.objects.filter(case=case).values_list("id", flat=True))
    after = act(demo, case, action, username)
    written = CaseEvent.objects.filter(case=case).exclude(id__in=before)
    assert [e.action for e in written] == [t.event]
    event = written.get()
    assert set(event.data) - {"deadline"} == PAYLOAD.get(t.event, set()), event.data
    assert (event.from_status, event.to_status) == (status, after.status)
    assert event.actor is not None and event.actor.username == username


def test_verify_not_found_sends_the_case_back_to_the_centre(demo: Demo) -> None:
    """A grid worker who cannot find the problem says so; the case goes back to the shift
    lead, who voids it or sends it to be verified again."""
    from dispatch.models import Notification
    from tests.factories import Setup

    case = drive(demo, Status.VERIFYING, Setup(citizen=True))
    case = act(
        demo, case, "verify", "jianwai_grid1", result=VerifyResult.NOT_FOUND, note="现场无垃圾"
    )
    assert case.status == Status.UNCONFIRMED
    event = CaseEvent.objects.filter(case=case).latest("id")
    assert (event.action, event.data["result"], event.note) == (
        "verify",
        "not_found",
        "现场无垃圾",
    )
    told = set(
        Notification.objects.filter(case=case, kind="verify").values_list(
            "user__username", flat=True
        )
    )
    assert told == {"jianwai_lead"}
    # The clock runs on the centre's decision (the open stage), not on the worker.
    assert case.deadline is not None and case.deadline > timezone.now() - timedelta(minutes=1)
    again = act(demo, case, "request_verify", "jianwai_operator")
    assert again.status == Status.VERIFYING
    gone = act(
        demo,
        act(demo, again, "verify", "jianwai_grid1", result="not_found"),
        "void",
        "jianwai_lead",
        note="核实未发现问题",
    )
    assert gone.status == Status.VOID
