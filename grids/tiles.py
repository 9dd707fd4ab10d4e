"""Map data straight from PostGIS: Mapbox vector tiles and single-region outlines.

A tile is one SQL statement (ST_TileEnvelope → ST_AsMVTGeom → ST_AsMVT): PostGIS clips,
projects and encodes, so Python only moves bytes. ~3,400 grids as GeoJSON would be
megabytes per page view; as tiles the browser fetches only what it shows, at the detail
it shows.

Tiles are cached under a *territory version* (row count, highest id, latest update), so
a re-import or an edit changes every key at once and no stale tile needs deleting. The
version itself is cached for a few seconds, which bounds how long a change takes to show.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max

from .models import Level, Region

MAX_ZOOM = 20
EXTENT = 4096  # tile coordinate space, the MVT default
BUFFER = 64  # pixels of geometry kept beyond the tile edge so strokes don't end at seams

VERSION_CACHE_KEY = "grids:territory-version"
# Seconds a computed territory version is trusted; overridable so tests can see changes
# immediately. Edits by another process show up at most this late.
TILE_CACHE_TTL = 24 * 3600  # keys carry the version, so this only bounds memory use


@dataclass(frozen=True)
class TileLayer:
    name: str
    level: Level
    # Below this zoom the layer is not drawn: its polygons would be a few pixels wide.
    min_zoom: int
    # Streets and below exist only for the home district; other districts are context.
    home_only: bool


LAYERS: dict[str, TileLayer] = {
    layer.name: layer
    for layer in (
        TileLayer("district", Level.DISTRICT, min_zoom=0, home_only=False),
        TileLayer("street", Level.STREET, min_zoom=8, home_only=True),
        TileLayer("community", Level.COMMUNITY, min_zoom=10, home_only=True),
        # z11 is where the whole district fits a screen; all its grids show from there.
        TileLayer("grid", Level.GRID, min_zoom=11, home_only=True),
    )
}


class InvalidTile(ValueError):
    """The layer, zoom or tile address does not exist."""


def validate(layer: str, z: int, x: int, y: int) -> TileLayer:
    spec = LAYERS.get(layer)
    if spec is None:
        raise InvalidTile(f"unknown layer {layer!r}; expected one of {', '.join(LAYERS)}")
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidTile(f"zoom {z} outside 0..{MAX_ZOOM}")
    size = 1 << z
    if not (0 <= x < size and 0 <= y < size):
        raise InvalidTile(f"tile {x}/{y} outside 0..{size - 1} at zoom {z}")
    return spec


# Filtering on the envelope in 4326 lets the GiST index on boundary do the work; the
# transform to 3857 is then paid only by rows that reach the tile. A Mercator rectangle
# stays a rectangle in lon/lat, so the filter box is exact.
_TILE_SQL = f"""
WITH bounds AS (
  SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS tile,
         ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), 4326) AS box
), features AS (
  SELECT r.code, r.name, r.level,
         ST_AsMVTGeom(ST_Transform(r.boundary, 3857), b.tile, {EXTENT}, {BUFFER}, true) AS geom
  FROM {Region._meta.db_table} r CROSS JOIN bounds b
  WHERE r.level = %(level)s AND r.code LIKE %(prefix)s AND r.boundary && b.box
)
SELECT ST_AsMVT(features.*, %(layer)s, {EXTENT}, 'geom') FROM features WHERE geom IS NOT NULL
"""


def tile_bytes(layer: str, z: int, x: int, y: int) -> bytes:
    """The uncompressed MVT for one layer and tile, built by PostGIS; b"" when empty.

    Uncached: the benchmark calls this to time the SQL itself.
    """
    spec = validate(layer, z, x, y)
    if z < spec.min_zoom:
        return b""
    prefix = f"{settings.HOME_DISTRICT_CODE}%" if spec.home_only else "%"
    with connection.cursor() as cur:
        cur.execute(
            _TILE_SQL,
            {
                "z": z,
                "x": x,
                "y": y,
                "margin": BUFFER / EXTENT,
                "level": int(spec.level),
                "prefix": prefix,
                "layer": spec.name,
            },
        )
        row = cur.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


def territory_version() -> str:
    """A short token that changes whenever any region is added, removed or saved."""
    version = cache.get(VERSION_CACHE_KEY)
    if version is None:
        agg = Region.objects.aggregate(n=Count("id"), last_id=Max("id"), last=Max("updated_at"))
        stamp = agg["last"].isoformat() if agg["last"] else "-"
        raw = f"{agg['n']}:{agg['last_id']}:{stamp}"
        version = hashlib.sha256(raw.encode()).hexdigest()[:16]
        ttl = settings.MAP_TERRITORY_VERSION_TTL
        cache.set(VERSION_CACHE_KEY, version, ttl)
    return str(version)


def tile_etag(layer: str, z: int, x: int, y: int) -> str:
    # The version names the data, so the tile's identity needs no hashing of its bytes.
    return f"{territory_version()}-{layer}-{z}-{x}-{y}"


def cached_tile(layer: str, z: int, x: int, y: int) -> bytes:
    """tile_bytes through the Django cache, keyed by the territory version."""
    spec = validate(layer, z, x, y)
    if z < spec.min_zoom:
        return b""  # known empty without asking the database or the cache
    key = f"grids:tile:{tile_etag(layer, z, x, y)}"
    data = cache.get(key)
    if data is None:
        data = tile_bytes(layer, z, x, y)
        cache.set(key, data, TILE_CACHE_TTL)
    return bytes(data)


def region_outline_geojson(code: str) -> str | None:
    """One region as a GeoJSON Feature (text), simplified for drawing; None if no such code.

    Always a MultiPolygon, like the stored boundary (simplifying may hand back a Polygon).

    The tolerance scales with the region's size (1/2000 of its larger side), so a district
    and a grid both keep about a pixel of detail when the map is fitted to them.
    """
    with connection.cursor() as cur:
        cur.execute(
            f"""
            SELECT json_build_object(
              'type', 'Feature',
              'properties', json_build_object('code', code, 'name', name, 'level', level),
              'geometry', ST_AsGeoJSON(ST_Multi(ST_SimplifyPreserveTopology(boundary,
                  GREATEST(ST_XMax(boundary) - ST_XMin(boundary),
                           ST_YMax(boundary) - ST_YMin(boundary)) / 2000.0)), 6)::json
            )::text
            FROM {Region._meta.db_table} WHERE code = %s
            """,
            [code],
        )
        row = cur.fetchone()
    return str(row[0]) if row else None
