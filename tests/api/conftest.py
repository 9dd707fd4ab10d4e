"""Fixtures for the schemathesis run: committed demo data, cases in various states, tokens."""

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import time_machine
from pytest_django.fixtures import Settings
from rest_framework.authtoken.models import Token
from schemathesis.transport.wsgi import WSGITransport

from cases.models import Case, Status
from chaoyang.demo import demo_password
from tests.api.fuzz import ANONYMOUS, ROLES, App, Targets
from tests.factories import GRID1, HOME, Setup, drive, outside_case, seed_demo

S = Status
NEIGHBOUR = "110101"  # 东城区: in the territory, outside the home district
MISSING_CODE = "110105999999"
FROZEN_AT = "2026-03-02 10:00 +0800"  # a Monday, a working day


@pytest.fixture
def media(settings: Settings, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def frozen_clock() -> Iterator[None]:
    """One instant for the whole run, a working-day morning: responses carry timestamps
    (created_at, deadlines, `now`) that schemathesis reuses in later requests, so with a
    moving clock two runs drift apart; frozen, they send the same requests."""
    with time_machine.travel(FROZEN_AT, tick=False):
        yield


@pytest.fixture
def fuzz_world(frozen_clock: None, territory: None, media: None) -> tuple[Targets, dict[str, str]]:
    """The demo, committed (the engine's thread reads it on its own connection), cases in
    various states and a token per signed-in role. The test's flush removes all of it."""
    demo = seed_demo()
    cases: list[Case] = [
        drive(demo, S.REPORTED),
        drive(demo, S.VERIFYING, Setup(citizen=True)),
        drive(demo, S.OPEN),
        drive(demo, S.DISPATCHED),
        drive(demo, S.ACCEPTED, Setup(pending="extension")),
        drive(demo, S.DONE),  # has photos: attachments in the detail and the events
        drive(demo, S.CLOSED),
        drive(demo, S.VOID),
        drive(demo, S.ESCALATED, Setup(district=True)),
        drive(demo, S.ACCEPTED, Setup(district=True, supervised=True)),
        drive(demo, S.OPEN, street="wangjing"),  # outside every jianwai role's area
        outside_case(demo),
    ]
    ids = [c.id for c in cases]
    wangjing_grid = cases[-2].grid
    assert wangjing_grid is not None
    targets = Targets(
        case_ids=[*ids, max(ids) + 1000],
        region_codes=[
            HOME,
            GRID1[:9],
            GRID1[:12],
            GRID1,
            wangjing_grid.code,
            NEIGHBOUR,
            MISSING_CODE,
        ],
        category=demo.category,
        point=demo.points["jianwai"],
        credentials=[(r, demo_password()) for r in ROLES if r != ANONYMOUS],
    )
    tokens = {
        role: Token.objects.get_or_create(user=demo.user(role))[0].key
        for role in ROLES
        if role != ANONYMOUS
    }
    return targets, tokens


@pytest.fixture
def app() -> Iterator[App]:
    wsgi = App()
    try:
        yield wsgi
    finally:
        wsgi.close_connections()


@pytest.fixture
def wsgi_probe_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    """Work around schemathesis 4.32.5: the ignored_auth check re-sends a request through the
    WSGI transport with the engine's network options (max_redirects, verify, cert, proxies),
    which werkzeug's test client rejects (TypeError), so the check errors instead of running.
    The transport drops them itself when it is handed a requests session; do the same here."""
    send = WSGITransport.send

    def patched(self: WSGITransport, case: Any, *, session: Any = None, **kwargs: Any) -> Any:
        if not isinstance(session, requests.Session):
            for name in ("max_redirects", "verify", "cert", "proxies"):
                kwargs.pop(name, None)
        return send(self, case, session=session, **kwargs)

    monkeypatch.setattr(WSGITransport, "send", patched)
