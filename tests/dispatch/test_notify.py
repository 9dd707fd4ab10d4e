"""Notifications: who is told what, in-app rows with the change, external senders after
commit, and delivery by a real Celery worker."""

import io
import json
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone
from PIL import Image
from pytest_django.fixtures import Settings

from cases.models import Case
from dispatch.models import Notification
from dispatch.services import notify, sla
from dispatch.services.intake import IntakeInput, case_intake
from grids.models import Region
from tests.factories import GRID1, act_as, hw, module_demo, user
from tests.factories import committed_demo as committed_demo_fixture

pytestmark = pytest.mark.django_db

SENDER = "tests.dispatch.test_notify.RecordingSender"
# The worker process reads NOTIFY_SENDERS from its environment when it starts, which is
# after collection; the test process's own settings are loaded already and stay as they are.
os.environ["NOTIFY_SENDERS"] = f"dispatch.services.notify.EmailSender,{SENDER}"


def outbox() -> Path:
    """One file per test database, so parallel runs and their workers never mix."""
    name = django_settings.DATABASES["default"]["NAME"]
    return Path(tempfile.gettempdir()) / f"chaoyang-notify-{name}.jsonl"


class RecordingSender:
    """A stand-in SMS gateway: remembers what it was given, in memory and in a file that
    the test can read when the sender ran in the worker process."""

    sent: ClassVar[list[tuple[int, str, str]]] = []

    def send(self, notifications: list[Notification]) -> None:
        rows = [(n.id, n.user.username, n.kind) for n in notifications]
        self.sent.extend(rows)
        with outbox().open("a") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)


def delivered() -> list[tuple[int, str, str]]:
    if not outbox().exists():
        return []
    rows = (json.loads(line) for line in outbox().read_text().splitlines())
    return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def wait_for_delivery(ids: set[int], timeout: float = 120.0) -> set[int]:
    """The ids the worker's sender has seen, waiting until all of `ids` are among them."""
    deadline = time.monotonic() + timeout
    while True:
        seen = {row[0] for row in delivered()}
        if ids <= seen or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


committed_demo = committed_demo_fixture()
demo = module_demo()


@pytest.fixture(autouse=True)
def fresh_outbox(settings: Settings, tmp_path: Path) -> Iterator[None]:
    settings.MEDIA_ROOT = tmp_path
    RecordingSender.sent.clear()
    outbox().unlink(missing_ok=True)
    yield
    outbox().unlink(missing_ok=True)


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "grey").save(out, "JPEG")
    return out.getvalue()


def opened_case() -> Case:
    point = Region.objects.get(code=GRID1).boundary.point_on_surface
    data = IntakeInput(
        category="0601", description="暴露垃圾", source="grid_worker", lng=point.x, lat=point.y
    )
    case = case_intake(user=user("jianwai_grid1"), data=data).case
    return act_as(case, "jianwai_lead", "open")


def told(case: Case, kind: str) -> set[str]:
    return set(
        Notification.objects.filter(case=case, kind=kind).values_list("user__username", flat=True)
    )


# ---- who is told -----------------------------------------------------------------------


def test_dispatch_tells_the_departments_handlers(demo: None) -> None:
    case = act_as(opened_case(), "jianwai_dispatcher", "dispatch", department_id=hw().id)
    assert told(case, "dispatch") == {"jianwai_hw"}
    note = Notification.objects.get(case=case, kind="dispatch")
    assert case.number in note.message and note.read_at is None


def test_report_done_tells_the_grid_workers_of_the_cases_grid(demo: None) -> None:
    case = act_as(opened_case(), "jianwai_dispatcher", "dispatch", department_id=hw().id)
    act_as(case, "jianwai_hw", "accept")
    act_as(case, "jianwai_hw", "report_done", note="已清运", photos=[photo()])
    assert told(case, "report_done") == {"jianwai_grid1"}  # not jianwai_grid2: another grid


def test_the_next_actor_in_the_loop_is_told(demo: None) -> None:
    case = act_as(opened_case(), "jianwai_dispatcher", "dispatch", department_id=hw().id)
    act_as(case, "jianwai_hw", "accept")
    act_as(
        case,
        "jianwai_hw",
        "request_extension",
        note="需要吊车",
        deadline=timezone.now() + timedelta(days=3),
    )
    assert told(case, "request_extension") == {"jianwai_dispatcher"}
    act_as(case, "jianwai_dispatcher", "approve_extension")
    act_as(case, "jianwai_hw", "report_done", note="已清运", photos=[photo()])
    act_as(case, "jianwai_grid1", "check_pass", photos=[photo()])
    assert told(case, "check_pass") == {"jianwai_lead"}
    act_as(case, "jianwai_lead", "close")
    assert told(case, "close") == {"jianwai_grid1"}  # the reporter
    assert told(case, "approve_extension") == set()  # the department sees the new deadline


def test_sla_lights_tell_the_centres_dispatchers_and_the_assigned_department(
    demo: None,
) -> None:
    case = act_as(opened_case(), "jianwai_dispatcher", "dispatch", department_id=hw().id)
    assert case.warning_at is not None and case.deadline is not None
    sla.sweep(now=case.warning_at)
    assert told(case, "sla_yellow") == {"jianwai_dispatcher", "jianwai_hw"}
    sla.sweep(now=case.deadline)
    assert told(case, "sla_red") == {"jianwai_dispatcher", "jianwai_hw"}
    assert Notification.objects.filter(case=case, kind="sla_red").count() == 2


def test_an_escalated_case_turning_red_tells_the_district_dispatchers(demo: None) -> None:
    case = act_as(opened_case(), "jianwai_dispatcher", "escalate", note="跨街道")
    assert told(case, "escalate") == {"district_dispatcher"}
    assert case.deadline is not None
    sla.sweep(now=case.deadline)
    assert told(case, "sla_red") == {"district_dispatcher"}


# ---- external senders ------------------------------------------------------------------


@pytest.fixture
def recording(settings: Settings) -> Iterator[None]:
    """The recording sender, with tasks run in this process when a callback sends them."""
    from chaoyang.celery import app

    settings.NOTIFY_SENDERS = [SENDER]
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = eager


def test_external_senders_are_called_after_commit_only(
    demo: None, recording: None, django_capture_on_commit_callbacks: Any
) -> None:
    case = opened_case()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        act_as(case, "jianwai_dispatcher", "dispatch", department_id=hw().id)
    assert RecordingSender.sent == []  # the in-app row exists, nothing left the building yet
    note = Notification.objects.get(case=case, kind="dispatch")
    assert callbacks
    for callback in callbacks:
        callback()  # the commit
    assert RecordingSender.sent == [(note.id, "jianwai_hw", "dispatch")]


def test_a_rolled_back_change_sends_nothing(
    demo: None, recording: None, django_capture_on_commit_callbacks: Any
) -> None:
    case = opened_case()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        act_as(case, "jianwai_dispatcher", "dispatch", department_id=hw().id)
        raise RuntimeError("the request failed after the action")
    assert callbacks == []
    assert RecordingSender.sent == []
    assert not Notification.objects.filter(case=case).exists()


def test_senders_follow_the_setting(demo: None, settings: Settings) -> None:
    settings.NOTIFY_SENDERS = [SENDER]
    assert [type(s).__name__ for s in notify.senders()] == ["RecordingSender"]
    settings.NOTIFY_SENDERS = []
    assert notify.senders() == ()


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_through_the_configured_senders(
    celery_worker_process: object, committed_demo: None
) -> None:
    from dispatch.tasks import sla_sweep

    case = act_as(opened_case(), "jianwai_dispatcher", "dispatch", department_id=hw().id)
    dispatched = Notification.objects.get(case=case, kind="dispatch")
    # Committed: the worker's deliver_notifications task hands it to the senders.
    assert dispatched.id in wait_for_delivery({dispatched.id})
    assert (dispatched.id, "jianwai_hw", "dispatch") in delivered()

    Case.objects.filter(id=case.id).update(
        warning_at=timezone.now() - timedelta(hours=2), deadline=timezone.now() - timedelta(hours=1)
    )
    assert sla_sweep.delay().get(timeout=120)["red"] == 1
    red = set(Notification.objects.filter(case=case, kind="sla_red").values_list("id", flat=True))
    assert len(red) == 2  # the street's dispatcher and the department's handler
    assert red <= wait_for_delivery(red)
    assert {row[1] for row in delivered() if row[0] in red} == {"jianwai_dispatcher", "jianwai_hw"}
    assert len(delivered()) == 3  # each notification delivered once
