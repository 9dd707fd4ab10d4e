"""Reads of the territory. Every read another app needs goes through here."""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.gis.geos import Point
from django.db.models import QuerySet

from .models import Level, Region


@dataclass(frozen=True)
class Location:
    """Where a point falls: its grid and the grid's ancestors."""

    grid: Region
    community: Region
    street: Region
    district: Region


_REF_FIELDS = ("id", "code", "name", "level", "parent_id")
_ANCESTORS = ("parent", "parent__parent", "parent__parent__parent")


def grid_at(*, lng: float, lat: float) -> Region | None:
    """The unit grid covering a WGS 84 point, or None outside every grid.

    ST_Covers (not ST_Contains) so points on a boundary belong somewhere; on an edge shared
    by two grids the lower code wins, so the answer never depends on row order.
    """
    point = Point(lng, lat, srid=4326)
    return (
        Region.objects.filter(level=Level.GRID, boundary__covers=point)
        .select_related("parent__parent__parent")
        # Boundaries are large (the district's has thousands of vertices) and a lookup
        # needs only codes and names: never ship them across for a point query.
        .only(*_REF_FIELDS, *(f"{p}__{f}" for p in _ANCESTORS for f in _REF_FIELDS))
        .order_by("code")
        .first()
    )


def locate(*, lng: float, lat: float) -> Location | None:
    grid = grid_at(lng=lng, lat=lat)
    if grid is None:
        return None
    community = grid.parent
    assert community is not None and community.parent is not None
    street = community.parent
    assert street.parent is not None
    return Location(grid=grid, community=community, street=street, district=street.parent)


def district_at(*, lng: float, lat: float) -> Region | None:
    """The district covering a point, home or neighbour; used to say where a point lies."""
    point = Point(lng, lat, srid=4326)
    return (
        Region.objects.filter(level=Level.DISTRICT, boundary__covers=point).order_by("code").first()
    )


def region_children(*, region: Region) -> QuerySet[Region]:
    return Region.objects.filter(parent=region).order_by("code")


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
