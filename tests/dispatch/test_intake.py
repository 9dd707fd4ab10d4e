"""case_intake: located, numbered, idempotent, role-checked; duplicates and merging."""

import math
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from cases.models import Case, CaseEvent, CaseNumberCounter, Category, Status
from core import crypto
from dispatch.actors import actor_for
from dispatch.errors import Conflict, Forbidden, IdempotencyKeyReused, Invalid
from dispatch.models import Notification
from dispatch.selectors import cases_visible, duplicate_candidates
from dispatch.services.intake import IntakeInput, IntakeResult, case_intake
from dispatch.services.transitions import ActionInput, case_act
from grids.crs import wgs84_to_gcj02
from grids.models import Region
from tests.factories import GRID1, at_once, grid_point, module_demo, user
from tests.factories import committed_demo as committed_demo_fixture

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DONGCHENG = (116.3975, 39.9087)  # Tiananmen, in Dongcheng
NUMBER = re.compile(r"^110105-(\d{8})-(\d{5})$")
M_LAT = 1 / 111_320  # one metre north, in degrees, near 40° N


committed_demo = committed_demo_fixture()
demo = module_demo()


def report(username: str = "jianwai_grid1", **overrides: Any) -> IntakeResult:
    lng, lat = grid_point()
    fields: dict[str, Any] = {
        "category": "0601",
        "description": "楼门口堆放袋装垃圾",
        "source": "grid_worker",
        "lng": lng,
        "lat": lat,
    }
    fields.update(overrides)
    return case_intake(user=user(username), data=IntakeInput(**fields))


def hotline(**overrides: Any) -> IntakeResult:
    fields: dict[str, Any] = {
        "source": "hotline",
        "citizen_name": "王先生",
        "citizen_phone": "13800138000",
    }
    fields.update(overrides)
    return report("jianwai_operator", **fields)


def row_counts() -> tuple[int, int, int]:
    return Case.objects.count(), CaseNumberCounter.objects.count(), CaseEvent.objects.count()


# ---- where it lands, its number, its status -------------------------------------------


def test_grid_workers_report_lands_in_its_grid_community_and_street(demo: None) -> None:
    result = report()
    assert result.created
    grid = Region.objects.get(code=GRID1)
    ids = Case.objects.filter(id=result.case.id).values_list("grid_id", "community_id", "street_id")
    assert list(ids) == [(grid.id, grid.parent_id, grid.parent.parent_id)]  # type: ignore[union-attr]
    case = Case.objects.get(id=result.case.id)
    assert case.status == Status.REPORTED
    assert not case.verification_required
    assert not case.outside_jurisdiction
    assert case.handling_level == "street"
    assert case.reporter == user("jianwai_grid1")
    assert NUMBER.match(case.number)
    # The limits are frozen into the case, and the first stage's clock runs.
    assert case.sla_policy["limits"]["handle"] == [4, "work_hours"]
    assert case.deadline is not None and case.warning_at is not None
    assert case.warning_at < case.deadline
    [event] = CaseEvent.objects.filter(case=case)
    assert (event.action, event.from_status, event.to_status) == ("report", "", "reported")
    assert (event.actor, event.actor_role) == (user("jianwai_grid1"), "grid_worker")


def test_numbers_count_per_beijing_day(demo: None) -> None:
    # 23:58 in Beijing is 15:58 UTC: the number carries the local date.
    with time_machine.travel(datetime(2026, 9, 30, 23, 58, tzinfo=SHANGHAI), tick=False) as t:
        first, second = report().case.number, report().case.number
        t.move_to(datetime(2026, 10, 1, 0, 1, tzinfo=SHANGHAI))
        next_day = report().case.number
    assert first == "110105-20260930-00001"
    assert second == "110105-20260930-00002"
    assert next_day == "110105-20261001-00001"
    assert dict(CaseNumberCounter.objects.values_list("day__day", "last")) == {30: 2, 1: 1}


def test_citizen_channels_wait_for_a_grid_workers_verification(demo: None) -> None:
    case = hotline().case
    assert case.status == Status.VERIFYING
    assert case.verification_required
    # The grid's workers are asked to verify.
    assert Notification.objects.filter(
        case=case, kind="request_verify", user=user("jianwai_grid1")
    ).exists()
    web = report("jianwai_operator", source="web", citizen_phone="010-6500 1234").case
    assert web.status == Status.VERIFYING
    patrol = report(source="patrol").case  # a grid worker's own patrol needs no verification
    assert (patrol.status, patrol.verification_required) == (Status.REPORTED, False)


def test_gcj02_input_is_converted_to_wgs84(demo: None) -> None:
    lng, lat = grid_point()
    glng, glat = wgs84_to_gcj02(lng, lat)
    assert abs(glng - lng) > 0.001  # hundreds of metres apart: a missed conversion shows
    case = report(lng=glng, lat=glat, crs="gcj02").case
    case.refresh_from_db()
    assert case.location is not None
    assert case.location.x == pytest.approx(lng, abs=1e-7)
    assert case.location.y == pytest.approx(lat, abs=1e-7)
    assert case.grid is not None and case.grid.code == GRID1


# ---- idempotency ----------------------------------------------------------------------


def test_the_same_idempotency_key_returns_the_same_case(demo: None) -> None:
    first = report(idempotency_key="phone-42")
    again = report(idempotency_key="phone-42")
    assert first.created and not again.created
    assert again.case.id == first.case.id
    assert Case.objects.count() == 1
    assert CaseEvent.objects.count() == 1
    assert CaseNumberCounter.objects.get().last == 1  # no number burnt by the retry
    # Keys are per user: someone else's identical key is another report.
    other = report("jianwai_grid2", idempotency_key="phone-42")
    assert other.created and other.case.id != first.case.id


def test_an_idempotency_key_reused_for_another_report_is_refused(demo: None) -> None:
    """The IETF idempotency-key draft: the same key with a different request is an error
    (422), not a silent answer with the first request's case."""
    first = report(idempotency_key="phone-43")
    before = row_counts()
    with pytest.raises(IdempotencyKeyReused) as info:
        report(idempotency_key="phone-43", description="另一处的另一个问题")
    assert info.value.status == 422 and info.value.code == "idempotency_key_reused"
    assert info.value.extra == {"case_number": first.case.number}
    assert row_counts() == before


@pytest.mark.django_db(transaction=True)
def test_concurrent_copies_of_one_request_make_one_case(committed_demo: None) -> None:
    lng, lat = grid_point()
    worker = user("jianwai_grid1")
    data = IntakeInput("0601", "垃圾", "grid_worker", lng=lng, lat=lat, idempotency_key="retry")
    results = at_once(4, lambda: case_intake(user=worker, data=data))
    assert len({r.case.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert Case.objects.count() == 1
    assert CaseEvent.objects.count() == 1


# ---- outside the district --------------------------------------------------------------


def test_a_point_outside_chaoyang_is_refused_naming_its_district(demo: None) -> None:
    before = row_counts()
    with pytest.raises(Invalid) as info:
        report(lng=DONGCHENG[0], lat=DONGCHENG[1])
    assert "东城区" in info.value.message
    assert "东城区" in info.value.fields["location"][0]
    # An operator without register_outside is refused the same way.
    with pytest.raises(Invalid, match="东城区"):
        hotline(lng=DONGCHENG[0], lat=DONGCHENG[1])
    with pytest.raises(Invalid, match="北京市以外"):
        report(lng=121.47, lat=31.23)  # Shanghai
    # A grid worker cannot force it in.
    with pytest.raises(Invalid, match="东城区"):
        report(lng=DONGCHENG[0], lat=DONGCHENG[1], register_outside=True)
    assert row_counts() == before


def test_an_operator_registers_an_outside_point_for_the_district(demo: None) -> None:
    case = hotline(lng=DONGCHENG[0], lat=DONGCHENG[1], register_outside=True).case
    case.refresh_from_db()
    assert case.outside_jurisdiction
    assert (case.grid, case.community, case.street) == (None, None, None)
    assert case.handling_level == "district"
    assert case.location is not None and case.location.x == pytest.approx(DONGCHENG[0])
    assert case.status == Status.REPORTED  # no grid worker can verify outside the district
    assert cases_visible(actor_for(user("district_leader"))).filter(id=case.id).exists()


# ---- who may register, and what is checked ---------------------------------------------


@pytest.mark.parametrize(
    "username", ["jianwai_cg", "district_cgw", "jianwai_leader", "district_leader", "data_admin"]
)
def test_roles_without_intake_are_forbidden(demo: None, username: str) -> None:
    with pytest.raises(Forbidden, match="不能登记案件"):
        report(username, source="hotline", citizen_phone="13800138000")
    assert not Case.objects.exists()


def test_a_grid_worker_cannot_claim_the_hotline_channel(demo: None) -> None:
    """Not a wrong value (hotline is a channel) but a role that may not use it: 403."""
    with pytest.raises(Forbidden) as info:
        report(source="hotline", citizen_phone="13800138000")
    assert "热线" in info.value.message
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category": "9999"}, "category"),
        ({"category": "06"}, "category"),  # a 大类: cases are filed under 小类
        ({"urgency": "soon"}, "urgency"),
        ({"description": "   "}, "description"),
        ({"description": "很" * 4001}, "description"),
        ({"citizen_phone": "12ab"}, "citizen_phone"),
        ({"citizen_name": "", "citizen_phone": ""}, "citizen_phone"),  # hotline: contact
        ({"lng": 200.0}, "lng"),
        ({"lng": None, "lat": None, "address": ""}, "location"),
        ({"photos": [b"GIF89a not really"]}, "photos"),
    ],
)
def test_invalid_input_names_the_field_and_writes_nothing(
    demo: None, overrides: dict[str, Any], field: str
) -> None:
    before = row_counts()
    with pytest.raises(Invalid) as info:
        hotline(**overrides)
    assert set(info.value.fields) == {field}
    assert info.value.fields[field][0]
    assert row_counts() == before


def test_an_inactive_category_is_refused(demo: None) -> None:
    Category.objects.filter(code="0601").update(active=False)
    with pytest.raises(Invalid) as info:
        report()
    assert set(info.value.fields) == {"category"}


def test_an_address_without_a_point_asks_for_the_point(demo: None) -> None:
    # There is no geocoder: an address alone cannot be placed in a grid.
    with pytest.raises(Invalid, match="请在地图上选点") as info:
        hotline(lng=None, lat=None, address="建国门外大街1号")
    assert set(info.value.fields) == {"location"}
    assert not Case.objects.exists()


# ---- personal data ---------------------------------------------------------------------


def test_the_citizens_phone_is_stored_encrypted_and_shown_masked(demo: None) -> None:
    case = hotline(citizen_phone="138-0013 8000").case
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM cases_case WHERE id = %s", [case.id])
        row = cur.fetchone()
    assert row is not None
    for value in row:
        raw = bytes(value) if isinstance(value, memoryview | bytes) else str(value).encode()
        assert b"13800138000" not in raw
    case.refresh_from_db()
    assert case.citizen_phone_masked == "138****8000"
    blob = bytes(case.citizen_phone_enc or b"")
    assert crypto.decrypt(blob, purpose="case.citizen_phone") == "13800138000"
    # Found by exact number through the blind index, without decrypting anything.
    index = crypto.blind_index("13800138000", purpose="phone")
    assert Case.objects.filter(citizen_phone_index=index).get() == case


# ---- duplicates and merging ------------------------------------------------------------


def test_duplicates_are_same_category_within_radius_and_window(demo: None) -> None:
    _lng, lat = grid_point()
    start = datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False) as t:
        first = report().case
        t.shift(timedelta(hours=2))
        near = report(lat=lat + 20 * M_LAT).case  # 20 m: within 0601's 50 m
        far = report(lat=lat + 120 * M_LAT).case  # 120 m: outside
        other_kind = report(category="1001").case  # same place, 占道经营
        t.shift(timedelta(hours=23))  # 25 h after the first: outside 0601's 24 h window
        late = report(lat=lat + 10 * M_LAT).case
        t.shift(timedelta(hours=25))
        much_later = report(lat=lat + 10 * M_LAT).case
    assert first.id not in {c.id for c in duplicate_candidates(far)}
    assert list(duplicate_candidates(other_kind)) == []
    assert [c.id for c in duplicate_candidates(late)] == [near.id]  # 23 h apart: in window
    # The window holds both ways: a case in the queue is shown later reports of the same
    # problem, but not one a day after its window closed.
    assert [c.id for c in duplicate_candidates(near)] == [first.id, late.id]
    assert [c.id for c in duplicate_candidates(first)] == [near.id]
    assert list(duplicate_candidates(much_later)) == []


def test_the_duplicate_radius_holds_in_every_direction(demo: None) -> None:
    """0601's radius is 50 m: 49 m away is a duplicate east, north-east or north; 51 m
    away is not (the box prefilter must not cut the circle short east-west)."""
    lng, lat = grid_point()
    metre_lat = 1 / 111_195.0  # the sphere ST_DWithin(..., false) measures on
    metre_lng = metre_lat / math.cos(math.radians(lat))
    first = report().case
    diagonal = 49 / math.sqrt(2)
    inside = [
        report(lng=lng + 49 * metre_lng).case,
        report(lng=lng + diagonal * metre_lng, lat=lat + diagonal * metre_lat).case,
        report(lat=lat - 49 * metre_lat).case,
        report(lng=lng - 49 * metre_lng).case,
    ]
    outside = [report(lng=lng + 51 * metre_lng).case, report(lng=lng - 51 * metre_lng).case]
    found = {c.id for c in duplicate_candidates(first)}
    assert {c.id for c in inside} <= found
    assert not found & {c.id for c in outside}


def test_merge_closes_the_duplicate_and_tells_both_reporters(demo: None) -> None:
    _lng, lat = grid_point()
    target = report().case
    dup = report("jianwai_grid2", lat=lat + 10 * M_LAT).case
    assert [c.id for c in duplicate_candidates(dup)] == [target.id]
    merged = case_act(
        case_id=dup.id,
        user=user("jianwai_operator"),
        action="merge",
        data=ActionInput(target_case=target.number, note="同一处垃圾"),
    )
    merged.refresh_from_db()
    assert merged.status == Status.MERGED
    assert merged.merged_into_id == target.id
    assert merged.deadline is None  # a merged case has no running clock
    target.refresh_from_db()
    assert target.status == Status.REPORTED  # the target goes on as it was
    event = CaseEvent.objects.get(case=target, action="merged_from")
    assert event.data == {"case_id": dup.id}
    assert CaseEvent.objects.filter(case=dup, action="merge", to_status="merged").count() == 1
    # Each reporter is told once; the operator who merged is not told about their own act.
    told = Notification.objects.filter(case=dup).values_list("user__username", flat=True)
    assert sorted(told) == ["jianwai_grid1", "jianwai_grid2"]
    # No longer suggested as a duplicate of anything.
    assert dup.id not in {c.id for c in duplicate_candidates(report(lat=lat + 5 * M_LAT).case)}


def test_merge_refuses_itself_and_finished_targets(demo: None) -> None:
    a, b = report().case, report().case
    operator = user("jianwai_operator")
    with pytest.raises(Invalid) as info:
        case_act(
            case_id=a.id, user=operator, action="merge", data=ActionInput(target_case=a.number)
        )
    assert set(info.value.fields) == {"target_case"}
    case_act(case_id=b.id, user=user("jianwai_lead"), action="void", data=ActionInput(note="误报"))
    with pytest.raises(Invalid) as info:
        case_act(
            case_id=a.id, user=operator, action="merge", data=ActionInput(target_case=str(b.id))
        )
    assert set(info.value.fields) == {"target_case"}
    a.refresh_from_db()
    assert a.status == Status.REPORTED


def test_merge_only_into_a_case_the_operator_may_see(demo: None) -> None:
    """Another street's case is, for this operator, a case that does not exist."""
    mine = report().case
    wangjing = Region.objects.get(code="110105021001001")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(boundary) p "
            "FROM grids_region WHERE id = %s) s",
            [wangjing.id],
        )
        lng, lat = cur.fetchone()
    theirs = report("wangjing_grid1", lng=lng, lat=lat).case
    with pytest.raises(Invalid) as info:
        case_act(
            case_id=mine.id,
            user=user("jianwai_operator"),
            action="merge",
            data=ActionInput(target_case=theirs.number),
        )
    assert set(info.value.fields) == {"target_case"}
    mine.refresh_from_db()
    assert mine.status == Status.REPORTED and mine.merged_into_id is None


def test_a_stale_version_is_a_conflict_even_when_the_case_left_the_actors_hands(
    demo: None,
) -> None:
    case = report().case
    lead = user("jianwai_lead")
    opened = case_act(case_id=case.id, user=lead, action="open", data=ActionInput())
    seen = opened.version
    case_act(
        case_id=case.id,
        user=user("jianwai_dispatcher"),
        action="escalate",
        data=ActionInput(note="跨街道问题"),
    )
    # The street dispatcher's form still shows version `seen`; the case is now the district's.
    with pytest.raises(Conflict):
        case_act(
            case_id=case.id,
            user=user("jianwai_dispatcher"),
            action="dispatch",
            data=ActionInput(department_id=1, expected_version=seen),
        )


@pytest.mark.parametrize(
    ("lat", "radius_m"),
    [(39.9, 50), (39.9, 2_000_000), (80.0, 500_000), (89.0, 50_000), (89.9, 100), (-60.0, 1e6)],
)
def test_the_duplicate_box_holds_the_whole_circle(lat: float, radius_m: float) -> None:
    """Every point at 99.9 % of the radius, in every direction, lies inside the box
    (great-circle destination on the sphere ST_DWithin measures on)."""
    from dispatch.selectors import EARTH_RADIUS_M, box_degrees

    lng = 116.4
    half = box_degrees(lng, lat, radius_m)
    d = radius_m * 0.999 / EARTH_RADIUS_M
    p1, l1 = math.radians(lat), math.radians(lng)
    for bearing in range(360):
        b = math.radians(bearing)
        p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
        l2 = l1 + math.atan2(
            math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
        )
        dlng = (math.degrees(l2) - lng + 180) % 360 - 180
        assert abs(math.degrees(p2) - lat) <= half and abs(dlng) <= half, bearing


def test_a_box_across_the_date_line_covers_everything() -> None:
    from dispatch.selectors import box_degrees

    assert box_degrees(179.9999, 0.0, 100) == 360.0
    assert box_degrees(116.4, 39.9, 100) < 0.01
