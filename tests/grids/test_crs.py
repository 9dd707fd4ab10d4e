"""GCJ-02 ↔ WGS 84: the inverse really inverts, the offset is what Beijing sees, and
nothing moves outside China."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grids.crs import CRS, converter, gcj02_to_wgs84, out_of_china, to_wgs84, wgs84_to_gcj02

TIANANMEN_WGS84 = (116.3913, 39.9066)


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance on a 6,371 km sphere; plenty for offsets of a few hundred metres."""
    (lng1, lat1), (lng2, lat2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


# Mainland China roughly; the formula's own box is wider, but that is sea and desert.
china_lng = st.floats(min_value=75.0, max_value=134.0)
china_lat = st.floats(min_value=18.0, max_value=53.0)


@given(china_lng, china_lat)
def test_wgs84_to_gcj02_and_back_round_trips(lng: float, lat: float) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lng, lat))
    assert back == pytest.approx((lng, lat), abs=1e-8)


@given(china_lng, china_lat)
def test_gcj02_to_wgs84_and_back_round_trips(lng: float, lat: float) -> None:
    back = wgs84_to_gcj02(*gcj02_to_wgs84(lng, lat))
    assert back == pytest.approx((lng, lat), abs=1e-8)


@pytest.mark.parametrize(
    "point",
    [TIANANMEN_WGS84, (116.4600, 39.9100), (116.5930, 40.0730), (116.3000, 39.8000)],
)
def test_offset_in_beijing_is_a_few_hundred_metres(point: tuple[float, float]) -> None:
    offset = metres_between(point, wgs84_to_gcj02(*point))
    assert 100 < offset < 800


def test_gcj02_is_north_east_of_wgs84_in_beijing() -> None:
    # The well-known direction of the shift in Beijing: east and a little north.
    glng, glat = wgs84_to_gcj02(*TIANANMEN_WGS84)
    assert glng > TIANANMEN_WGS84[0]
    assert glat > TIANANMEN_WGS84[1]


@pytest.mark.parametrize("point", [(2.3522, 48.8566), (-74.006, 40.7128), (151.2093, -33.8688)])
def test_outside_china_nothing_changes(point: tuple[float, float]) -> None:
    assert out_of_china(*point)
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point


def test_to_wgs84_by_frame() -> None:
    gcj = wgs84_to_gcj02(*TIANANMEN_WGS84)
    assert to_wgs84(*gcj, CRS.GCJ02) == pytest.approx(TIANANMEN_WGS84, abs=1e-8)
    assert to_wgs84(*gcj, "gcj02") == pytest.approx(TIANANMEN_WGS84, abs=1e-8)
    # CGCS2000 is within a metre of WGS 84: taken as is.
    assert to_wgs84(*TIANANMEN_WGS84, CRS.CGCS2000) == TIANANMEN_WGS84
    assert to_wgs84(*TIANANMEN_WGS84, CRS.WGS84) == TIANANMEN_WGS84
    assert converter("gcj02")(*gcj) == pytest.approx(TIANANMEN_WGS84, abs=1e-8)
    with pytest.raises(ValueError):
        to_wgs84(*TIANANMEN_WGS84, "bd09")
