"""The grid profile (网格画像) of a grid, community, street and the district: population,
age pyramid, special care, housing, organisations, open cases and the buildings map."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from dispatch.services.intake import IntakeInput, case_intake
from grids.models import Region
from population import services
from population.models import CareTag
from population.stats import band_label
from tests.factories import (
    client_for,
    demo_grids,
    grid_point,
    organisation_in,
    person_in,
    run_seed_demo,
)

pytestmark = pytest.mark.django_db


def _band(born: str) -> str:
    # Ages are counted by the year of birth: the only part of the date that is kept.
    return band_label(min((timezone.localdate().year - int(born[:4])) // 5, 18))


@pytest.fixture
def world(territory: None) -> dict[str, Any]:
    run_seed_demo()
    grids = demo_grids()
    g1 = grids["grid1"]
    old = person_in(g1, name="老人", born="19500101", seq=1)
    young = person_in(g1, name="青年", born="20000101", seq=2, use="rented")
    floating = person_in(
        g1, name="流动", born="19900505", seq=4, area="410102", hukou="floating", use="rented"
    )
    gone = person_in(g1, name="迁出", born="19700101", seq=5)
    services.person_update(
        person=gone.person,
        data=services.PersonInput(name="迁出", id_number=gone.number, status="moved_out"),
    )
    services.housing_unit_create(building=old.building, unit="1", room="102", use="vacant")
    CareTag.objects.create(person=old.person, tag="elderly_alone", source="走访")
    CareTag.objects.create(
        person=young.person, tag="low_income", until=timezone.localdate() - timedelta(days=1)
    )
    CareTag.objects.create(person=gone.person, tag="disabled")  # moved out: not counted
    organisation_in(g1, name="店一")
    organisation_in(g1, name="店二")
    organisation_in(g1, name="学校", kind="school")
    person_in(grids["wangjing"], name="望京人")
    point = grid_point(g1)
    user = get_user_model().objects.get(username="jianwai_grid1")
    case_intake(
        user=user,
        data=IntakeInput("0601", "楼门口堆放袋装垃圾", "grid_worker", lng=point.x, lat=point.y),
    )
    return {"grids": grids, "old": old, "young": young, "floating": floating}


def test_grid_profile_counts(world: dict[str, Any], django_assert_max_num_queries: Any) -> None:
    code = world["grids"]["grid1"]
    client = client_for("jianwai_grid1")
    with django_assert_max_num_queries(25):  # a fixed number of grouped queries, any size
        response = client.get(f"/population/profile/{code}/")
    assert response.status_code == 200
    ctx = response.context
    stats = ctx["stats"]
    assert (stats.total, stats.local, stats.floating) == (3, 2, 1)
    pyramid = {band: (men, women) for band, men, women in stats.pyramid}
    assert len(pyramid) == 19 and sum(m + w for m, w in pyramid.values()) == 3
    for placed, born in ((world["old"], "19500101"), (world["young"], "20000101")):
        men, women = pyramid[_band(born)]
        assert (men if placed.person.sex == "M" else women) >= 1
    assert stats.care == {"elderly_alone": 1}
    assert stats.housing == {"owner": 2, "rented": 2, "vacant": 1}
    assert stats.rented_share == pytest.approx(0.4)
    assert stats.organisations == {"shop": 2, "school": 1}
    assert stats.buildings == 4
    assert ctx["profile"].open_cases == 1
    page = response.content.decode()
    assert "40.0%" in page and "33.3%" in page  # rented share, floating share
    assert "vendor/echarts.min.js" in page and "leaflet" in page.lower()
    assert 'id="profile-data"' in page and 'id="age-pyramid"' in page


def test_community_street_and_district_profiles_roll_up(world: dict[str, Any]) -> None:
    grid1 = Region.objects.select_related("parent").get(code=world["grids"]["grid1"])
    community = grid1.parent
    assert community is not None
    leader = client_for("jianwai_leader")
    response = leader.get(f"/population/profile/{community.code}/")
    assert response.context["stats"].total == 3
    children = {c.region.code: c.persons for c in response.context["profile"].children}
    assert children[grid1.code] == 3 and sum(children.values()) == 3
    street = leader.get("/population/profile/110105001/")
    assert street.context["stats"].total == 3
    assert street.context["profile"].open_cases == 1
    street_children = {c.region.code: c.persons for c in street.context["profile"].children}
    assert street_children[community.code] == 3

    district = client_for("district_leader").get("/population/profile/110105/")
    assert district.context["stats"].total == 4
    by_street = {c.region.code: c.persons for c in district.context["profile"].children}
    assert by_street["110105001"] == 3 and by_street["110105021"] == 1
    assert len(by_street) == 43


def test_buildings_layer_of_one_region(world: dict[str, Any]) -> None:
    code = world["grids"]["grid1"]
    layer = client_for("jianwai_grid1").get(f"/population/regions/{code}/buildings.geojson")
    assert layer["Content-Type"] == "application/geo+json"
    data = layer.json()
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 4
    by_address = {f["properties"]["address"]: f for f in data["features"]}
    old = by_address[world["old"].building.address]
    assert old["geometry"]["type"] == "Point"
    assert old["properties"]["units"] == 2 and old["properties"]["residents"] == 1
    wangjing = client_for("wangjing_grid1").get(
        f"/population/regions/{world['grids']['wangjing']}/buildings.geojson"
    )
    assert len(wangjing.json()["features"]) == 1


def test_an_empty_grid_says_so(world: dict[str, Any]) -> None:
    empty = world["grids"]["jianwai_other"]
    response = client_for("jianwai_leader").get(f"/population/profile/{empty}/")
    assert response.status_code == 200
    assert response.context["stats"].total == 0
    assert "该辖区暂无人口、房屋和组织数据" in response.content.decode()
    layer = client_for("jianwai_leader").get(f"/population/regions/{empty}/buildings.geojson")
    assert layer.json() == {"type": "FeatureCollection", "features": []}


def test_age_bands_on_every_boundary(territory: None) -> None:
    """The SQL's bands agree with age_band for ages on each side of every band's edge,
    counted from the birth year alone (the birth date is not kept)."""
    from population.stats import LAST_BAND, age_band, region_stats

    today = timezone.localdate()
    grid = "110105001001001"
    ages = [0, 1, 4, 5, 9, 10, 59, 60, 84, 85, 89, 90, 91, 104]
    expected: dict[str, list[int]] = {band_label(b): [0, 0] for b in range(LAST_BAND + 1)}
    for n, age in enumerate(ages):
        born = f"{today.year - age}0101"
        placed = person_in(grid, name=f"年龄{age}", born=born, seq=n * 2 + (n % 2))
        assert placed.person.birth_year == today.year - age
        band = band_label(age_band(placed.person.birth_year, today))
        expected[band][placed.person.sex == "F"] += 1
    assert {band_label(age_band(today.year - a, today)) for a in (89, 90, 104)} == {"85-89", "90+"}
    stats = region_stats(Region.objects.get(code=grid), today=today)
    assert {b: [m, w] for b, m, w in stats.pyramid} == expected
    assert stats.total == len(ages)
