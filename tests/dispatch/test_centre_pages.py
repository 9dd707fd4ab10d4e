"""The command centre pages: login, scoping, queues, the case panel and its actions, the
open-case map layer (vector tiles and the nearest-case lookup), photos, the district centre.

Cases are made through the real services (case_intake, case_act) as the demo's people;
tiles are decoded with a small MVT reader built on the one in tests/grids/test_tiles.py.
"""

import io
import math
import re
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from PIL import Image
from pytest_django.fixtures import Settings as SettingsWrapper

from cases.models import Case, Light, Status
from dispatch import case_tiles, selectors
from dispatch.actors import actor_for
from dispatch.models import Assignment, Department
from dispatch.services.intake import IntakeInput, case_intake
from dispatch.services.transitions import ActionInput, case_act
from tests.grids.test_tiles import _fields, _varint

pytestmark = pytest.mark.django_db

JIANWAI, WANGJING = "110105001", "110105021"
CATEGORY = "0601"  # 暴露垃圾: an event, routed to the street's sanitation office


@pytest.fixture
def demo(territory: None) -> None:
    call_command("seed_demo", stdout=StringIO())


def user(name: str) -> User:
    return User.objects.get(username=name)


def client_for(name: str) -> Client:
    c = Client()
    c.force_login(user(name))
    return c


def point_in(street: str, nth: int = 0) -> tuple[float, float]:
    """A point safely inside one of the street's grids."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(boundary) p FROM grids_region"
            " WHERE level = 4 AND code LIKE %s ORDER BY code OFFSET %s LIMIT 1) s",
            [street + "%", nth],
        )
        row = cur.fetchone()
    assert row
    return float(row[0]), float(row[1])


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 140, 60)).save(out, format="JPEG")
    return out.getvalue()


def report(slug: str, *, nth: int = 0, photos: list[bytes] | None = None) -> Case:
    """A patrol report by the street's operator: status reported, no verification."""
    lng, lat = point_in(JIANWAI if slug == "jianwai" else WANGJING, nth)
    result = case_intake(
        user=user(f"{slug}_operator"),
        data=IntakeInput(
            category=CATEGORY,
            description="路口有暴露垃圾",
            source="patrol",
            lng=lng,
            lat=lat,
            address=f"{slug}示例路{nth + 1}号",
            photos=list(photos or []),
        ),
    )
    assert result.case.status == Status.REPORTED
    return result.case


def act(case: Case, name: str, action: str, **data: Any) -> Case:
    return case_act(case_id=case.id, user=user(name), action=action, data=ActionInput(**data))


def post_action(c: Client, case: Case, action: str, **fields: Any) -> Any:
    data = {"action": action, "version": case.version, **fields}
    return c.post(f"/centre/cases/{case.id}/act/", data, HTTP_X_REQUESTED_WITH="fetch")


# ---- MVT: features with their properties --------------------------------------------


def _packed(buf: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(buf):
        value, pos = _varint(buf, pos)
        out.append(value)
    return out


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def features(data: bytes) -> dict[str, list[dict[str, Any]]]:
    """Tile.layers(3) → {name: [{key: value, "_xy": (x, y)}]} for point features.

    Values: string(1) or integer(4, 5); geometry: one MoveTo of one point.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for _n, raw in _fields(data):
        assert isinstance(raw, bytes)
        name, keys, values, feats = "", [], [], []
        for num, val in _fields(raw):
            if num == 1 and isinstance(val, bytes):
                name = val.decode()
            elif num == 2 and isinstance(val, bytes):
                feats.append(val)
            elif num == 3 and isinstance(val, bytes):
                keys.append(val.decode())
            elif num == 4 and isinstance(val, bytes):
                for vnum, v in _fields(val):
                    values.append(v.decode() if vnum == 1 and isinstance(v, bytes) else v)
        rows = []
        for feat in feats:
            row: dict[str, Any] = {}
            for fnum, fval in _fields(feat):
                if fnum == 2 and isinstance(fval, bytes):
                    tags = _packed(fval)
                    row.update({keys[tags[i]]: values[tags[i + 1]] for i in range(0, len(tags), 2)})
                elif fnum == 4 and isinstance(fval, bytes):
                    cmd, x, y = _packed(fval)
                    assert cmd == (1 << 3) | 1, "one MoveTo of one point"
                    row["_xy"] = (_zigzag(x), _zigzag(y))
            rows.append(row)
        out[name] = rows
    return out


def tile_of(lng: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lng + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def get_tile(c: Client, z: int, x: int, y: int) -> dict[str, list[dict[str, Any]]]:
    response = c.get(f"/centre/tiles/cases/{z}/{x}/{y}.pbf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    return features(response.content)


# ---- access ---------------------------------------------------------------------------


def test_every_centre_url_needs_a_login(demo: None) -> None:
    case = report("jianwai")
    anonymous = Client()
    for url in [
        "/centre/",
        "/centre/counts/",
        "/centre/queues/new/",
        f"/centre/cases/{case.id}/",
        "/centre/cases/nearest/?lng=116.4&lat=39.9&zoom=16",
        "/centre/tiles/cases/10/843/387.pbf",
        "/centre/photos/1/thumb/",
    ]:
        response = anonymous.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url
    response = anonymous.post(f"/centre/cases/{case.id}/act/", {"action": "open", "version": 1})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.REPORTED


def test_a_user_without_a_centre_role_is_told_so(demo: None) -> None:
    for name in ("jianwai_grid1", "jianwai_hw"):
        response = client_for(name).get("/centre/")
        assert response.status_code == 403
        assert "没有街道或区级指挥中心的角色" in response.content.decode()
    assert client_for("jianwai_grid1").get("/centre/tiles/cases/10/843/387.pbf").status_code == 403


def test_the_nav_links_the_centre_for_centre_roles_only(demo: None) -> None:
    assert 'href="/centre/"' in client_for("jianwai_lead").get("/map/").content.decode()
    assert 'href="/centre/"' not in client_for("jianwai_grid1").get("/map/").content.decode()


# ---- street centre: scoping, queues --------------------------------------------------


def test_a_street_centre_lists_its_own_street_only(demo: None) -> None:
    mine, theirs = report("jianwai"), report("wangjing")
    c = client_for("jianwai_lead")
    page = c.get("/centre/?queue=new").content.decode()
    assert "建外街道指挥中心" in page
    assert mine.number in page and theirs.number not in page
    fragment = c.get("/centre/queues/new/").content.decode()
    assert mine.number in fragment and theirs.number not in fragment
    assert "<html" not in fragment
    assert theirs.number in client_for("wangjing_lead").get("/centre/queues/new/").content.decode()


def test_queue_counts_follow_the_cases(demo: None) -> None:
    a, _b = report("jianwai", nth=0), report("jianwai", nth=1)
    report("wangjing")
    c = client_for("jianwai_lead")
    counts = c.get("/centre/counts/").json()
    assert (counts["new"], counts["to_open"], counts["to_dispatch"], counts["total"]) == (
        2,
        2,
        0,
        2,
    )
    assert re.search(r'data-count="new">\s*2<', c.get("/centre/").content.decode())

    act(a, "jianwai_lead", "open")
    counts = c.get("/centre/counts/").json()
    assert (counts["new"], counts["to_open"], counts["to_dispatch"], counts["total"]) == (
        1,
        1,
        1,
        2,
    )
    table = c.get("/centre/queues/to_dispatch/").content.decode()
    assert a.number in table and "共 1 件" in table


def test_an_unknown_queue_is_404(demo: None) -> None:
    assert client_for("jianwai_lead").get("/centre/queues/nope/").status_code == 404


# ---- the case panel -----------------------------------------------------------------------


def test_the_panel_shows_the_case_and_hides_other_streets(demo: None) -> None:
    mine, theirs = report("jianwai"), report("wangjing")
    c = client_for("jianwai_lead")
    response = c.get(f"/centre/cases/{mine.id}/", HTTP_X_REQUESTED_WITH="fetch")
    html = response.content.decode()
    assert response.status_code == 200
    assert mine.number in html and "<html" not in html
    assert "处理过程" in html and "上报" in html and "建外街道受理员" in html  # the timeline
    assert f'data-sig="{mine.version}-green-0"' in html
    # Actions of the shift lead in this state, with their inputs.
    assert 'data-action="open"' in html and 'data-action="void"' in html
    assert 'data-action="dispatch"' not in html
    # Without the fragment header the same URL is a whole page (links work without JS).
    assert "<html" in c.get(f"/centre/cases/{mine.id}/").content.decode()
    assert c.get(f"/centre/cases/{theirs.id}/").status_code == 404
    assert c.get(f"/centre/?case={theirs.id}").status_code == 200  # ignored, not shown
    assert theirs.number not in c.get(f"/centre/?case={theirs.id}").content.decode()


def test_posting_an_action_changes_the_case(demo: None) -> None:
    case = report("jianwai")
    response = post_action(client_for("jianwai_lead"), case, "open", note="属实")
    assert response.status_code == 200
    html = response.content.decode()
    assert "已完成“立案”" in html
    case.refresh_from_db()
    assert case.status == Status.OPEN
    event = case.events.select_related("actor").latest("id")
    assert event.actor is not None
    assert (event.action, event.actor.username, event.note) == ("open", "jianwai_lead", "属实")
    assert "已立案" in html and f'name="version" value="{case.version}"' in html


def test_dispatch_offers_the_street_departments_with_the_default_selected(demo: None) -> None:
    case = act(report("jianwai"), "jianwai_lead", "open")
    c = client_for("jianwai_dispatcher")
    html = c.get(f"/centre/cases/{case.id}/", HTTP_X_REQUESTED_WITH="fetch").content.decode()
    default = selectors.default_department(case)
    assert default is not None and default.region.code == JIANWAI
    assert re.search(rf'<option value="{default.id}" selected>', html)
    options = set(re.findall(r'<option value="(\d+)"', html))
    expected = {str(d.id) for d in selectors.dispatch_targets(case)}
    assert options == expected
    assert not Department.objects.filter(id__in=options).exclude(region__code=JIANWAI).exists()

    response = post_action(c, case, "dispatch", department=default.id, note="请处置")
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED
    assert Assignment.objects.get(case=case, active=True).department == default


def test_a_stale_version_gets_the_conflict_message_and_the_fresh_panel(demo: None) -> None:
    case = report("jianwai")
    seen_version = case.version
    act(case, "jianwai_lead", "open", note="另一位值班长先立案")  # someone else, elsewhere
    c = client_for("jianwai_lead")
    response = c.post(
        f"/centre/cases/{case.id}/act/",
        {"action": "void", "version": seen_version, "note": "重复"},
        HTTP_X_REQUESTED_WITH="fetch",
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "案件已被他人处理" in html
    assert "已立案" in html  # the fresh state
    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert f'name="version" value="{case.version}"' in html


def test_missing_input_shows_field_errors_and_keeps_the_form(demo: None) -> None:
    case = report("jianwai")
    c = client_for("jianwai_lead")
    response = post_action(c, case, "void", note="  ")
    assert response.status_code == 400
    html = response.content.decode()
    assert "请填写意见或原因" in html
    form = re.search(rf'<form id="act-{case.id}-void"[^>]*>', html)
    assert form and " hidden" not in form.group(0)  # left open for the correction
    assert 'aria-invalid="true"' in html
    # A value the form cannot parse is refused by the page before the service.
    response = post_action(c, case, "request_extension", deadline="next tuesday", note="x")
    assert response.status_code == 400
    case.refresh_from_db()
    assert case.status == Status.REPORTED and case.version == 1


def test_destructive_actions_ask_for_confirmation(demo: None) -> None:
    case = report("jianwai")
    html = (
        client_for("jianwai_lead")
        .get(f"/centre/cases/{case.id}/", HTTP_X_REQUESTED_WITH="fetch")
        .content.decode()
    )
    for action in ("void", "merge"):
        form = re.search(rf'<form id="act-{case.id}-{action}"[^>]*>', html)
        assert form and "data-confirm=" in form.group(0), action
    form = re.search(rf'<form id="act-{case.id}-open"[^>]*>', html)
    assert form and "data-confirm=" not in form.group(0)


def test_duplicates_are_suggested_and_can_be_merged(demo: None) -> None:
    first = report("jianwai")
    second = report("jianwai")  # same category, same point
    c = client_for("jianwai_operator")
    html = c.get(f"/centre/cases/{second.id}/", HTTP_X_REQUESTED_WITH="fetch").content.decode()
    assert "疑似重复案件" in html and first.number in html
    assert 'class="merge-form"' in html
    response = post_action(c, second, "merge", target_case=first.number)
    assert response.status_code == 200
    second.refresh_from_db()
    assert second.status == Status.MERGED and second.merged_into_id == first.id


# ---- photos ----------------------------------------------------------------------------


def test_photos_are_served_only_within_the_scope(
    demo: None, settings: SettingsWrapper, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    case = report("jianwai", photos=[jpeg()])
    att = case.attachments.get()
    c = client_for("jianwai_lead")
    html = c.get(f"/centre/cases/{case.id}/", HTTP_X_REQUESTED_WITH="fetch").content.decode()
    assert f"/centre/photos/{att.id}/thumb/" in html and f"/centre/photos/{att.id}/full/" in html
    for size in ("thumb", "full"):
        response = c.get(f"/centre/photos/{att.id}/{size}/")
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"  # type: ignore[attr-defined]
    assert client_for("wangjing_lead").get(f"/centre/photos/{att.id}/thumb/").status_code == 404
    assert c.get(f"/centre/photos/{att.id}/huge/").status_code == 404


# ---- the map layer ---------------------------------------------------------------------


def test_case_tiles_cluster_at_low_zoom_and_show_points_at_high_zoom(demo: None) -> None:
    cases = [report("jianwai", nth=n) for n in range(3)]
    Case.objects.filter(id=cases[0].id).update(light=Light.RED)
    Case.objects.filter(id=cases[1].id).update(light=Light.YELLOW)
    report("wangjing")
    lng, lat = cases[0].location.x, cases[0].location.y  # type: ignore[union-attr]
    c = client_for("jianwai_lead")

    low = get_tile(c, 8, *tile_of(lng, lat, 8))  # the whole district lies in one z8 tile
    assert set(low) == {"clusters"}
    clusters = low["clusters"]
    assert sum(f["count"] for f in clusters) == 3  # the other street's case is not counted
    assert sum(f["red"] for f in clusters) == 1 and sum(f["yellow"] for f in clusters) == 1

    high = get_tile(c, 17, *tile_of(lng, lat, 17))
    assert set(high) == {"cases"}
    (point,) = [f for f in high["cases"] if f["id"] == cases[0].id]
    assert (point["number"], point["light"], point["status"]) == (
        cases[0].number,
        "red",
        "reported",
    )
    assert point["supervised"] in (0, False)


def test_a_street_user_gets_an_empty_tile_over_another_street(demo: None) -> None:
    theirs = report("wangjing")
    xy = tile_of(theirs.location.x, theirs.location.y, 16)  # type: ignore[union-attr]
    assert get_tile(client_for("jianwai_lead"), 16, *xy) == {}
    # Same tile, same moment, another scope: the cache must not hand over the empty tile.
    (point,) = get_tile(client_for("wangjing_lead"), 16, *xy)["cases"]
    assert point["number"] == theirs.number
    (point,) = get_tile(client_for("district_dispatcher"), 16, *xy)["cases"]
    assert point["number"] == theirs.number


def test_finished_cases_leave_the_map_and_tiles_revalidate(demo: None) -> None:
    case = report("jianwai")
    xy = tile_of(case.location.x, case.location.y, 16)  # type: ignore[union-attr]
    c = client_for("jianwai_lead")
    url = f"/centre/tiles/cases/16/{xy[0]}/{xy[1]}.pbf"
    first = c.get(url)
    assert len(features(first.content)["cases"]) == 1
    assert first["Cache-Control"] == "private, no-cache"
    assert c.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    act(case, "jianwai_lead", "void", note="重复上报")
    cache.delete(case_tiles.STAMP_CACHE_KEY)  # the stamp is trusted for STAMP_TTL seconds
    again = c.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and features(again.content) == {}


def test_a_bad_tile_address_is_a_400(demo: None) -> None:
    assert client_for("jianwai_lead").get("/centre/tiles/cases/3/9/0.pbf").status_code == 400
    assert client_for("jianwai_lead").get("/centre/tiles/cases/25/0/0.pbf").status_code == 400


def test_a_map_click_finds_the_nearest_visible_case(demo: None) -> None:
    mine, theirs = report("jianwai"), report("wangjing")
    c = client_for("jianwai_lead")
    lng, lat = mine.location.x, mine.location.y  # type: ignore[union-attr]
    body = c.get(f"/centre/cases/nearest/?lng={lng + 0.00003}&lat={lat}&zoom=17").json()
    assert body["case"]["id"] == mine.id and body["case"]["url"] == f"/centre/cases/{mine.id}/"
    # Far from every case at this zoom: nothing.
    assert c.get(f"/centre/cases/nearest/?lng={lng + 0.01}&lat={lat}&zoom=17").json() == {
        "case": None
    }
    wl, wt = theirs.location.x, theirs.location.y  # type: ignore[union-attr]
    assert c.get(f"/centre/cases/nearest/?lng={wl}&lat={wt}&zoom=17").json() == {"case": None}
    assert c.get("/centre/cases/nearest/?lng=abc&lat=1").status_code == 400


def test_clusters_count_every_case_once_across_tiles(demo: None) -> None:
    for n in range(4):
        report("jianwai", nth=n)
        report("wangjing", nth=n)
    scope = selectors.live(selectors.cases_visible(actor_for(user("district_dispatcher"))))
    expected = scope.filter(location__isnull=False).count()
    assert expected == 8
    # The district spans several z10 tiles. A tile also carries its neighbours' clusters
    # near the edge (so circles are not cut), but a cluster *belongs* to the tile its
    # position lies in; counted there, every case is counted exactly once.
    lng, lat = point_in(JIANWAI)
    x0, y0 = tile_of(lng, lat, 10)
    total = 0
    for x in range(x0 - 2, x0 + 3):
        for y in range(y0 - 2, y0 + 3):
            data = case_tiles.case_tile_bytes(scope, 10, x, y)
            for f in features(data).get("clusters", []):
                fx, fy = f["_xy"]
                if 0 <= fx < case_tiles.EXTENT and 0 <= fy < case_tiles.EXTENT:
                    total += f["count"]
    assert total == expected


# ---- the district centre --------------------------------------------------------------


def test_the_district_centre_dispatches_escalated_cases_to_district_departments(
    demo: None,
) -> None:
    case = act(report("jianwai"), "jianwai_lead", "open")
    case = act(case, "jianwai_dispatcher", "escalate", note="需区级协调")
    other = report("wangjing")
    c = client_for("district_dispatcher")
    page = c.get("/centre/").content.decode()
    assert "朝阳区指挥中心" in page and "街道上报待派遣" in page
    assert case.number in page  # the first queue is "escalated"
    assert other.number not in page
    assert c.get("/centre/counts/").json()["escalated"] == 1

    html = c.get(f"/centre/cases/{case.id}/", HTTP_X_REQUESTED_WITH="fetch").content.decode()
    options = set(re.findall(r'<option value="(\d+)"', html))
    levels = set(Department.objects.filter(id__in=options).values_list("level", flat=True))
    assert levels == {"district"}
    dept = Department.objects.get(code="110105-city")
    response = post_action(c, case, "dispatch", department=dept.id)
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED
    assert c.get("/centre/counts/").json()["escalated"] == 0
    assert c.get("/centre/counts/").json()["in_progress"] == 1


def test_centre_says_when_the_holiday_data_runs_out() -> None:
    """chinese-calendar knows its release's years only; past them the page must say so."""
    from datetime import date

    from dispatch import calendar

    _first, last = calendar.calendar_coverage()
    assert calendar.coverage_notice(last.replace(month=1, day=1)) is None
    assert calendar.coverage_notice(date(last.year, 12, 1)) == last
    assert calendar.coverage_notice(date(last.year + 1, 3, 1)) == last


def test_the_centre_page_shows_the_calendar_notice_near_its_end(demo: None) -> None:
    import time_machine

    from dispatch import calendar

    _first, last = calendar.calendar_coverage()
    with time_machine.travel(f"{last.year}-12-01 10:00 +0800", tick=False):
        html = client_for("jianwai_lead").get("/centre/").content.decode()
    assert "节假日数据只到" in html and last.isoformat() in html
    with time_machine.travel(f"{last.year}-06-01 10:00 +0800", tick=False):
        html = client_for("jianwai_lead").get("/centre/").content.decode()
    assert "节假日数据只到" not in html
