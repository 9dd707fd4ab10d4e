"""Base-database pages in a real browser: the reveal dialog (reason, clear value and its
birth date in place, one audit row) and the grid profile's charts and building map."""

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from population.models import RevealAudit
from tests.factories import demo_grids, organisation_in, person_in, run_seed_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "chaoyang2026"


def _login(page: Page, live_server: Any, username: str, next_url: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(next_url)))


@pytest.fixture
def world(territory: None) -> dict[str, Any]:
    run_seed_demo()
    grids = demo_grids()
    placed = person_in(grids["grid1"], name="浏览器居民", born="19600303", phone="13698765432")
    person_in(grids["grid1"], name="第二居民", born="19951111", use="rented")
    organisation_in(grids["grid1"], name="浏览器商店")
    return {"grids": grids, "placed": placed}


def test_reveal_dialog_asks_a_reason_and_shows_the_number(
    live_server: Any, page: Page, world: dict[str, Any]
) -> None:
    placed = world["placed"]
    url = f"/population/persons/{placed.person.pk}/"
    _login(page, live_server, "data_admin", url)
    value = page.locator("#value-id_number")
    expect(value).to_have_text(placed.person.id_number_masked)
    # The age until the number is revealed; the birth date only with it.
    born = page.locator("#value-birth_date")
    expect(born).to_be_hidden()
    expect(page.get_by_text(f"{placed.person.age} 岁")).to_be_visible()

    page.get_by_role("button", name="查看完整身份证号").click()
    dialog = page.get_by_role("dialog", name="查看完整身份证号")
    expect(dialog).to_be_visible()
    reason = dialog.get_by_label("查看原因")
    expect(reason).to_be_focused()
    # Too short: the browser refuses before anything is sent (minlength), nothing audited.
    reason.fill("看看")
    dialog.get_by_role("button", name="确认查看").click()
    expect(dialog).to_be_visible()
    assert RevealAudit.objects.count() == 0

    reason.fill("入户核实户籍信息")
    dialog.get_by_role("button", name="确认查看").click()
    expect(dialog).to_be_hidden()
    expect(value).to_have_text(placed.number)
    expect(value).to_be_focused()
    expect(born).to_have_text("1960-03-03")
    expect(born).to_be_visible()
    audit = RevealAudit.objects.get()
    assert (audit.user.username, audit.field, audit.reason) == (
        "data_admin",
        "id_number",
        "入户核实户籍信息",
    )

    # Escape closes the phone dialog without revealing anything.
    page.get_by_role("button", name="查看完整电话").click()
    page.keyboard.press("Escape")
    expect(page.locator("#value-phone")).to_have_text("136****5432")
    assert RevealAudit.objects.count() == 1


def test_profile_draws_charts_and_the_building_map(
    live_server: Any, page: Page, world: dict[str, Any]
) -> None:
    code = world["grids"]["grid1"]
    url = f"/population/profile/{code}/"
    _login(page, live_server, "jianwai_grid1", url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("网格画像")
    # ECharts draws into a canvas inside each chart box.
    for chart in ("#age-pyramid", "#housing-chart", "#org-chart"):
        expect(page.locator(f"{chart} canvas")).to_have_count(1)
    # Leaflet: the outline and one marker per building (two buildings here).
    expect(page.locator("#profile-map .leaflet-interactive")).to_have_count(2)
    page.locator("#profile-map .leaflet-interactive").first.click(force=True)
    expect(page.locator(".leaflet-popup-content")).to_contain_text("房屋套数")
    expect(page.locator("#profile-map-status")).to_have_text("")
