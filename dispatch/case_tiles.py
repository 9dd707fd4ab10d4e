"""The open-case map layer: Mapbox vector tiles of live cases, built by PostGIS.

A command centre watches up to ~50,000 open cases on one map. As GeoJSON that would be
megabytes per refresh; as tiles the browser fetches only what it shows, and PostGIS
clips, projects and encodes (ST_TileEnvelope → ST_AsMVTGeom → ST_AsMVT) so Python only
moves bytes.

- Below POINT_MIN_ZOOM a tile holds *clusters*: points snapped to a grid of cells that is
  aligned with the tile grid, one feature per cell, at the cell's centre, with its count
  and how many of them are red and yellow.
- From POINT_MIN_ZOOM on, a tile holds each case: id, number, light, status, supervised.

Scoping is not decided here: callers pass the queryset of cases the actor may see
(dispatch.selectors), and its SQL becomes the tile's source, so the map can never show
more than the lists do.

Measured with 50,000 open cases spread over the district (a loaded 2-CPU machine): the
district's cluster tiles p50 ~130–230 ms at z10–z11, ~25–75 ms at z12–z13; point tiles
(z14+) ~10 ms, the largest ~30 kB; a street's tiles ~10–15 ms at every zoom.

Tiles are cached per scope under a *case stamp* (the latest updated_at of any case: every
transition and every sweep bumps it), so a change anywhere gives every tile a new key at
once and no stale tile is ever served; the stamp itself is one index lookup.
"""

import hashlib
import math
from collections.abc import Sequence
from typing import Any

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point, Polygon
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max, QuerySet

from cases.models import Case

MAX_ZOOM = 20
EXTENT = 4096  # tile coordinate space, the MVT default
TILE_PX = 256  # Leaflet's tile size: pixel figures below are screen pixels
# Where single cases replace clusters. At z14 a tile is ~2.4 km wide: even the densest
# street (50,000 cases over ~20 km²) puts a few thousand points in one, which a canvas
# draws in milliseconds; below that, clusters.
POINT_MIN_ZOOM = 14
# Cells per tile side for clusters: 4 → 64-pixel cells, room for a labelled circle each.
CLUSTER_CELLS = 4
# Pixels kept beyond the tile edge so a circle cut by the edge is finished by its
# neighbour: one whole cell for clusters (cells are never split), a marker's size for points.
POINT_BUFFER_PX = 16
CLUSTER_BUFFER_PX = TILE_PX // CLUSTER_CELLS

WORLD_M = 2 * math.pi * 6378137  # width of the Web Mercator world, metres
TILE_CACHE_TTL = 120  # keys carry the case stamp, so this only bounds memory use
STAMP_CACHE_KEY = "dispatch:case-stamp"
STAMP_TTL = 1  # seconds: at most this late after a change, well inside the 3-s poll


class InvalidTile(ValueError):
    """The zoom or tile address does not exist."""


def validate(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidTile(f"zoom {z} outside 0..{MAX_ZOOM}")
    size = 1 << z
    if not (0 <= x < size and 0 <= y < size):
        raise InvalidTile(f"tile {x}/{y} outside 0..{size - 1} at zoom {z}")


def _lng(x: float, z: int) -> float:
    return x / (1 << z) * 360.0 - 180.0


def _lat(y: float, z: int) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / (1 << z)))))


def tile_box(z: int, x: int, y: int, margin_px: int) -> Polygon:
    """The tile, widened by margin_px on each side, as a lon/lat rectangle.

    Filtering on it in 4326 lets the GiST index on location do the work; only rows that
    reach the tile pay for the transform to 3857. A Mercator rectangle stays a rectangle
    in lon/lat, so the box is exact.
    """
    m = margin_px / TILE_PX
    return Polygon.from_bbox(
        (_lng(x - m, z), _lat(y + 1 + m, z), _lng(x + 1 + m, z), _lat(y - m, z))
    )


def _source(scope: QuerySet[Case], box: Polygon, columns: Sequence[str]) -> tuple[str, Any]:
    """The scoped cases inside the box as SQL: the caller's queryset, compiled."""
    qs = scope.filter(location__isnull=False, location__bboverlaps=box)
    # No ORDER BY: it would stop PostgreSQL from flattening the subquery into the tile query.
    sql, params = qs.order_by().values_list(*columns).query.sql_with_params()
    return f"({sql}) AS s({', '.join(columns)})", params


_POINTS_SQL = """
WITH features AS (
  SELECT s.id, s.number, s.light, s.status, s.supervised,
         ST_AsMVTGeom(ST_Transform(s.location, 3857), ST_TileEnvelope(%s, %s, %s),
                      {extent}, {buffer}, true) AS geom
  FROM {source}
)
SELECT ST_AsMVT(features.*, 'cases', {extent}, 'geom') FROM features WHERE geom IS NOT NULL
"""

# Cells are aligned with tile edges (the world's west and north edges are whole multiples
# of a cell), so a cell is either wholly inside the widened box or wholly outside it: every
# tile that draws a cluster draws it with the same count. Each cluster is drawn at its
# cell's centre: centres are a cell apart, so labelled circles never cover each other.
#
# This is ST_SnapToGrid(ST_Transform(location, 3857), <half-cell origin>, cell, cell) done
# in arithmetic (the spherical Mercator formulas PostGIS uses for 3857): a district tile at
# z10 holds nearly every open case, and two geometries built per row were the largest part
# of the query (worst z10/z11 tile with 50,000 open cases: ~450 ms → ~280 ms).
_MERC_X = f"(ST_X(s.location) * {WORLD_M / 360!r} + {WORLD_M / 2!r})"
_MERC_Y = f"(ln(tan(radians(45 + ST_Y(s.location) / 2))) * 6378137 + {WORLD_M / 2!r})"
_CLUSTERS_SQL = f"""
WITH cells AS (
  SELECT floor({_MERC_X} / %s) AS ix, floor({_MERC_Y} / %s) AS iy,
         count(*) AS count,
         count(*) FILTER (WHERE s.light = 'red') AS red,
         count(*) FILTER (WHERE s.light = 'yellow') AS yellow
  FROM {{source}}
  GROUP BY 1, 2
), features AS (
  SELECT count, red, yellow,
         ST_AsMVTGeom(
           ST_SetSRID(ST_MakePoint((ix + 0.5) * %s - {WORLD_M / 2!r},
                                   (iy + 0.5) * %s - {WORLD_M / 2!r}), 3857),
           ST_TileEnvelope(%s, %s, %s), {{extent}}, {{buffer}}, true) AS geom
  FROM cells
)
SELECT ST_AsMVT(features.*, 'clusters', {{extent}}, 'geom') FROM features WHERE geom IS NOT NULL
"""


def case_tile_bytes(scope: QuerySet[Case], z: int, x: int, y: int) -> bytes:
    """The uncompressed MVT of the live cases in `scope` for one tile; b"" when empty.

    `scope` is a queryset already limited to what the actor may see and to live cases
    (selectors.live(selectors.cases_visible(actor))). Uncached: benchmarks time this.
    """
    validate(z, x, y)
    if z >= POINT_MIN_ZOOM:
        buffer = POINT_BUFFER_PX * EXTENT // TILE_PX
        source, params = _source(
            scope,
            tile_box(z, x, y, POINT_BUFFER_PX),
            ("id", "number", "light", "status", "supervised", "location"),
        )
        sql = _POINTS_SQL.format(extent=EXTENT, buffer=buffer, source=source)
        args: list[Any] = [z, x, y, *params]
    else:
        buffer = CLUSTER_BUFFER_PX * EXTENT // TILE_PX
        cell = WORLD_M / (1 << z) / CLUSTER_CELLS
        source, params = _source(scope, tile_box(z, x, y, CLUSTER_BUFFER_PX), ("light", "location"))
        sql = _CLUSTERS_SQL.format(extent=EXTENT, buffer=buffer, source=source)
        args = [cell, cell, *params, cell, cell, z, x, y]
    with transaction.atomic(), connection.cursor() as cur:
        # PostGIS functions carry high planner costs, which make PostgreSQL JIT-compile
        # these short queries: ~1 s of compiling for a ~0.1 s query. Off for this one.
        cur.execute("SET LOCAL jit = off")
        cur.execute(sql, args)
        row = cur.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


def case_stamp() -> str:
    """A token that changes whenever any case is created or changes (light included)."""
    stamp = cache.get(STAMP_CACHE_KEY)
    if stamp is None:
        last = Case.objects.aggregate(last=Max("updated_at"))["last"]
        stamp = last.isoformat() if last else "-"
        cache.set(STAMP_CACHE_KEY, stamp, STAMP_TTL)
    return str(stamp)


def tile_etag(scope_key: str, z: int, x: int, y: int) -> str:
    raw = f"{scope_key}:{case_stamp()}"
    return f"{hashlib.sha256(raw.encode()).hexdigest()[:20]}-{z}-{x}-{y}"


def cached_case_tile(scope: QuerySet[Case], scope_key: str, z: int, x: int, y: int) -> bytes:
    """case_tile_bytes through the cache, shared by everyone with the same scope.

    `scope_key` must name the scope exactly (two actors with the same key see the same
    cases); the case stamp in the key retires every tile as soon as any case changes.
    """
    validate(z, x, y)
    key = f"dispatch:case-tile:{tile_etag(scope_key, z, x, y)}"
    data = cache.get(key)
    if data is None:
        data = case_tile_bytes(scope, z, x, y)
        cache.set(key, data, TILE_CACHE_TTL)
    return bytes(data)


def metres_per_pixel(lat: float, zoom: float) -> float:
    return WORLD_M * math.cos(math.radians(lat)) / (TILE_PX * 2**zoom)


def case_nearest(scope: QuerySet[Case], *, lng: float, lat: float, radius_m: float) -> Case | None:
    """The scoped case nearest a point within radius_m (a map click), or None."""
    point = Point(lng, lat, srid=4326)
    # A degree box first, so the GiST index narrows the search; then true distance.
    deg = radius_m / 111_320 / max(math.cos(math.radians(lat)), 0.1)
    box = Polygon.from_bbox((lng - deg, lat - deg, lng + deg, lat + deg))
    case = (
        scope.filter(location__bboverlaps=box)
        .annotate(distance=Distance("location", point))
        .select_related("category")
        .order_by("distance", "id")
        .first()
    )
    if case is None or case.distance.m > radius_m:
        return None
    return case
