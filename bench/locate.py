"""Point → grid: the selector against the same lookup in plain SQL, 10,000 random points."""

import psycopg
from django.conf import settings
from django.db import connection

from bench.common import Entry, median, percentile, time_each
from grids import selectors

N_POINTS = 10_000

# The baseline answers what the selector answers: the covering grid with its community,
# street and district, lowest code first on shared edges.
RAW_SQL = """
SELECT g.id, g.code, g.name, c.code, c.name, s.code, s.name, d.code, d.name
FROM grids_region g
JOIN grids_region c ON c.id = g.parent_id
JOIN grids_region s ON s.id = c.parent_id
JOIN grids_region d ON d.id = s.parent_id
WHERE g.level = 4 AND ST_Covers(g.boundary, ST_SetSRID(ST_MakePoint(%s, %s), 4326))
ORDER BY g.code LIMIT 1
"""


def random_points(n: int = N_POINTS, seed: int = 42) -> list[tuple[float, float]]:
    """Deterministic random points inside the home district."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM ST_Dump(ST_GeneratePoints("
            "(SELECT boundary FROM grids_region WHERE code = %s), %s, %s))",
            [settings.HOME_DISTRICT_CODE, n, seed],
        )
        return [(x, y) for x, y in cur.fetchall()]


def _dsn() -> str:
    db = connection.settings_dict
    return (
        f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} "
        f"dbname={db['NAME']} user={db['USER'] or 'postgres'}"
        + (f" password={db['PASSWORD']}" if db.get("PASSWORD") else "")
    )


def run() -> list[Entry]:
    points = random_points()
    # Warm both paths so neither pays for cold caches.
    for lng, lat in points[:200]:
        selectors.locate(lng=lng, lat=lat)
    orm = time_each(lambda p: selectors.locate(lng=p[0], lat=p[1]), points)
    with psycopg.connect(_dsn(), autocommit=True) as conn, conn.cursor() as cur:
        for lng, lat in points[:200]:
            cur.execute(RAW_SQL, (lng, lat))
            cur.fetchone()

        def raw(p: tuple[float, float]) -> object:
            cur.execute(RAW_SQL, p)
            return cur.fetchone()

        sql = time_each(raw, points)
    found = sum(1 for lng, lat in points[:500] if selectors.grid_at(lng=lng, lat=lat))
    assert found == 500, f"only {found}/500 random district points found a grid"
    return [
        Entry("locate.selector.median", median(orm), "µs", median(sql), "ratio ≤ 1.5", len(points)),
        Entry(
            "locate.selector.p99", percentile(orm, 99), "µs", percentile(sql, 99), "", len(points)
        ),
    ]
