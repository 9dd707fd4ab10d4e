"""A queue's badge counts exactly the cases its list shows: the centre page's counts, the
API's /queues/, the page's queue lists and the API's ?queue= filter read one definition."""

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from cases.models import Status
from dispatch.queues import DISTRICT_QUEUES, STREET_QUEUES
from tests.factories import Demo, Setup, drive, seed_demo

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(territory: None, settings: Any, tmp_path: Path) -> Demo:
    settings.MEDIA_ROOT = str(tmp_path)
    demo = seed_demo()
    # A spread of states at both levels: returned and requesting cases the district handles
    # must not show in the street's badges (they used to).
    for status, setup in [
        (Status.REPORTED, Setup()),
        (Status.VERIFYING, Setup(citizen=True)),
        (Status.UNCONFIRMED, Setup(citizen=True)),
        (Status.OPEN, Setup()),
        (Status.RETURNED, Setup()),
        (Status.RETURNED, Setup(district=True)),
        (Status.ACCEPTED, Setup(pending="extension")),
        (Status.ACCEPTED, Setup(district=True, pending="park")),
        (Status.DONE, Setup(supervised=True)),
        (Status.ESCALATED, Setup(district=True)),
    ]:
        drive(demo, status, setup)
    return demo


def _api(user: User) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.mark.parametrize(
    ("username", "queues"), [("jianwai_lead", STREET_QUEUES), ("district_leader", DISTRICT_QUEUES)]
)
def test_every_badge_counts_what_its_list_shows(demo: Demo, username: str, queues: Any) -> None:
    user = demo.user(username)
    api = _api(user)
    answer = api.get("/api/v1/cases/queues/").json()
    assert [q["key"] for q in answer["queues"]] == [q.key for q in queues]
    page = Client()
    page.force_login(user)
    page_counts = page.get("/centre/counts/").json()
    shown_somewhere = 0
    for q in answer["queues"]:
        listed = api.get("/api/v1/cases/", {"queue": q["key"]}).json()
        assert listed["count"] == q["count"] == page_counts[q["key"]], q["key"]
        html = page.get(f"/centre/queues/{q['key']}/").content.decode()
        numbers = set(re.findall(r"110105-\d{8}-\d{5}", html))
        assert len(numbers) == q["count"], (q["key"], numbers)
        shown_somewhere += q["count"]
    assert shown_somewhere > 0
    assert answer["total"] == page_counts["total"]


def test_the_street_badges_leave_out_what_the_district_handles(demo: Demo) -> None:
    counts = {
        q["key"]: q["count"]
        for q in _api(demo.user("jianwai_lead")).get("/api/v1/cases/queues/").json()["queues"]
    }
    assert counts["returned"] == 1 and counts["requests"] == 1
    assert counts["unconfirmed"] == 1


def test_no_centre_no_queues(demo: Demo) -> None:
    answer = _api(demo.user("jianwai_grid1")).get("/api/v1/cases/queues/").json()
    assert answer == {"centre": None, "total": 0, "queues": []}
    listed = _api(demo.user("jianwai_grid1")).get("/api/v1/cases/", {"queue": "new"}).json()
    assert listed["count"] == 0
