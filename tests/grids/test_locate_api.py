"""GET /api/v1/grids/locate/: inside, on a shared edge, outside, malformed."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.test import APIClient

from grids.crs import wgs84_to_gcj02
from grids.models import Level, Region
from tests.factories import grid_point

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(territory: None) -> APIClient:
    user = get_user_model().objects.create_user("locator", password="pw-locate-1")
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_point_inside_a_grid_returns_its_hierarchy(api: APIClient) -> None:
    grid = Region.objects.filter(level=Level.GRID).order_by("code")[100]
    lng, lat = grid_point(grid.code)
    response = api.get("/api/v1/grids/locate/", {"lng": lng, "lat": lat})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["grid"] == {"code": grid.code, "name": grid.name}
    assert body["community"]["code"] == grid.code[:12]
    assert body["street"]["code"] == grid.code[:9]
    assert body["district"] == {"code": "110105", "name": "朝阳区"}


def test_gcj02_input_is_converted(api: APIClient) -> None:
    grid = Region.objects.filter(level=Level.GRID).order_by("code")[200]
    lng, lat = grid_point(grid.code)
    glng, glat = wgs84_to_gcj02(lng, lat)
    params: dict[str, str | float] = {"lng": glng, "lat": glat, "crs": "gcj02"}
    response = api.get("/api/v1/grids/locate/", params)
    assert response.status_code == 200
    assert response.json()["grid"]["code"] == grid.code
    assert abs(response.json()["lng"] - lng) < 1e-7
    # The same GCJ-02 numbers read as WGS 84 land hundreds of metres away.
    assert abs(glng - lng) > 0.001


def test_point_on_a_shared_edge_is_answered_deterministically(api: APIClient) -> None:
    with connection.cursor() as cur:
        # A vertex of the line two neighbouring grids share lies exactly on both boundaries.
        cur.execute(
            """
            SELECT ST_X(p), ST_Y(p) FROM (
              SELECT ST_StartPoint(ST_GeometryN(ST_LineMerge(ST_CollectionExtract(
                       ST_Intersection(a.boundary, b.boundary), 2)), 1)) p
              FROM grids_region a JOIN grids_region b
                ON a.level = 4 AND b.level = 4 AND a.code < b.code
               AND ST_Intersects(a.boundary, b.boundary)
              WHERE a.code LIKE '110105001%%'
              LIMIT 50) s
            WHERE p IS NOT NULL LIMIT 1
            """
        )
        lng, lat = cur.fetchone()
        cur.execute(
            "SELECT code FROM grids_region WHERE level = 4 AND "
            "ST_Covers(boundary, ST_SetSRID(ST_MakePoint(%s, %s), 4326)) ORDER BY code",
            [lng, lat],
        )
        covering = [row[0] for row in cur.fetchall()]
    assert len(covering) >= 2, "the point should lie on at least two grids"
    answers = {
        api.get("/api/v1/grids/locate/", {"lng": lng, "lat": lat}).json()["grid"]["code"]
        for _ in range(3)
    }
    assert answers == {covering[0]}


def test_point_across_the_border_names_the_neighbouring_district(api: APIClient) -> None:
    # Tiananmen lies in Dongcheng, a few kilometres west of Chaoyang.
    response = api.get("/api/v1/grids/locate/", {"lng": 116.3975, "lat": 39.9087})
    assert response.status_code == 404
    body = response.json()
    assert "东城区" in body["detail"]
    assert body["district"]["code"] == "110101"


def test_point_outside_beijing(api: APIClient) -> None:
    response = api.get("/api/v1/grids/locate/", {"lng": 121.47, "lat": 31.23})
    assert response.status_code == 404
    assert body_mentions(response.json(), "朝阳区")
    assert response.json()["district"] is None


def body_mentions(body: dict[str, object], text: str) -> bool:
    return text in str(body["detail"])


@pytest.mark.parametrize(
    "params, field",
    [
        ({"lng": "abc", "lat": "39.9"}, "lng"),
        ({"lng": "116.4"}, "lat"),
        ({"lng": "200", "lat": "39.9"}, "lng"),
        ({"lng": "116.4", "lat": "-91"}, "lat"),
        ({"lng": "116.4", "lat": "39.9", "crs": "bd09"}, "crs"),
    ],
)
def test_malformed_coordinates_get_400_naming_the_field(
    api: APIClient, params: dict[str, str], field: str
) -> None:
    response = api.get("/api/v1/grids/locate/", params)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_region_detail_and_search(api: APIClient) -> None:
    street = Region.objects.get(code="110105001")
    detail = api.get(f"/api/v1/grids/regions/{street.code}/").json()
    assert detail["name"] == street.name
    assert [c["code"] for c in detail["children"]] == list(
        street.children.order_by("code").values_list("code", flat=True)
    )
    assert detail["ancestors"] == [{"code": "110105", "name": "朝阳区"}]
    found = api.get("/api/v1/grids/regions/", {"q": street.name[:2]}).json()
    assert street.code in [r["code"] for r in found["results"]]
    assert api.get("/api/v1/grids/regions/nope/").status_code == 404
    assert api.get("/api/v1/grids/regions/", {"level": "9"}).status_code == 400
