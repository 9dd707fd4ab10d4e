"""Reads of the territory. Every read another app needs goes through here."""

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.gis.geos import Point
from django.db.models import QuerySet

from chaoyang.db import fetch_prepared

from .models import Level, Region


@dataclass(frozen=True)
class Location:
    """Where a point falls: its grid and the grid's ancestors."""

    grid: Region
    community: Region
    street: Region
    district: Region


# One statement answers point → grid with its ancestors. It runs as a server-side prepared
# statement: the lookup itself takes ~0.2 ms, and re-planning the four-way join on every
# call would cost several times that. Preparing needs the connection's prepare_threshold
# (settings: DB_PREPARE_THRESHOLD); without it the statement simply runs unprepared.
_LOCATE_SQL = """
SELECT g.id, g.code, g.name, c.id, c.code, c.name, s.id, s.code, s.name, d.id, d.code, d.name
FROM grids_region g
JOIN grids_region c ON c.id = g.parent_id
JOIN grids_region s ON s.id = c.parent_id
JOIN grids_region d ON d.id = s.parent_id
WHERE g.level = 4 AND ST_Covers(g.boundary, ST_SetSRID(ST_MakePoint(%s, %s), 4326))
ORDER BY g.code
LIMIT 1
"""


def _locate_row(lng: float, lat: float) -> tuple[Any, ...] | None:
    # Prepared once per connection, in the current transaction (chaoyang.db).
    rows = fetch_prepared(_LOCATE_SQL, (lng, lat))
    return rows[0] if rows else None


@lru_cache(maxsize=4096)
def _ancestor(pk: int, code: str, name: str, level: Level, parent: Region | None) -> Region:
    """Ancestors repeat across lookups (~500 of them): build each instance once. The key
    holds every field, so a renamed region simply gets a new instance. Treat as read-only."""
    return Region(id=pk, code=code, name=name, level=level, parent=parent)


def locate(*, lng: float, lat: float) -> Location | None:
    """The unit grid covering a WGS 84 point, with its community, street and district.

    ST_Covers (not ST_Contains) so points on a boundary belong somewhere; on an edge shared
    by two grids the lower code wins, so the answer never depends on row order.
    """
    row = _locate_row(lng, lat)
    if row is None:
        return None
    district = _ancestor(row[9], row[10], row[11], Level.DISTRICT, None)
    street = _ancestor(row[6], row[7], row[8], Level.STREET, district)
    community = _ancestor(row[3], row[4], row[5], Level.COMMUNITY, street)
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


def region_list(
    *, level: int | None = None, parent_code: str | None = None, query: str | None = None
) -> QuerySet[Region]:
    """Regions filtered by level, parent code, and a name fragment or code prefix."""
    qs = Region.objects.select_related("parent").order_by("level", "code")
    if level is not None:
        qs = qs.filter(level=level)
    if parent_code:
        qs = qs.filter(parent__code=parent_code)
    query = (query or "").strip()
    if query.isdigit():
        qs = qs.filter(code__startswith=query)
    elif query:
        qs = qs.filter(name__icontains=query)
    return qs


def regions_for_user(*, user: User | AnonymousUser) -> QuerySet[Region]:
    """The regions a staff member belongs to (any role). Later features scope rows by these."""
    if not user.is_authenticated:
        return Region.objects.none()
    return Region.objects.filter(memberships__user=user).distinct().order_by("level", "code")
