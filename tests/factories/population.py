"""Helpers for population tests: valid identifiers, and people placed in a chosen grid.

Everything is written through population.services, as production writers do, so the
tests see the same ciphertexts, blind indexes and stored grids.
"""

from dataclasses import dataclass
from itertools import count

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.gis.db.models.functions import PointOnSurface
from django.contrib.gis.geos import Point
from django.test import Client

from grids.models import Level, Membership, Region
from population import services
from population.models import Building, HousingUnit, Organisation, Person
from population.validators import credit_check_char, id_check_char

_serial = count(1)


def id_number(born: str = "19800101", seq: int = 1, area: str = "110105") -> str:
    """A valid GB 11643 number: `seq` odd for a man, even for a woman."""
    first17 = f"{area}{born}{seq:03d}"
    return first17 + id_check_char(first17)


def credit_code(body: str = "MA01234567") -> str:
    """A valid GB 32100 code for Chaoyang: 91 110105 + a nine-character organisation code."""
    first17 = ("91110105" + body)[:17].ljust(17, "0")
    return first17 + credit_check_char(first17)


def grid_point(code: str) -> Point:
    """A point inside the region with this code."""
    region = Region.objects.annotate(p=PointOnSurface("boundary")).get(code=code)
    point: Point = region.p
    return Point(point.x, point.y, srid=4326)


def demo_grids() -> dict[str, str]:
    """Grid codes the demo users hold and a few around them.

    grid1 / grid2: jianwai_grid1's and jianwai_grid2's grids; jianwai_other: a jianwai grid
    in another community; wangjing: wangjing_grid1's grid.
    """
    held = dict(
        Membership.objects.filter(
            user__username__in=["jianwai_grid1", "jianwai_grid2", "wangjing_grid1"]
        ).values_list("user__username", "region__code")
    )
    other = (
        Region.objects.filter(level=Level.GRID, code__startswith="110105001")
        .exclude(parent__code=held["jianwai_grid1"][:12])
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )
    assert other is not None
    return {
        "grid1": held["jianwai_grid1"],
        "grid2": held["jianwai_grid2"],
        "jianwai_other": other,
        "wangjing": held["wangjing_grid1"],
    }


@dataclass
class Placed:
    person: Person
    unit: HousingUnit
    building: Building
    number: str
    phone: str


def person_in(
    grid_code: str,
    *,
    name: str = "张三",
    born: str = "19800101",
    seq: int | None = None,
    phone: str | None = None,
    hukou: str = "local",
    use: str = "owner",
    area: str = "110105",
) -> Placed:
    """A person living in a new unit of a new building inside the grid."""
    n = next(_serial)
    number = id_number(born, seq if seq is not None else (n * 2 + 1) % 1000, area)
    phone = phone if phone is not None else f"139{n:08d}"
    building = services.building_create(
        data=services.BuildingInput(address=f"测试路{n}号楼", location=grid_point(grid_code))
    )
    unit = services.housing_unit_create(building=building, unit="1", room="101", use=use)
    person = services.person_create(
        data=services.PersonInput(name=name, id_number=number, phone=phone, hukou=hukou)
    )
    services.residence_add(person=person, housing=unit, relation="owner")
    person.refresh_from_db()
    return Placed(person, unit, building, number, phone)


def organisation_in(
    grid_code: str,
    *,
    name: str = "测试便利店",
    phone: str = "",
    code: str = "",
    kind: str = "shop",
) -> Organisation:
    n = next(_serial)
    return services.organisation_create(
        data=services.OrganisationInput(
            name=name,
            credit_code=code or credit_code(f"T{n:08d}"),
            kind=kind,
            address=f"测试路{n}号",
            location=grid_point(grid_code),
            contact_phone=phone,
        )
    )


def client_for(username: str) -> Client:
    client = Client()
    user: User = get_user_model().objects.get(username=username)
    client.force_login(user)
    return client
