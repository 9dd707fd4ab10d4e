"""Buildings and housing units: validated, de-duplicated by normalised address, and placed
in their grid at write time (a building by its point, a unit by its building)."""

from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from django.contrib.gis.geos import MultiPolygon, Point
from django.db import transaction
from django.utils.translation import gettext as _

from grids.selectors import locate

from ..models import Building, HousingUnit, HousingUse, Person
from ..validators import normalise_address, normalise_text
from .errors import Duplicate, Invalid
from .people import persons_follow_residence


@dataclass(frozen=True)
class Place:
    """The ids a grids.models.Placed row stores for its point."""

    grid_id: int | None
    community_id: int | None
    street_id: int | None


def place_of(location: Point | None) -> Place:
    """The grid, community and street of a point; all None without a point."""
    if location is None:
        return Place(None, None, None)
    if location.srid not in (None, 4326):
        location = cast(Point, location.transform(4326, clone=True))
    found = locate(lng=location.x, lat=location.y)
    if found is None:
        raise Invalid(_("位置不在朝阳区范围内"), "location")
    return Place(found.grid.id, found.community.id, found.street.id)


def point_of(location: Point | None, footprint: MultiPolygon | None) -> Point | None:
    if location is not None:
        if location.srid in (None, 4326):
            return Point(location.x, location.y, srid=4326)
        return cast(Point, location.transform(4326, clone=True))
    if footprint is not None:
        # A point on the surface, not the centroid: an L-shaped block's centroid may lie
        # outside it, even in the neighbouring grid.
        return cast(Point, footprint.point_on_surface)
    return None


@dataclass(frozen=True)
class BuildingInput:
    address: str
    location: Point | None = None
    footprint: MultiPolygon | None = None
    name: str = ""
    floors: int | None = None


def _building_fields(data: BuildingInput) -> dict[str, object]:
    address = normalise_text(data.address)
    if not address:
        raise Invalid(_("地址不能为空"), "address")
    if data.floors is not None and not 0 < data.floors < 200:
        raise Invalid(_("层数应在 1–199 之间"), "floors")
    location = point_of(data.location, data.footprint)
    placed = place_of(location)
    return {
        "address": address,
        "address_norm": normalise_address(address),
        "name": normalise_text(data.name),
        "floors": data.floors,
        "footprint": data.footprint,
        "location": location,
        "grid_id": placed.grid_id,
        "community_id": placed.community_id,
        "street_id": placed.street_id,
    }


def _unique_address(model: type[Building] | type[HousingUnit], norm: str, pk: int | None) -> None:
    existing = model.objects.filter(address_norm=norm)
    if pk is not None:
        existing = existing.exclude(pk=pk)
    if found := existing.values_list("id", flat=True).first():
        raise Duplicate(_("该地址已登记"), "address", found)


def building_validate(*, data: BuildingInput, building: Building | None = None) -> None:
    """Raise Invalid (or Duplicate) if `data` would be refused; writes nothing (for forms)."""
    fields = _building_fields(data)
    _unique_address(Building, str(fields["address_norm"]), building.pk if building else None)


@transaction.atomic
def building_create(*, data: BuildingInput) -> Building:
    fields = _building_fields(data)
    _unique_address(Building, str(fields["address_norm"]), None)
    building = Building(**fields)
    building.save()
    return building


@transaction.atomic
def building_update(*, building: Building, data: BuildingInput) -> Building:
    """Update a building; when it lands in another grid, its units and their current
    residents follow in the same transaction."""
    fields = _building_fields(data)
    _unique_address(Building, str(fields["address_norm"]), building.pk)
    moved = (fields["grid_id"], fields["street_id"]) != (building.grid_id, building.street_id)
    for name, value in fields.items():
        setattr(building, name, value)
    building.save()
    if moved:
        HousingUnit.objects.filter(building=building).update(
            grid_id=building.grid_id, street_id=building.street_id
        )
        persons_follow_residence(building_id=building.pk)
    return building


def _unit_address(building: Building, unit: str, room: str) -> str:
    unit, room = normalise_text(unit), normalise_text(room)
    if unit and not unit.endswith("单元"):
        unit += "单元"
    return f"{building.address}{unit}{room}"


@transaction.atomic
def housing_unit_create(
    *,
    building: Building,
    unit: str = "",
    floor: int | None = None,
    room: str = "",
    area_m2: Decimal | None = None,
    use: str = HousingUse.OWNER,
    owner: Person | None = None,
) -> HousingUnit:
    if use not in HousingUse.values:
        raise Invalid(_("未知用途 %(use)s") % {"use": use}, "use")
    if area_m2 is not None and not Decimal(0) < area_m2 < Decimal(100000):
        raise Invalid(_("面积应大于 0"), "area_m2")
    address = _unit_address(building, unit, room)
    norm = normalise_address(address)
    _unique_address(HousingUnit, norm, None)
    housing = HousingUnit(
        building=building,
        unit=normalise_text(unit),
        floor=floor,
        room=normalise_text(room),
        address=address,
        address_norm=norm,
        area_m2=area_m2,
        use=use,
        owner=owner,
        grid_id=building.grid_id,
        street_id=building.street_id,
    )
    housing.save()
    return housing


@transaction.atomic
def housing_unit_update(
    *,
    housing: HousingUnit,
    use: str | None = None,
    area_m2: Decimal | None = None,
    owner: Person | None = None,
) -> HousingUnit:
    if use is not None:
        if use not in HousingUse.values:
            raise Invalid(_("未知用途 %(use)s") % {"use": use}, "use")
        housing.use = use
    if area_m2 is not None:
        housing.area_m2 = area_m2
    if owner is not None:
        housing.owner = owner
    housing.save()
    return housing
