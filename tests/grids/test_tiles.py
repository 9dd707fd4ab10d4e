"""Vector tiles from PostGIS: content, zoom rules, validation, login, caching.

Most tests run on a small hand-made territory that fits one z11 tile, so every count is
known exactly; one test runs on the demo territory to prove the z11 claim the benchmark
relies on (every grid of the district is drawn at the zoom where the district fits).
"""

import gzip
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.cache import cache
from django.db import connection
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from grids import tiles
from grids.models import Level, Region

pytestmark = pytest.mark.django_db

HOME = "110105"
# The z11 tile holding the mini territory: lng 116.367–116.543, lat 39.910–40.044.
Z, X, Y = 11, 1686, 775


# ---- a minimal MVT reader ------------------------------------------------------------
# vector_tile.proto v2 is a small protobuf; the three fields the tests need take a few
# lines, so no decoder library is added to the project for it.


@dataclass
class MvtLayer:
    name: str = ""
    extent: int = 0
    features: int = 0
    keys: list[str] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, value
        elif wire == 2:
            length, pos = _varint(buf, pos)
            yield number, buf[pos : pos + length]
            pos += length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            yield number, int.from_bytes(buf[pos : pos + size], "little")
            pos += size
        else:
            raise ValueError(f"bad wire type {wire}")


def decode(data: bytes) -> dict[str, MvtLayer]:
    """Tile.layers(3) → Layer.name(1), features(2), keys(3), values(4), extent(5)."""
    layers: dict[str, MvtLayer] = {}
    for number, raw in _fields(data):
        assert number == 3 and isinstance(raw, bytes), "a tile holds only layers"
        layer = MvtLayer()
        for lnum, lval in _fields(raw):
            if lnum == 1 and isinstance(lval, bytes):
                layer.name = lval.decode()
            elif lnum == 2:
                layer.features += 1
            elif lnum == 3 and isinstance(lval, bytes):
                layer.keys.append(lval.decode())
            elif lnum == 4 and isinstance(lval, bytes):
                layer.strings += [
                    v.decode() for n, v in _fields(lval) if n == 1 and isinstance(v, bytes)
                ]
            elif lnum == 5 and isinstance(lval, int):
                layer.extent = lval
        layers[layer.name] = layer
    return layers


# ---- fixtures ------------------------------------------------------------------------


def _box(w: float, s: float, e: float, n: float) -> MultiPolygon:
    return MultiPolygon(Polygon.from_bbox((w, s, e, n)), srid=4326)


@pytest.fixture(autouse=True)
def _fresh_version(settings: SettingsWrapper) -> Iterator[None]:
    # Each test sees its own database; a version cached by an earlier test must not leak.
    settings.MAP_TERRITORY_VERSION_TTL = 0
    cache.delete(tiles.VERSION_CACHE_KEY)
    yield
    cache.delete(tiles.VERSION_CACHE_KEY)


@pytest.fixture
def mini() -> dict[str, Region]:
    """Home district (2 streets × 2 communities × 2 grids) and one neighbour district.

    Replaces the session's demo territory for this test only: the test's transaction rolls
    the deletion back.
    """
    with connection.cursor() as cur:
        cur.execute("DELETE FROM grids_region")
    made: dict[str, Region] = {}
    home = Region.objects.create(
        level=Level.DISTRICT, code=HOME, name="朝阳区", boundary=_box(116.40, 39.93, 116.52, 40.02)
    )
    made[HOME] = home
    made["110101"] = Region.objects.create(
        level=Level.DISTRICT,
        code="110101",
        name="东城区",
        boundary=_box(116.30, 39.93, 116.40, 40.02),
    )
    for si, (w, e) in enumerate([(116.40, 116.46), (116.46, 116.52)], start=1):
        street = Region.objects.create(
            level=Level.STREET,
            code=f"{HOME}{si:03}",
            name=f"街道{si}",
            parent=home,
            boundary=_box(w, 39.93, e, 40.02),
            synthetic=True,
        )
        made[street.code] = street
        for ci, (s, n) in enumerate([(39.975, 40.02), (39.93, 39.975)], start=1):
            community = Region.objects.create(
                level=Level.COMMUNITY,
                code=f"{street.code}{ci:03}",
                name=f"社区{si}-{ci}",
                parent=street,
                boundary=_box(w, s, e, n),
                synthetic=True,
            )
            made[community.code] = community
            mid = (w + e) / 2
            for gi, (gw, ge) in enumerate([(w, mid), (mid, e)], start=1):
                grid = Region.objects.create(
                    level=Level.GRID,
                    code=f"{community.code}{gi:03}",
                    name=f"网格{si}-{ci}-{gi}",
                    parent=community,
                    boundary=_box(gw, s, ge, n),
                    synthetic=True,
                )
                made[grid.code] = grid
    return made


@pytest.fixture
def user_client(client: Client) -> Client:
    user = get_user_model().objects.create_user("tiles", password="pw-tiles-1")
    client.force_login(user)
    return client


def _tile_of(lng: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    lat_r = math.radians(lat)
    y = (1 - math.log(math.tan(lat_r) + 1 / math.cos(lat_r)) / math.pi) / 2 * n
    return int((lng + 180) / 360 * n), int(y)


# ---- tile content --------------------------------------------------------------------


def test_grid_tile_holds_every_grid_with_code_name_and_level(mini: dict[str, Region]) -> None:
    data = tiles.tile_bytes("grid", Z, X, Y)
    assert data[:1] == b"\x1a", "an uncompressed MVT starts with field 3 (layers)"
    layers = decode(data)
    assert list(layers) == ["grid"]
    grid = layers["grid"]
    assert grid.extent == 4096
    assert grid.features == 8
    assert set(grid.keys) == {"code", "name", "level"}
    codes = {s for s in grid.strings if re.fullmatch(r"\d{15}", s)}
    assert codes == {c for c, r in mini.items() if r.level == Level.GRID}
    assert "网格1-2-1" in grid.strings


def test_feature_count_matches_postgis(mini: dict[str, Region]) -> None:
    # The same count PostGIS gives for the tile, asked independently of tiles.py.
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM grids_region WHERE level = 3 AND ST_Intersects("
            "ST_Transform(boundary, 3857), ST_TileEnvelope(%s, %s, %s))",
            [Z, X, Y],
        )
        (expected,) = cur.fetchone()
    assert decode(tiles.tile_bytes("community", Z, X, Y))["community"].features == expected == 4


def test_district_layer_shows_every_district(mini: dict[str, Region]) -> None:
    x, y = _tile_of(116.40, 39.97, 8)
    layer = decode(tiles.tile_bytes("district", 8, x, y))["district"]
    assert layer.features == 2
    assert {"110105", "110101", "朝阳区", "东城区"} <= set(layer.strings)


def test_lower_levels_show_only_the_home_district(mini: dict[str, Region]) -> None:
    # A street of another district (say, from a wider import) stays off the map.
    Region.objects.create(
        level=Level.STREET,
        code="110101001",
        name="东华门",
        parent=mini["110101"],
        boundary=_box(116.30, 39.93, 116.40, 40.02),
    )
    layer = decode(tiles.tile_bytes("street", Z, X, Y))["street"]
    assert layer.features == 2
    assert "东华门" not in layer.strings


def test_below_min_zoom_and_far_away_tiles_are_empty(mini: dict[str, Region]) -> None:
    x10, y10 = _tile_of(116.46, 39.97, 10)
    assert tiles.tile_bytes("grid", 10, x10, y10) == b""
    assert tiles.tile_bytes("community", 9, *_tile_of(116.46, 39.97, 9)) == b""
    assert tiles.tile_bytes("street", 8, *_tile_of(116.46, 39.97, 8)) != b""
    # Open ocean at 0°, 0°.
    assert tiles.tile_bytes("grid", 11, *_tile_of(0.1, -0.1, 11)) == b""
    assert tiles.tile_bytes("district", 11, *_tile_of(0.1, -0.1, 11)) == b""


def test_every_layer_has_a_min_zoom_the_district_view_reaches() -> None:
    assert tiles.LAYERS["grid"].min_zoom == 11
    assert [layer.min_zoom for layer in tiles.LAYERS.values()] == sorted(
        layer.min_zoom for layer in tiles.LAYERS.values()
    )


@pytest.mark.parametrize(
    ("layer", "z", "x", "y"),
    [
        ("parcel", 11, 0, 0),
        ("grid", 21, 0, 0),
        ("grid", -1, 0, 0),
        ("grid", 2, 4, 0),
        ("grid", 2, 0, 4),
        ("grid", 0, -1, 0),
    ],
)
def test_invalid_addresses_are_refused(layer: str, z: int, x: int, y: int) -> None:
    with pytest.raises(tiles.InvalidTile):
        tiles.tile_bytes(layer, z, x, y)


# ---- the view ------------------------------------------------------------------------


def test_tile_view_serves_the_tile_with_cache_headers(
    mini: dict[str, Region], user_client: Client
) -> None:
    response = user_client.get(f"/tiles/grid/{Z}/{X}/{Y}.pbf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert "max-age=" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert response["ETag"]
    assert response.content == tiles.tile_bytes("grid", Z, X, Y)

    again = user_client.get(f"/tiles/grid/{Z}/{X}/{Y}.pbf", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert again.content == b""


def test_tile_is_gzipped_when_the_client_accepts_it(
    mini: dict[str, Region], user_client: Client
) -> None:
    url = f"/tiles/grid/{Z}/{X}/{Y}.pbf"
    response = user_client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content) == tiles.tile_bytes("grid", Z, X, Y)
    # The browser sends back the (now weak) ETag; it must still revalidate.
    again = user_client.get(url, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_empty_tile_is_a_200_with_no_body(user_client: Client) -> None:
    x, y = _tile_of(0.1, -0.1, 5)
    response = user_client.get(f"/tiles/district/5/{x}/{y}.pbf")
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/tiles/parcel/11/1686/775.pbf",
        "/tiles/grid/21/0/0.pbf",
        "/tiles/grid/11/2048/775.pbf",
        "/tiles/grid/11/1686/4096.pbf",
    ],
)
def test_tile_view_answers_400_to_bad_addresses(user_client: Client, path: str) -> None:
    response = user_client.get(path)
    assert response.status_code == 400
    assert response.content


def test_tile_view_answers_404_to_malformed_paths(user_client: Client) -> None:
    assert user_client.get("/tiles/grid/eleven/1686/775.pbf").status_code == 404
    assert user_client.get("/tiles/grid/11/1686/775.png").status_code == 404


def test_tile_view_refuses_anonymous(mini: dict[str, Region], client: Client) -> None:
    response = client.get(f"/tiles/grid/{Z}/{X}/{Y}.pbf")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_tile_view_refuses_writes(user_client: Client) -> None:
    assert user_client.post(f"/tiles/grid/{Z}/{X}/{Y}.pbf").status_code == 405


# ---- caching -------------------------------------------------------------------------


def test_tiles_are_built_once_then_served_from_the_cache(
    mini: dict[str, Region], settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.MAP_TERRITORY_VERSION_TTL = 60
    built: list[tuple[str, int, int, int]] = []
    real = tiles.tile_bytes

    def counting(layer: str, z: int, x: int, y: int) -> bytes:
        built.append((layer, z, x, y))
        return real(layer, z, x, y)

    monkeypatch.setattr(tiles, "tile_bytes", counting)
    first = tiles.cached_tile("street", Z, X, Y)
    second = tiles.cached_tile("street", Z, X, Y)
    assert first == second != b""
    assert built == [("street", Z, X, Y)]


def test_changing_a_region_invalidates_its_tiles(
    mini: dict[str, Region], user_client: Client
) -> None:
    url = f"/tiles/street/{Z}/{X}/{Y}.pbf"
    before = user_client.get(url)
    assert "街道1" in decode(before.content)["street"].strings

    street = mini[f"{HOME}001"]
    street.name = "改名街道"
    street.save()

    after = user_client.get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200, "the old ETag must no longer match"
    assert after["ETag"] != before["ETag"]
    names = decode(after.content)["street"].strings
    assert "改名街道" in names and "街道1" not in names


def test_deleting_a_region_invalidates_its_tiles(mini: dict[str, Region]) -> None:
    before = decode(tiles.cached_tile("grid", Z, X, Y))["grid"].features
    Region.objects.filter(code=f"{HOME}002002002").delete()
    assert decode(tiles.cached_tile("grid", Z, X, Y))["grid"].features == before - 1


def test_version_is_reused_within_its_ttl(
    mini: dict[str, Region], settings: SettingsWrapper
) -> None:
    # The brief staleness window is deliberate: it saves a query per tile request.
    settings.MAP_TERRITORY_VERSION_TTL = 60
    version = tiles.territory_version()
    Region.objects.filter(code=f"{HOME}001").update(name="x")
    mini[f"{HOME}002"].save()
    assert tiles.territory_version() == version
    cache.delete(tiles.VERSION_CACHE_KEY)
    assert tiles.territory_version() != version


# ---- region outlines -----------------------------------------------------------------


def test_outline_is_a_geojson_feature(mini: dict[str, Region], user_client: Client) -> None:
    response = user_client.get(f"/map/regions/{HOME}001.geojson")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    assert response["ETag"]
    feature = response.json()
    assert feature["type"] == "Feature"
    assert feature["properties"] == {"code": f"{HOME}001", "name": "街道1", "level": 2}
    assert feature["geometry"]["type"] == "MultiPolygon"
    ring = feature["geometry"]["coordinates"][0][0]
    lngs = [p[0] for p in ring]
    assert min(lngs) == pytest.approx(116.40) and max(lngs) == pytest.approx(116.46)


def test_outline_of_unknown_code_is_404(user_client: Client) -> None:
    assert user_client.get("/map/regions/999999.geojson").status_code == 404


def test_outline_refuses_anonymous(mini: dict[str, Region], client: Client) -> None:
    assert client.get(f"/map/regions/{HOME}.geojson").status_code == 302


# ---- the demo territory: the benchmark's claim -----------------------------------------


def test_z11_tiles_covering_the_district_draw_every_grid(territory: None) -> None:
    home = Region.objects.get(code=HOME)
    w, s, e, n = home.boundary.extent
    (x0, y0), (x1, y1) = _tile_of(w, n, 11), _tile_of(e, s, 11)
    seen: set[str] = set()
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            data = tiles.tile_bytes("grid", 11, x, y)
            if data:
                seen |= {s for s in decode(data)["grid"].strings if re.fullmatch(r"\d{15}", s)}
    expected = set(
        Region.objects.filter(level=Level.GRID, code__startswith=HOME).values_list(
            "code", flat=True
        )
    )
    assert len(expected) > 3000
    assert seen == expected
