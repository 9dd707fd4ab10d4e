"""The precision grid every stored boundary sits on: 1e-7° (about 1 cm in Beijing).

Neighbouring regions share edges exactly only if their vertices are bit-for-bit equal
doubles. Rounding is therefore done once, in Python, to the double nearest each multiple
of 1e-7 (``round(x, 7)`` — idempotent, whatever path the coordinate came by), and the
database then only runs overlays with ``gridSize`` = GRID_SIZE, whose snap rounding yields
the same doubles. ST_ReducePrecision and ST_UnaryUnion(g, gridSize) are not used for this:
with GEOS 3.11 the former rounds some coordinates one unit in the last place differently,
and the latter leaves a single polygon untouched — either is enough to turn a shared edge
into a sliver.
"""

import json
from collections.abc import Callable

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon

GRID_SIZE = 1e-7
GRID_DECIMALS = 7

Coords = list[list[list[list[float]]]]  # GeoJSON MultiPolygon coordinates


def multipolygon_coords(
    coords: Coords, transform: Callable[[float, float], tuple[float, float]] | None = None
) -> MultiPolygon:
    """A WGS 84 MultiPolygon from GeoJSON coordinates, each vertex transformed (if asked)
    and then rounded to the precision grid. The result may be invalid if rounding made a
    ring touch itself; callers check."""
    rounded = [
        [
            [
                [round(c, GRID_DECIMALS) for c in (transform(x, y) if transform else (x, y))]
                for x, y, *_ in ring
            ]
            for ring in polygon
        ]
        for polygon in coords
    ]
    geom = GEOSGeometry(json.dumps({"type": "MultiPolygon", "coordinates": rounded}), srid=4326)
    assert isinstance(geom, MultiPolygon)
    return geom


def snap(
    geom: MultiPolygon, transform: Callable[[float, float], tuple[float, float]] | None = None
) -> MultiPolygon:
    """``geom`` (transformed, if asked) on the precision grid."""
    return multipolygon_coords(json.loads(geom.json)["coordinates"], transform)
