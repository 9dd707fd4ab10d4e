"""Jurisdiction of every list, search, export and profile: a district sees everything, a
street its street, a community its grids, a grid worker their grids — with seed_demo's
accounts and one person and one organisation in each of four grids."""

from io import BytesIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from openpyxl import load_workbook

from core.roles import Role
from grids.models import Membership, Region
from grids.scope import scope_for_user
from population.models import Person
from population.selectors import (
    classify_person_query,
    housing_search,
    organisation_search,
    person_search,
)
from tests.factories import client_for, demo_grids, organisation_in, person_in, run_seed_demo

pytestmark = pytest.mark.django_db

ALL = {"grid1", "grid2", "jianwai_other", "wangjing"}
JIANWAI = {"grid1", "grid2", "jianwai_other"}
VISIBLE = {
    "district_leader": ALL,
    "district_dispatcher": ALL,
    "data_admin": ALL,
    "jianwai_leader": JIANWAI,
    "jianwai_operator": JIANWAI,
    "jianwai_grid1": {"grid1"},
    "jianwai_grid2": {"grid2"},
    "wangjing_leader": {"wangjing"},
    "wangjing_grid1": {"wangjing"},
}


@pytest.fixture
def world(territory: None) -> dict[str, Any]:
    run_seed_demo()
    grids = demo_grids()
    people = {k: person_in(code, name=f"居民{k}") for k, code in grids.items()}
    orgs = {k: organisation_in(code, name=f"商店{k}") for k, code in grids.items()}
    return {"grids": grids, "people": people, "orgs": orgs}


def _names(response: Any) -> set[str]:
    return {k for k in ALL if f"居民{k}" in response.content.decode()}


def _xlsx(response: Any) -> list[tuple[Any, ...]]:
    assert response.status_code == 200, response.content[:300]
    book = load_workbook(BytesIO(b"".join(response.streaming_content)), read_only=True)
    return list(book.worksheets[0].iter_rows(values_only=True))


def test_search_lists_only_what_each_user_may_see(world: dict[str, Any]) -> None:
    for username, expected in VISIBLE.items():
        client = client_for(username)
        assert _names(client.get("/population/")) == expected, username
        assert _names(client.get("/population/", {"q": "居民"})) == expected, username
        # Exact searches do not reach across the boundary either.
        for key, placed in world["people"].items():
            for q in (placed.number, placed.phone, f"{placed.number[:6]}*{placed.number[-4:]}"):
                found = _names(client.get("/population/", {"q": q}))
                assert found == ({key} & expected), (username, q)


def test_housing_and_organisation_lists_are_scoped(world: dict[str, Any]) -> None:
    for username, expected in VISIBLE.items():
        client = client_for(username)
        page = client.get("/population/", {"kind": "organisations"}).content.decode()
        assert {k for k in ALL if f"商店{k}" in page} == expected, username
        page = client.get("/population/", {"kind": "housing", "q": "测试路"}).content.decode()
        seen = {k for k, p in world["people"].items() if p.unit.address in page}
        assert seen == expected, username


def test_exports_are_scoped(world: dict[str, Any]) -> None:
    for username, expected in VISIBLE.items():
        client = client_for(username)
        rows = _xlsx(client.get("/population/export/persons.xlsx"))
        assert {r[0] for r in rows[1:]} == {f"居民{k}" for k in expected}, username
        rows = _xlsx(client.get("/population/export/organisations.xlsx"))
        assert {r[0] for r in rows[1:]} == {f"商店{k}" for k in expected}, username
        rows = _xlsx(client.get("/population/export/housing.xlsx"))
        addresses = {p.unit.address: k for k, p in world["people"].items()}
        assert {addresses[r[0]] for r in rows[1:]} == expected, username


def test_profiles_and_building_layers_are_scoped(world: dict[str, Any]) -> None:
    grids = world["grids"]
    codes = {k: code for k, code in grids.items()}
    for username, expected in VISIBLE.items():
        client = client_for(username)
        for key, code in codes.items():
            status = 200 if key in expected else 404
            assert client.get(f"/population/profile/{code}/").status_code == status, (
                username,
                key,
            )
            layer = client.get(f"/population/regions/{code}/buildings.geojson")
            assert layer.status_code == status, (username, key)
        street_ok = username.startswith(("district", "data", "jianwai_leader", "jianwai_op"))
        assert client.get("/population/profile/110105001/").status_code == (
            200 if street_ok else 404
        ), username
        district = client.get("/population/profile/110105/")
        assert district.status_code == (200 if expected == ALL else 404), username


def test_person_and_organisation_details_are_scoped(world: dict[str, Any]) -> None:
    for username, expected in VISIBLE.items():
        client = client_for(username)
        for key in ALL:
            status = 200 if key in expected else 404
            person = world["people"][key].person
            assert client.get(f"/population/persons/{person.pk}/").status_code == status
            org = world["orgs"][key]
            assert client.get(f"/population/organisations/{org.pk}/").status_code == status


def test_a_community_role_sees_the_grids_of_its_community(world: dict[str, Any]) -> None:
    community = Region.objects.get(code=world["grids"]["grid1"][:12])
    user = get_user_model().objects.create_user("community_worker", password="x")
    Membership.objects.create(user=user, region=community, role=Role.LEADER)
    scope = scope_for_user(user)
    names = set(person_search(scope, classify_person_query("")).values_list("name", flat=True))
    assert names == {"居民grid1", "居民grid2"}
    assert housing_search(scope, "").count() == 2
    assert organisation_search(scope, "").count() == 2


def test_no_territory_no_data(world: dict[str, Any]) -> None:
    handler = client_for("jianwai_cg")  # department handlers act on cases, not on people
    assert handler.get("/population/").status_code == 403
    assert handler.get("/population/export/persons.xlsx").status_code == 403
    assert handler.get("/population/profile/").status_code == 403
    person = world["people"]["grid1"].person
    assert handler.get(f"/population/persons/{person.pk}/").status_code == 404
    anonymous = Client()
    response = anonymous.get("/population/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert anonymous.get("/population/profile/110105/").status_code == 302


def test_a_region_filter_outside_the_scope_finds_nothing(world: dict[str, Any]) -> None:
    client = client_for("jianwai_leader")
    response = client.get("/population/", {"region": world["grids"]["wangjing"]})
    assert _names(response) == set()
    assert "不在您的管辖范围内" in response.content.decode()
    response = client.get("/population/", {"region": world["grids"]["grid2"]})
    assert _names(response) == {"grid2"}
    # The profile link of a grid worker goes to their own grid.
    home = client_for("jianwai_grid1").get("/population/profile/")
    assert home["Location"].endswith(f"/population/profile/{world['grids']['grid1']}/")
    assert Person.objects.count() == 4


def test_a_neighbouring_district_is_outside_every_scope(world: dict[str, Any]) -> None:
    """Its profile and buildings are not the home district's under another name."""
    client = client_for("district_leader")
    assert client.get("/population/profile/110101/").status_code == 404
    assert client.get("/population/regions/110101/buildings.geojson").status_code == 404
    assert _names(client.get("/population/", {"region": "110101"})) == set()
