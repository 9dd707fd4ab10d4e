"""The map page in a real browser: log in, drill down by clicking the map, by keyboard, by
searching. Points to click come from PostGIS, names to expect from the database.
"""

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from grids.models import Level, Region
from tests.browser import NAVIGATION_TIMEOUT_MS
from tests.factories import safest_point

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOME = "110105"
PASSWORD = "pw-browser-1"


@pytest.fixture
def map_page(live_server: Any, territory: None, page: Page) -> Page:
    """A logged-in user on /map/, with the district loaded and at least one grid tile drawn."""
    get_user_model().objects.create_user("browser", password=PASSWORD)
    page.goto(f"{live_server.url}/accounts/login/?next=/map/")
    page.locator("#id_username").fill("browser")
    page.locator("#id_password").fill(PASSWORD)
    # The whole district fits at z11, where every grid is drawn: a grid tile must arrive.
    with page.expect_response(
        lambda r: "/tiles/grid/11/" in r.url and r.status == 200, timeout=NAVIGATION_TIMEOUT_MS
    ) as tile:
        page.locator("form button[type=submit]").click()
        page.wait_for_url(re.compile(r"/map/"))
    assert tile.value.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    expect(page.locator("#region-name")).to_have_text("朝阳区")
    _wait_idle(page)
    return page


def _wait_idle(page: Page) -> None:
    page.wait_for_function(
        "() => !document.body.classList.contains('map-busy')"
        " && document.getElementById('region-detail').getAttribute('aria-busy') === 'false'"
    )


def _click_map_at(page: Page, lng: float, lat: float) -> None:
    x, y = page.evaluate(
        "([lat, lng]) => { const p = window.chaoyangMap.latLngToContainerPoint([lat, lng]);"
        " return [p.x, p.y]; }",
        [lat, lng],
    )
    box = page.locator("#map").bounding_box()
    assert box and 0 < x < box["width"] and 0 < y < box["height"], "point is off the map"
    page.locator("#map").click(position={"x": x, "y": y})


def _children_names(region: Region) -> list[str]:
    return list(
        Region.objects.filter(parent=region).order_by("code").values_list("name", flat=True)
    )


def _listed(page: Page) -> list[str]:
    return page.locator(".child-list .region-name").all_text_contents()


def test_the_district_lists_its_43_streets(map_page: Page) -> None:
    streets = _children_names(Region.objects.get(code=HOME))
    assert len(streets) == 43
    assert _listed(map_page) == streets
    expect(map_page.locator(".map-note")).to_contain_text("合成边界,仅供演示")


def test_clicking_the_map_drills_from_street_to_community(map_page: Page) -> None:
    street = Region.objects.filter(level=Level.STREET, code__startswith=HOME).order_by("code")[20]
    community = Region.objects.filter(parent=street).order_by("code")[3]

    _click_map_at(map_page, *safest_point(street.code))
    expect(map_page.locator("#region-name")).to_have_text(street.name)
    _wait_idle(map_page)
    assert _listed(map_page) == _children_names(street)
    expect(map_page.locator(".region-facts")).to_contain_text(street.code)

    # The map has zoomed to the street; a click inside it now picks a community.
    _click_map_at(map_page, *safest_point(community.code))
    expect(map_page.locator("#region-name")).to_have_text(community.name)
    _wait_idle(map_page)
    assert _listed(map_page) == _children_names(community)
    crumbs = map_page.locator(".breadcrumb")
    expect(crumbs).to_contain_text("朝阳区")
    expect(crumbs).to_contain_text(street.name)


def test_clicking_outside_the_district_says_where_the_point_is(map_page: Page) -> None:
    _click_map_at(map_page, *safest_point("110101"))  # Dongcheng, the western neighbour
    error = map_page.locator("#map-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("不在朝阳区")
    expect(error).to_contain_text("东城区")
    expect(map_page.locator("#region-name")).to_have_text("朝阳区")


def test_keyboard_alone_drills_down_and_back(map_page: Page) -> None:
    street = Region.objects.filter(level=Level.STREET, code__startswith=HOME).order_by("code")[0]
    button = map_page.locator(".child-list button", has_text=street.name)
    button.focus()
    map_page.keyboard.press("Enter")
    expect(map_page.locator("#region-name")).to_have_text(street.name)
    # Focus follows the selection, so the next Tab continues in the panel; the live status
    # line tells a screen reader what happened.
    expect(map_page.locator("#region-name")).to_be_focused()
    expect(map_page.locator("#map-status")).to_have_text(f"已选择:{street.name}")
    _wait_idle(map_page)
    assert _listed(map_page) == _children_names(street)

    map_page.locator(".breadcrumb button", has_text="朝阳区").focus()
    map_page.keyboard.press("Enter")
    expect(map_page.locator("#region-name")).to_have_text("朝阳区")


def test_searching_a_grid_code_selects_the_grid(map_page: Page) -> None:
    grid = (
        Region.objects.filter(level=Level.GRID, code__startswith=HOME)
        .select_related("parent__parent")
        .order_by("code")[1234]
    )
    community = grid.parent
    assert community is not None and community.parent is not None
    box = map_page.get_by_label("搜索辖区(名称或编码)")
    box.fill(grid.code)
    with map_page.expect_response(
        lambda r: r.url.endswith(f"/map/regions/{grid.code}.geojson") and r.status == 200
    ):
        box.press("Enter")
    expect(map_page.locator("#region-name")).to_have_text(grid.name)
    expect(map_page.locator(".search-results")).to_contain_text(grid.code)
    facts = map_page.locator(".region-facts")
    expect(facts).to_contain_text(grid.code)
    expect(facts).to_contain_text("单元网格")
    crumbs = map_page.locator(".breadcrumb")
    expect(crumbs).to_contain_text(community.name)
    expect(crumbs).to_contain_text(community.parent.name)
    expect(map_page.locator(".child-list")).to_have_count(0)
    expect(map_page.locator("#map-error")).to_be_hidden()


def test_searching_by_name_lists_matches_to_choose_from(map_page: Page) -> None:
    street = Region.objects.filter(level=Level.STREET, code__startswith=HOME).order_by("code")[5]
    stem = street.name.removesuffix("街道").removesuffix("地区")
    box = map_page.get_by_label("搜索辖区(名称或编码)")
    box.fill(stem)
    box.press("Enter")
    results = map_page.locator(".result-list button")
    expect(results.first).to_be_visible()
    results.filter(has_text=street.code).first.click()
    expect(map_page.locator("#region-name")).to_have_text(street.name)
