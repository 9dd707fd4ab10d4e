"""Vector tiles at z11, where the whole district shows with every grid: size and build time.

Baseline: the same tile SQL sent by plain psycopg, so the ratio is the cost of our path
(validation, Django's cursor) over PostGIS's own work.
"""

import math

import psycopg
from django.conf import settings

from bench.common import Entry, median, time_each
from bench.locate import _dsn
from grids import tiles
from grids.models import Region

ZOOM = 11
ROUNDS = 5


def _tile_xy(lng: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lng + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def district_tiles(z: int = ZOOM) -> list[tuple[int, int, int]]:
    west, south, east, north = Region.objects.get(code=settings.HOME_DISTRICT_CODE).boundary.extent
    x0, y0 = _tile_xy(west, north, z)
    x1, y1 = _tile_xy(east, south, z)
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def run() -> list[Entry]:
    addresses = district_tiles()
    sizes = [len(tiles.tile_bytes("grid", *a)) for a in addresses]
    ours = [
        t
        for _ in range(ROUNDS)
        for t in time_each(lambda a: tiles.tile_bytes("grid", *a), addresses)
    ]
    params = [
        {
            "z": z,
            "x": x,
            "y": y,
            "margin": tiles.BUFFER / tiles.EXTENT,
            "level": int(tiles.LAYERS["grid"].level),
            "prefix": f"{settings.HOME_DISTRICT_CODE}%",
            "layer": "grid",
        }
        for z, x, y in addresses
    ]
    with psycopg.connect(_dsn(), autocommit=True) as conn, conn.cursor() as cur:

        def raw(p: dict[str, object]) -> object:
            cur.execute(tiles._TILE_SQL, p)
            return cur.fetchone()

        base = [t for _ in range(ROUNDS) for t in time_each(raw, params)]
    n = len(addresses)
    return [
        Entry(
            f"tiles.grid.z{ZOOM}.median_build",
            median(ours) / 1000,
            "ms",
            median(base) / 1000,
            "",
            n * ROUNDS,
        ),
        Entry(
            f"tiles.grid.z{ZOOM}.total_bytes",
            float(sum(sizes)),
            "B",
            None,
            f"{n} tiles cover the district",
            n,
        ),
        Entry(f"tiles.grid.z{ZOOM}.max_tile_bytes", float(max(sizes)), "B", None, "≤ 500 kB", n),
    ]
