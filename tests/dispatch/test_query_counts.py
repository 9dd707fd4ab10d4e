"""How many queries the busiest paths run, pinned (as Zulip keeps them).

Each figure below is exact: a change that adds a query fails here and must either remove it
or update the figure on purpose, in the same commit, saying why. The lists are also run
twice, with more rows the second time, and must not run one query more: a query per row
(an N+1) fails even where the pinned figure was updated.

Counted with Django's CaptureQueriesContext, so only queries that go through Django count;
savepoints are not queries for this purpose and are left out.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from cases.models import Case, Status
from core.roles import Role
from dispatch.services.transitions import case_act
from dispatch.workflow import TRANSITIONS
from tests.factories import (
    Demo,
    Setup,
    act,
    allowed_users,
    drive,
    first_setup,
    inputs_for,
    path_to,
    seed_demo,
    tiny_jpeg,
)

pytestmark = pytest.mark.django_db

# Queries of one action through case_act, by action (service level: no HTTP, no session).
ACTION_QUERIES = {
    "verify": 7,
    "open": 5,
    "void": 5,
    "merge": 10,
    "escalate": 7,
    "dispatch": 11,
    "accept": 6,
    "return": 8,
    "request_extension": 8,
    "approve_extension": 6,
    "reject_extension": 6,
    "request_park": 8,
    "approve_park": 6,
    "reject_park": 6,
    "unpark": 6,
    "report_done": 9,
    "check_pass": 9,
    "check_fail": 7,
    "close": 7,
    "callback": 5,
    "reopen": 5,
    "supervise": 5,
    "request_verify": 7,
    "unsupervise": 5,
}
# Queries of one HTTP request, by path (with the session and user lookups of a page).
PAGE_QUERIES = {
    "intake": 13,
    "case_list": 5,
    "centre_page": 8,
    "centre_queue": 6,
    "centre_panel": 12,
    "field_tasks": 11,
    "field_case": 9,
    "inbox": 5,
}


@contextmanager
def counted() -> Iterator[Callable[[], list[str]]]:
    """The SQL run inside the block, savepoints left out."""
    with CaptureQueriesContext(connection) as ctx:
        yield lambda: [
            q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"].upper()
        ]


def explain(sql: list[str]) -> str:
    return "\n".join(f"{i + 1:3}. {s[:200]}" for i, s in enumerate(sql))


@pytest.fixture
def demo(territory: None, settings: Any, tmp_path: Path) -> Demo:
    settings.MEDIA_ROOT = str(tmp_path)
    return seed_demo()


def source_and_setup(action: str) -> tuple[Status, Setup]:
    """The simplest state and setup from which the action is allowed."""
    t = next(t for t in TRANSITIONS if t.action == action)
    for status in sorted(t.sources, key=lambda s: len(path_to(s, Setup()))):
        for district in (False, True):
            setup = first_setup(t, status, district=district)
            if setup is not None:
                return status, setup
    raise AssertionError(f"no state from which {action} can be tried")


def test_every_action_is_counted() -> None:
    assert set(ACTION_QUERIES) == {t.action for t in TRANSITIONS}


@pytest.mark.parametrize("action", sorted({t.action for t in TRANSITIONS}))
def test_queries_of_each_action(demo: Demo, action: str) -> None:
    status, setup = source_and_setup(action)
    case = drive(demo, status, setup)
    t = next(t for t in TRANSITIONS if t.action == action and status in t.sources)
    username = sorted(allowed_users(demo, t, case))[0]
    data = inputs_for(demo, t, case)
    user = demo.user(username)
    with counted() as sql:
        case_act(case_id=case.id, user=user, action=action, data=data)
    ran = sql()
    assert len(ran) == ACTION_QUERIES[action], explain(ran)


def _cases(demo: Demo, n: int) -> None:
    """n cases in each state a list shows, in jianwai grid 1."""
    for _ in range(n):
        for status, setup in [
            (Status.REPORTED, Setup()),
            (Status.VERIFYING, Setup(citizen=True)),
            (Status.OPEN, Setup()),
            (Status.DISPATCHED, Setup()),
            (Status.ACCEPTED, Setup(pending="extension")),
            (Status.DONE, Setup(supervised=True)),
        ]:
            drive(demo, status, setup)


def _page(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _handler(demo: Demo) -> str:
    dept = demo.departments[("110105001", "enforcement")]
    return next(
        a.username for a in demo.accounts if a.role == Role.HANDLER and a.department_id == dept
    )


def test_queries_of_intake(demo: Demo) -> None:
    lng, lat = demo.points["jianwai"]
    api = APIClient()
    api.force_authenticate(demo.user("jianwai_grid1"))

    def body() -> dict[str, Any]:
        return {
            "category": demo.category,
            "description": "网格员上报:暴露垃圾",
            "source": "grid_worker",
            "lng": lng,
            "lat": lat,
            "photos": [SimpleUploadedFile("a.jpg", tiny_jpeg(), content_type="image/jpeg")],
        }

    api.post("/api/v1/cases/", body(), format="multipart")  # warm the reference caches
    with counted() as sql:
        answer = api.post("/api/v1/cases/", body(), format="multipart", HTTP_IDEMPOTENCY_KEY="q-1")
    assert answer.status_code == 201, answer.content
    assert len(sql()) == PAGE_QUERIES["intake"], explain(sql())


LISTS: dict[str, tuple[Callable[[Demo], str], str]] = {
    "case_list": (lambda d: "jianwai_lead", "/api/v1/cases/?page_size=100"),
    "centre_page": (lambda d: "jianwai_lead", "/centre/"),
    "centre_queue": (lambda d: "jianwai_lead", "/centre/queues/to_dispatch/"),
    "field_tasks": (lambda d: "jianwai_grid1", "/field/tasks/"),
    "inbox": (_handler, "/field/inbox/"),
}


@pytest.mark.parametrize("name", sorted(LISTS))
def test_queries_of_a_list_do_not_grow_with_its_rows(demo: Demo, name: str) -> None:
    who, url = LISTS[name]
    client = _page(demo.user(who(demo)))
    _cases(demo, 1)
    client.get(url)  # warm the reference caches, as a running server has them
    with counted() as few:
        first = client.get(url)
    assert first.status_code == 200
    _cases(demo, 2)
    with counted() as more:
        second = client.get(url)
    assert second.status_code == 200
    assert len(second.content) > len(first.content)  # the added rows are on the list
    assert len(more()) == len(few()), "a query per row:\n" + explain(more())
    assert len(few()) == PAGE_QUERIES[name], explain(few())


def _busy_case(demo: Demo, steps: int) -> Case:
    """A case that went through `steps` extension requests and answers: many events."""
    case = drive(demo, Status.ACCEPTED, Setup())
    for _ in range(steps):
        case = act(demo, case, "request_extension")
        case = act(demo, case, "approve_extension")
    return case


@pytest.mark.parametrize(
    ("name", "url", "who"),
    [
        ("centre_panel", "/centre/cases/{id}/", "jianwai_lead"),
        ("field_case", "/field/cases/{id}/", "jianwai_lead"),
    ],
)
def test_queries_of_a_case_page_do_not_grow_with_its_history(
    demo: Demo, name: str, url: str, who: str
) -> None:
    client = _page(demo.user(who))
    short, long = _busy_case(demo, 0), _busy_case(demo, 3)
    client.get(url.format(id=short.id))  # warm the reference caches
    with counted() as few:
        assert client.get(url.format(id=short.id)).status_code == 200
    with counted() as more:
        assert client.get(url.format(id=long.id)).status_code == 200
    assert len(more()) == len(few()), "a query per event:\n" + explain(more())
    assert len(few()) == PAGE_QUERIES[name], explain(few())


def test_photos_do_not_add_queries_to_a_case_page(demo: Demo) -> None:
    """A case page shows its photos from one query, however many there are."""
    client = _page(demo.user("jianwai_lead"))
    plain = drive(demo, Status.ACCEPTED, Setup())
    pictured = drive(demo, Status.ACCEPTED, Setup())
    for _ in range(2):
        pictured = act(demo, pictured, "request_extension")
        pictured = act(demo, pictured, "approve_extension")
    done = act(demo, pictured, "report_done", photos=[tiny_jpeg(), tiny_jpeg((0, 0, 200))])
    assert done.status == Status.DONE
    plain = act(demo, plain, "request_extension")
    plain = act(demo, plain, "approve_extension")
    plain = act(demo, plain, "request_extension")
    plain = act(demo, plain, "approve_extension")
    plain = act(demo, plain, "report_done", photos=[tiny_jpeg()])
    client.get(f"/centre/cases/{plain.id}/")
    with counted() as one:
        client.get(f"/centre/cases/{plain.id}/")
    with counted() as two:
        client.get(f"/centre/cases/{done.id}/")
    assert len(two()) == len(one()), explain(two())
