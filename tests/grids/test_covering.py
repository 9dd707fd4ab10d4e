"""grids.covering, the one point → grid definition: over many points in one statement it
answers what grids.selectors.locate answers for each point — inside a grid, on an edge or
a corner shared by several grids (the lowest code wins), and outside every grid."""

import pytest
from django.db import connection

from grids.covering import covering_grids_sql
from grids.selectors import locate

pytestmark = pytest.mark.django_db

Point = tuple[float, float]


def _shared_points() -> list[Point]:
    """Vertices of the grids of one street: in an exact partition, points that lie on two
    grids (an edge) or on three or more (a corner)."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT DISTINCT ST_X(d.geom), ST_Y(d.geom)
            FROM (SELECT boundary FROM grids_region
                  WHERE level = 4 AND code LIKE '110105001%%' ORDER BY code LIMIT 12) g,
                 ST_DumpPoints(g.boundary) d
            """
        )
        return [(x, y) for x, y in cur.fetchall()]


def _inner_points() -> list[Point]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(boundary) p "
            "FROM grids_region WHERE level = 4 ORDER BY code LIMIT 5) s"
        )
        return [(x, y) for x, y in cur.fetchall()]


OUTSIDE: list[Point] = [
    (116.3975, 39.9087),  # Tiananmen, in Dongcheng: a neighbouring district, no grids
    (121.47, 31.23),  # Shanghai
    (0.0, 0.0),
]


def _covering_codes(point: Point) -> list[str]:
    """Every grid whose boundary covers the point, by code (an oracle written apart)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT code FROM grids_region WHERE level = 4 AND "
            "ST_Covers(boundary, ST_SetSRID(ST_MakePoint(%s, %s), 4326)) ORDER BY code",
            list(point),
        )
        return [row[0] for row in cur.fetchall()]


def _set_based(points: list[Point]) -> dict[int, tuple[int, int, int]]:
    """The definition over all the points in one statement: position → grid, community,
    street."""
    covering = covering_grids_sql(
        "SELECT n AS key, ST_SetSRID(ST_MakePoint(lng, lat), 4326) AS geom "
        "FROM unnest(%s::int[], %s::float8[], %s::float8[]) AS u(n, lng, lat)"
    )
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT key, grid_id, community_id, street_id FROM ({covering}) c",
            [list(range(len(points))), [p[0] for p in points], [p[1] for p in points]],
        )
        return {key: (grid, community, street) for key, grid, community, street in cur}


def test_the_set_based_definition_answers_as_locate(territory: None) -> None:
    shared = _shared_points()
    points = shared + _inner_points() + OUTSIDE
    covering = [_covering_codes(p) for p in points]
    # The sample holds what the definition must settle: edges, corners, inside, outside.
    assert sum(len(c) == 2 for c in covering) >= 5
    assert sum(len(c) >= 3 for c in covering) >= 3
    assert sum(len(c) == 1 for c in covering) >= 5
    assert sum(len(c) == 0 for c in covering) == len(OUTSIDE)

    answers = _set_based(points)
    for n, (point, codes) in enumerate(zip(points, covering, strict=True)):
        found = locate(lng=point[0], lat=point[1])
        if not codes:
            assert found is None and n not in answers, point
            continue
        assert found is not None, point
        assert found.grid.code == codes[0], (point, codes)  # the lowest code wins
        assert found.community.code == codes[0][:12] and found.street.code == codes[0][:9]
        assert answers[n] == (found.grid.id, found.community.id, found.street.id), point


def test_one_row_per_point_even_where_grids_meet(territory: None) -> None:
    points = _shared_points()
    covering = covering_grids_sql(
        "SELECT n AS key, ST_SetSRID(ST_MakePoint(lng, lat), 4326) AS geom "
        "FROM unnest(%s::int[], %s::float8[], %s::float8[]) AS u(n, lng, lat)"
    )
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT count(*), count(DISTINCT key) FROM ({covering}) c",
            [list(range(len(points))), [p[0] for p in points], [p[1] for p in points]],
        )
        rows, keys = cur.fetchone()
    assert rows == keys == len(points)


def test_keys_are_required() -> None:
    with pytest.raises(ValueError):
        covering_grids_sql("SELECT 1 AS key, NULL::geometry AS geom", keys=())
