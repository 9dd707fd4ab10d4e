"""The reference data a client needs: the category catalogue and the department directory."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from cases.models import Category
from dispatch.models import Department
from tests.factories import module_demo

pytestmark = pytest.mark.django_db

demo = module_demo()


def client_for(username: str) -> APIClient:
    api = APIClient()
    api.force_authenticate(User.objects.get(username=username))
    return api


def test_categories_list_the_active_catalogue_with_groups_and_subcategories(demo: None) -> None:
    Category.objects.filter(code="0602").update(active=False)
    rows = client_for("jianwai_grid1").get("/api/v1/categories/").json()
    codes = [r["code"] for r in rows]
    assert "0602" not in codes
    assert len(codes) == Category.objects.filter(active=True).count()
    garbage = next(r for r in rows if r["code"] == "0601")
    assert garbage["leaf"] is True and garbage["parent"] == "06"
    assert garbage["name"] == Category.objects.get(code="0601").name
    group = next(r for r in rows if r["code"] == "06")
    assert group["leaf"] is False and group["parent"] is None
    leaves = client_for("jianwai_grid1").get("/api/v1/categories/", {"leaf": "true"}).json()
    assert leaves and all(r["leaf"] for r in leaves)
    one_group = client_for("jianwai_grid1").get("/api/v1/categories/", {"parent": "06"}).json()
    assert {r["parent"] for r in one_group} == {"06"} and "0601" in [r["code"] for r in one_group]
    detail = client_for("jianwai_grid1").get("/api/v1/categories/0601/")
    assert detail.status_code == 200 and detail.json()["code"] == "0601"
    assert client_for("jianwai_grid1").get("/api/v1/categories/0602/").status_code == 404


def test_a_listed_subcategory_is_what_intake_accepts(demo: None) -> None:
    leaves = client_for("jianwai_grid1").get("/api/v1/categories/", {"leaf": "true"}).json()
    groups = client_for("jianwai_grid1").get("/api/v1/categories/", {"leaf": "false"}).json()
    from dispatch import reference

    assert all(reference.active_leaf(r["code"]) is not None for r in leaves)
    assert all(reference.active_leaf(r["code"]) is None for r in groups)


def test_departments_directory_with_filters(demo: None) -> None:
    api = client_for("jianwai_cg")
    page = api.get("/api/v1/departments/").json()
    assert page["count"] == Department.objects.filter(active=True).count()
    row = page["results"][0]
    assert set(row) == {"id", "code", "name", "level", "level_display", "kind", "region"}
    street = api.get("/api/v1/departments/", {"region": "110105001"}).json()["results"]
    assert street and {d["region"]["code"] for d in street} == {"110105001"}
    assert {d["level"] for d in street} == {"street"}
    district = api.get("/api/v1/departments/", {"level": "district"}).json()["results"]
    assert district and {d["region"]["code"] for d in district} == {"110105"}
    sanitation = api.get(
        "/api/v1/departments/", {"region": "110105001", "kind": "sanitation"}
    ).json()
    assert [d["code"] for d in sanitation["results"]] == ["110105001-sanitation"]
    refused = api.get("/api/v1/departments/", {"level": "county"})
    assert refused.status_code == 400 and "level" in refused.json()["fields"]
