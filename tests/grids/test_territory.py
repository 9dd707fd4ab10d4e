"""The demo territory: real districts, and in Chaoyang 43 real-named streets over a
synthetic hierarchy that partitions every parent exactly."""

import csv
import itertools
import json
from collections.abc import Sequence
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from core.roles import Role
from grids.crs import gcj02_to_wgs84
from grids.models import CODE_LENGTH, Level, Membership, Region
from grids.territory import (
    CHAOYANG,
    DATA_DIR,
    build_demo_territory,
    ensure_demo_territory,
    expected_codes,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("territory")]

CHILD_LEVELS = [Level.STREET, Level.COMMUNITY, Level.GRID]


def csv_streets() -> list[dict[str, str]]:
    with (DATA_DIR / "chaoyang-streets.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def fetch(query: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


def test_streets_have_the_real_names_in_csv_order() -> None:
    streets = list(Region.objects.filter(level=Level.STREET).order_by("code"))
    rows = csv_streets()
    assert len(streets) == len(rows) == 43
    for seq, (street, row) in enumerate(zip(streets, rows, strict=True), start=1):
        assert street.code == f"{CHAOYANG}{seq:03d}"
        assert street.name == row["name"] + row["kind"]
        assert street.kind == row["kind"]
        assert street.synthetic
    kinds = [s.kind for s in streets]
    assert kinds.count("街道") == 24
    assert kinds.count("地区") == 19


def test_airport_street_is_exactly_the_exclave() -> None:
    # Chaoyang's smaller part is the Capital Airport exclave; the street is that part,
    # whole, and no other street reaches into it.
    [(equal, others)] = fetch(
        """WITH parts AS (
             SELECT d.geom, row_number() OVER (ORDER BY ST_Area(d.geom) DESC) AS rank
             FROM grids_region AS r, ST_Dump(r.boundary) AS d WHERE r.code = %s
           ),
           exclave AS (SELECT geom FROM parts WHERE rank > 1)
           SELECT ST_Equals(a.boundary, (SELECT ST_Union(geom) FROM exclave)),
                  (SELECT count(*) FROM grids_region AS s, exclave
                   WHERE s.level = 2 AND s.id <> a.id
                     AND ST_Area(ST_Intersection(s.boundary, exclave.geom)) > 0)
           FROM grids_region AS a WHERE a.name = '首都机场街道'""",
        [CHAOYANG],
    )
    assert equal
    assert others == 0
    chaoyang = Region.objects.get(code=CHAOYANG)
    assert chaoyang.boundary.num_geom == 2


def test_counts_codes_and_prefixes() -> None:
    counts = {
        level: Region.objects.filter(level=level, code__startswith=CHAOYANG).count()
        for level in Level
    }
    assert counts[Level.STREET] == 43
    assert counts[Level.COMMUNITY] >= 400
    assert counts[Level.GRID] >= 3000
    [(bad,)] = fetch(
        """SELECT count(*) FROM grids_region AS c JOIN grids_region AS p ON p.id = c.parent_id
           WHERE c.level <> p.level + 1 OR NOT starts_with(c.code, p.code)
              OR length(c.code) <> CASE c.level WHEN 2 THEN 9 WHEN 3 THEN 12 ELSE 15 END"""
    )
    assert bad == 0
    for level, length in CODE_LENGTH.items():
        assert not Region.objects.filter(level=level).exclude(code__regex=rf"^\d{{{length}}}$")
    # Every street has about ten communities, every community about eight grids.
    [(min_comm, max_comm)] = fetch(
        "SELECT min(n), max(n) FROM (SELECT count(*) AS n FROM grids_region "
        "WHERE level = 3 GROUP BY parent_id) AS t"
    )
    assert 5 <= min_comm <= max_comm <= 20


def test_other_districts_are_real_and_childless() -> None:
    index = {
        e["adcode"]: e["district"]
        for e in json.loads((DATA_DIR / "index.json").read_text(encoding="utf-8"))
    }
    districts = Region.objects.filter(level=Level.DISTRICT)
    assert {d.code for d in districts} == {c for c in index if c != "110000"}
    for d in districts:
        assert d.parent_id is None
        assert d.name == index[d.code]
        assert not d.synthetic
        assert d.area_m2 > 1e7
        if d.code != CHAOYANG:
            assert not d.children.exists()
    assert Region.objects.get(code="110101").name == "东城区"
    # Chaoyang is about 470 km².
    assert 440e6 < Region.objects.get(code=CHAOYANG).area_m2 < 500e6


def test_districts_are_converted_from_gcj02_vertex_by_vertex() -> None:
    geojson = json.loads((DATA_DIR / "110101.geojson").read_text(encoding="utf-8"))
    ring = geojson["coordinates"][0][0]
    stored = Region.objects.get(code="110101").boundary
    stored_vertices = {(round(x, 7), round(y, 7)) for x, y in stored[0][0]}
    for lng, lat in ring[:: max(1, len(ring) // 20)]:
        x, y = gcj02_to_wgs84(lng, lat)
        assert (round(x, 7), round(y, 7)) in stored_vertices


def test_all_boundaries_are_valid_multipolygons_with_area() -> None:
    [(total, invalid, wrong_type, wrong_srid, empty, bad_area, not_synthetic)] = fetch(
        """SELECT count(*),
                  count(*) FILTER (WHERE NOT ST_IsValid(boundary)),
                  count(*) FILTER (WHERE GeometryType(boundary) <> 'MULTIPOLYGON'),
                  count(*) FILTER (WHERE ST_SRID(boundary) <> 4326),
                  count(*) FILTER (WHERE ST_IsEmpty(boundary)),
                  count(*) FILTER (WHERE abs(area_m2 - ST_Area(boundary::geography)) > 1),
                  count(*) FILTER (WHERE level > 1 AND NOT synthetic)
           FROM grids_region"""
    )
    assert total >= len(expected_codes())
    assert (invalid, wrong_type, wrong_srid, empty, bad_area, not_synthetic) == (0,) * 6


@pytest.mark.parametrize("level", CHILD_LEVELS, ids=lambda lvl: lvl.name.lower())
def test_children_partition_their_parent(level: Level) -> None:
    rows = fetch(
        """SELECT p.code, ST_Area(p.boundary::geography),
                  ST_Area(ST_Union(c.boundary)::geography),
                  sum(ST_Area(c.boundary::geography)),
                  bool_and(ST_CoveredBy(c.boundary, p.boundary))
           FROM grids_region AS c JOIN grids_region AS p ON p.id = c.parent_id
           WHERE c.level = %s GROUP BY p.id""",
        [level],
    )
    assert rows
    for code, parent_area, union_area, sum_area, covered in rows:
        assert covered, code
        assert union_area == pytest.approx(parent_area, rel=1e-3), code
        assert sum_area == pytest.approx(parent_area, rel=1e-3), code


@pytest.mark.parametrize("level", CHILD_LEVELS, ids=lambda lvl: lvl.name.lower())
def test_siblings_do_not_overlap(level: Level) -> None:
    [(pairs, overlap)] = fetch(
        """SELECT count(*), coalesce(max(ST_Area(ST_Intersection(a.boundary, b.boundary))), 0)
           FROM grids_region AS a
           JOIN grids_region AS b
             ON b.parent_id = a.parent_id AND a.id < b.id AND ST_Intersects(a.boundary, b.boundary)
           WHERE a.level = %s""",
        [level],
    )
    assert pairs > 0  # neighbours touch: the check is not vacuous
    assert overlap == 0


def test_grids_are_numbered_west_to_east_then_north_to_south() -> None:
    for community_code in ("110105001001", "110105020005", "110105037010"):
        community = Region.objects.get(code=community_code)
        grids = list(community.children.order_by("code"))
        assert [g.code[-3:] for g in grids] == [f"{i:03d}" for i in range(1, len(grids) + 1)]
        centres = [(g.boundary.centroid.x, g.boundary.centroid.y) for g in grids]
        # Cut the sequence into rows where it jumps back west; each row runs west to
        # east, and every row lies wholly north of the next.
        rows: list[list[tuple[float, float]]] = [[centres[0]]]
        for prev, here in itertools.pairwise(centres):
            if here[0] < prev[0]:
                rows.append([])
            rows[-1].append(here)
        assert len(rows) >= 2
        for north, south in itertools.pairwise(rows):
            assert min(y for _, y in north) >= max(y for _, y in south), community_code


def test_communities_are_numbered_north_first() -> None:
    street = Region.objects.get(code="110105033")
    communities = list(street.children.order_by("code"))
    ys = [c.boundary.centroid.y for c in communities]
    assert ys[0] > sorted(ys)[len(ys) // 2]  # the first community is in the northern half
    assert ys[-1] < sorted(ys)[len(ys) // 2]  # the last in the southern half
    kinds = {c.kind for c in communities}
    assert kinds == {"村"}  # 来广营 is a township (地区): villages
    assert communities[0].name == "来广营一村"
    assert Region.objects.get(code="110105001003").name == "建外第三社区"


def test_ensure_does_nothing_when_the_territory_is_there() -> None:
    before = Region.objects.latest("updated_at").updated_at
    stats = ensure_demo_territory()
    assert stats["built"] is False
    assert stats["streets"] == 43
    assert Region.objects.latest("updated_at").updated_at == before


def test_rebuild_is_idempotent() -> None:
    ids = dict(Region.objects.values_list("code", "id"))
    stats = build_demo_territory()
    assert stats["created"] == stats["updated"] == stats["deleted"] == 0
    assert stats["unchanged"] == len(ids)
    assert dict(Region.objects.values_list("code", "id")) == ids


def test_rebuild_with_another_seed_updates_in_place_and_keeps_referenced_regions() -> None:
    user = get_user_model().objects.create_user(username="worker", password="x")
    grid = Region.objects.get(code="110105001001001")
    Membership.objects.create(user=user, region=grid, role=Role.GRID_WORKER)
    ids = dict(Region.objects.values_list("code", "id"))
    stats = build_demo_territory(seed=7)
    assert stats["created"] == stats["deleted"] == 0
    assert stats["updated"] > 3000  # new synthetic boundaries, same codes
    assert dict(Region.objects.values_list("code", "id")) == ids
    grid.refresh_from_db()
    assert grid.memberships.get().user == user
    [(overlap,)] = fetch(
        """SELECT coalesce(max(ST_Area(ST_Intersection(a.boundary, b.boundary))), 0)
           FROM grids_region AS a JOIN grids_region AS b
             ON b.parent_id = a.parent_id AND a.id < b.id AND ST_Intersects(a.boundary, b.boundary)
           WHERE a.level = 4"""
    )
    assert overlap == 0


def test_rebuild_deletes_stale_synthetic_regions_unless_referenced() -> None:
    community = Region.objects.get(code="110105001001")
    box = community.children.order_by("code").first()
    assert box is not None

    def stale(code: str) -> Region:
        return Region.objects.create(
            level=Level.GRID, code=code, name=code, parent=community, boundary=box.boundary,
            synthetic=True,
        )  # fmt: skip

    gone, kept = stale("110105001001098"), stale("110105001001099")
    user = get_user_model().objects.create_user(username="keeper", password="x")
    Membership.objects.create(user=user, region=kept, role=Role.GRID_WORKER)
    stats = build_demo_territory()
    assert (stats["deleted"], stats["stale_kept"]) == (1, 1)
    assert not Region.objects.filter(pk=gone.pk).exists()
    assert Region.objects.filter(pk=kept.pk).exists()
