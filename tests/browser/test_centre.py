"""The street command centre in a real browser: queues, the case panel, actions, the map,
and changes made elsewhere showing up without a reload.
"""

import re
import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from playwright.sync_api import Page, expect

from cases.models import Case, Status
from dispatch.services.intake import IntakeInput, case_intake
from dispatch.services.transitions import ActionInput, case_act
from tests.browser import ACTION_TIMEOUT_MS, NAVIGATION_TIMEOUT_MS
from tests.factories import run_seed_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "chaoyang2026"  # the demo's password (chaoyang.demo.demo_password)
JIANWAI = "110105001"
# Generous: the page polls every 3 s; this only bounds how long a broken page is waited on.
LIVE_TIMEOUT_MS = ACTION_TIMEOUT_MS


def _point(nth: int) -> tuple[float, float]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(boundary) p FROM grids_region"
            " WHERE level = 4 AND code LIKE %s ORDER BY code OFFSET %s LIMIT 1) s",
            [JIANWAI + "%", nth],
        )
        row = cur.fetchone()
    assert row
    return float(row[0]), float(row[1])


def _report(nth: int) -> Case:
    lng, lat = _point(nth)
    return case_intake(
        user=User.objects.get(username="jianwai_operator"),
        data=IntakeInput(
            category="0601",
            description=f"路口有暴露垃圾 {nth}",
            source="patrol",
            lng=lng,
            lat=lat,
            address=f"建外示例路{nth + 1}号",
        ),
    ).case


def _act(case: Case, username: str, action: str, **data: Any) -> Case:
    case.refresh_from_db()
    return case_act(
        case_id=case.id,
        user=User.objects.get(username=username),
        action=action,
        data=ActionInput(expected_version=case.version, **data),
    )


@pytest.fixture
def cases(territory: None) -> list[Case]:
    run_seed_demo()
    return [_report(n) for n in range(3)]


@pytest.fixture
def centre(live_server: Any, cases: list[Case], page: Page) -> Page:
    """jianwai_lead on /centre/, with the page's first poll done."""
    page.goto(f"{live_server.url}/accounts/login/?next=/centre/")
    page.locator("#id_username").fill("jianwai_lead")
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_response(
        lambda r: "/api/v1/cases/changes/" in r.url, timeout=NAVIGATION_TIMEOUT_MS
    ):
        page.locator("form button[type=submit]").click()
        page.wait_for_url(re.compile(r"/centre/"))
    expect(page.locator("#centre-title")).to_have_text("建外街道指挥中心")
    page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads
    return page


def _open_from_queue(page: Page, queue: str, case: Case) -> None:
    page.locator(f'a.queue-link[data-queue="{queue}"]').click()
    row = page.locator(f'#queue-cases tr[data-case="{case.id}"]')
    expect(row).to_be_visible()
    row.click()
    expect(page.locator("#case-title")).to_have_text(case.number)


def test_queues_panel_and_a_change_made_elsewhere_without_reload(
    centre: Page, cases: list[Case]
) -> None:
    page = centre
    expect(page.locator('.queue-count[data-count="new"]')).to_have_text("3")
    expect(page.locator('.queue-count[data-count="to_dispatch"]')).to_have_text("0")
    _open_from_queue(page, "to_open", cases[0])
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("上报")
    expect(timeline).to_contain_text("建外街道受理员")
    expect(page.locator("#case-panel [data-status]")).to_have_text("待受理")

    # Another person opens the case, through the service, in another connection.
    started = time.monotonic()
    _act(cases[0], "jianwai_lead", "open", note="另一位值班长立案")
    expect(page.locator("#case-panel [data-status]")).to_have_text(
        "已立案", timeout=LIVE_TIMEOUT_MS
    )
    print(f"\nchange shown after {time.monotonic() - started:.2f} s")  # a figure, not a test
    expect(page.locator('.queue-count[data-count="to_dispatch"]')).to_have_text("1")
    expect(page.locator('.queue-count[data-count="new"]')).to_have_text("2")
    expect(page.locator(".timeline")).to_contain_text("另一位值班长立案")
    # The open queue's table followed too: the case left "to open".
    expect(page.locator(f'#queue-cases tr[data-case="{cases[0].id}"]')).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True


def test_acting_from_the_panel_and_a_conflict_message(centre: Page, cases: list[Case]) -> None:
    page = centre
    page.on("dialog", lambda dialog: dialog.accept())
    _open_from_queue(page, "new", cases[1])

    page.locator('.action-btn[data-action="open"]').click()
    form = page.locator(f"#act-{cases[1].id}-open")
    expect(form).to_be_visible()
    form.locator("textarea[name=note]").fill("现场情况属实")
    form.locator("button[type=submit]").click()
    expect(page.locator(".panel-msg-success")).to_contain_text("已完成“立案”")
    expect(page.locator("#case-panel [data-status]")).to_have_text("已立案")
    assert Case.objects.get(id=cases[1].id).status == Status.OPEN
    expect(page.locator('.queue-count[data-count="to_dispatch"]')).to_have_text("1")

    # Start voiding; meanwhile someone else escalates the case.
    page.locator('.action-btn[data-action="void"]').click()
    form = page.locator(f"#act-{cases[1].id}-void")
    form.locator("textarea[name=note]").fill("重复上报")
    _act(cases[1], "jianwai_dispatcher", "escalate", note="需区级协调")
    # The typed note is kept; the page says the case changed instead of replacing the form.
    expect(page.locator("[data-notice]")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(form.locator("textarea[name=note]")).to_have_value("重复上报")
    form.locator("button[type=submit]").click()
    expect(page.locator(".panel-msg-conflict")).to_contain_text("案件已被他人处理")
    expect(page.locator("#case-panel [data-status]")).to_have_text("已上报区级")
    assert Case.objects.get(id=cases[1].id).status == Status.ESCALATED
    assert page.evaluate("window.__sameDocument") is True


def test_clicking_a_case_on_the_map_opens_it(centre: Page, cases: list[Case]) -> None:
    page = centre
    case = cases[2]
    lng, lat = case.location.x, case.location.y  # type: ignore[union-attr]
    with page.expect_response(lambda r: "/centre/tiles/cases/17/" in r.url and r.ok):
        page.evaluate("([lat, lng]) => window.chaoyangMap.setView([lat, lng], 17)", [lat, lng])
    x, y = page.evaluate(
        "([lat, lng]) => { const p = window.chaoyangMap.latLngToContainerPoint([lat, lng]);"
        " return [p.x, p.y]; }",
        [lat, lng],
    )
    page.locator("#map").click(position={"x": x + 3, "y": y})
    expect(page.locator("#case-title")).to_have_text(case.number)
    expect(page).to_have_url(re.compile(rf"case={case.id}"))
