"""Reads of the territory. Every read another app needs goes through here."""

from dataclasses import dataclass

from django.contrib.gis.geos import Point
from django.db import connection
from django.db.models import QuerySet

from .covering import POINT_PARAMS, covering_grids_sql
from .models import Level, Region


@dataclass(frozen=True)
class Location:
    """Where a point falls: its grid and the grid's ancestors."""

    grid: Region
    community: Region
    street: Region
    district: Region


# Point → grid (grids.covering, the one definition) with the names of the grid and its
# ancestors, in one statement. Plain SQL through Django's cursor: the ORM spends more time
# composing the self-joins than the database spends answering them, and this runs for
# every report and every map click (bench/locate.py).
_LOCATE_SQL = f"""
SELECT g.id, g.code, g.name, c.id, c.code, c.name, s.id, s.code, s.name, d.id, d.code, d.name
FROM ({covering_grids_sql(f"SELECT 1 AS key, {POINT_PARAMS} AS geom")}) AS here
JOIN grids_region g ON g.id = here.grid_id
JOIN grids_region c ON c.id = here.community_id
JOIN grids_region s ON s.id = here.street_id
JOIN grids_region d ON d.id = s.parent_id
"""


def locate(*, lng: float, lat: float) -> Location | None:
    """The unit grid covering a WGS 84 point, with its community, street and district.

    What covers what is `grids.covering`'s one definition: a point on a boundary belongs
    somewhere, and on an edge shared by two grids the lower code wins. The regions are
    built fresh for each call: shared instances would outlive a rename.
    """
    with connection.cursor() as cur:
        cur.execute(_LOCATE_SQL, [lng, lat])
        row = cur.fetchone()
    if row is None:
        return None
    district = Region(id=row[9], code=row[10], name=row[11], level=Level.DISTRICT)
    street = Region(id=row[6], code=row[7], name=row[8], level=Level.STREET, parent=district)
    community = Region(id=row[3], code=row[4], name=row[5], level=Level.COMMUNITY, parent=street)
    grid = Region(id=row[0], code=row[1], name=row[2], level=Level.GRID, parent=community)
    return Location(grid=grid, community=community, street=street, district=district)


def grid_at(*, lng: float, lat: float) -> Region | None:
    """The unit grid covering a WGS 84 point (see `locate`), or None outside every grid."""
    location = locate(lng=lng, lat=lat)
    return location.grid if location else None


def district_at(*, lng: float, lat: float) -> Region | None:
    """The district covering a point, home or neighbour; used to say where a point lies."""
    point = Point(lng, lat, srid=4326)
    return (
        Region.objects.filter(level=Level.DISTRICT, boundary__covers=point).order_by("code").first()
    )


def region_list() -> QuerySet[Region]:
    """Every region, by level and code, with its parent (for the parent's code)."""
    return (
        Region.objects.select_related("parent")
        .defer("boundary", "parent__boundary")
        .order_by("level", "code")
    )


def region_search(qs: QuerySet[Region], query: str) -> QuerySet[Region]:
    """Regions whose code starts with the digits given, or whose name holds the text."""
    query = query.strip()
    if query.isdigit():
        return qs.filter(code__startswith=query)
    return qs.filter(name__icontains=query) if query else qs
