"""Write services: validation, de-duplication, protection, grids at write time, bulk
re-assignment, and the synthetic demo generator."""

from datetime import date
from io import StringIO

import pytest
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.db import connection

from grids.models import Region
from grids.selectors import locate
from population import services
from population.demo import _placed_elsewhere, random_points, seed_population
from population.models import (
    Building,
    CareTag,
    HousingUnit,
    Organisation,
    Person,
    Residence,
)
from population.protect import (
    id_index,
    id_tail_index,
    mask_id_number,
    phone_index,
    reveal_id_number,
    reveal_phone,
)
from population.validators import parse_credit_code, parse_identity_number
from tests.factories import credit_code, grid_point, id_number, person_in

pytestmark = pytest.mark.django_db

GRID = "110105001001001"
OTHER_GRID = "110105021001001"


def _person(**kw: object) -> services.PersonInput:
    data: dict[str, object] = {"name": "李四", "id_number": id_number("19750315", 12)}
    data.update(kw)
    return services.PersonInput(**data)  # type: ignore[arg-type]


def test_person_is_stored_protected_with_sex_and_birth_from_the_number(territory: None) -> None:
    number = id_number("19750315", 12)
    person = services.person_create(data=_person(phone="138-1234 5678"))
    person.refresh_from_db()
    assert person.sex == "F" and person.birth_year == 1975
    assert person.id_number_masked == number[:6] + "**********" + number[-2:]
    assert person.id_area == number[:6]
    assert person.id_tail_index == id_tail_index(number[-4:])
    assert person.id_number_index == id_index(number)
    assert number.encode() not in bytes(person.id_number_enc)
    assert reveal_id_number(bytes(person.id_number_enc)) == number
    assert person.phone_masked == "138****5678"
    assert person.phone_index == phone_index("13812345678")
    assert reveal_phone(bytes(person.phone_enc or b"")) == "13812345678"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"id_number": "110105197503150121"}, "id_number", "校验位"),
        ({"id_number": "11010519751315012X"}, "id_number", "出生日期"),
        ({"sex": "M"}, "sex", "性别"),
        ({"birth_date": date(1975, 3, 16)}, "birth_date", "出生日期"),
        ({"phone": "12ab"}, "phone", "电话"),
        ({"name": "  "}, "name", "姓名"),
        ({"hukou": "alien"}, "hukou", "户籍"),
        (
            {
                "hukou": "floating",
                "registered_on": date(2024, 5, 1),
                "permit_expires_on": date(2024, 1, 1),
            },
            "permit_expires_on",
            "到期",
        ),
    ],
)
def test_person_refusals_name_the_field(
    territory: None, changes: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(services.Invalid, match=message) as caught:
        services.person_create(data=_person(**changes))
    assert caught.value.field == field
    assert Person.objects.count() == 0


def test_the_same_number_twice_is_a_duplicate_in_any_spelling(territory: None) -> None:
    first = services.person_create(data=_person(id_number=id_number("19800101", 2)))
    number = id_number("19491231", 2)
    assert number.endswith("X")
    second = services.person_create(data=_person(id_number=number))
    with pytest.raises(services.Duplicate) as caught:
        services.person_create(data=_person(id_number=number.lower()))
    assert caught.value.existing_id == second.pk
    with pytest.raises(services.Duplicate):  # full-width digits normalise to the same
        services.person_create(
            data=_person(
                id_number=number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
            )
        )
    # Updating a person to another's number is refused as well; to its own is fine.
    with pytest.raises(services.Duplicate):
        services.person_update(person=first, data=_person(id_number=number))
    services.person_update(person=second, data=_person(id_number=number, name="改名"))
    assert Person.objects.get(pk=second.pk).name == "改名"
    assert services.person_find(number.lower()) == second


def test_a_building_lands_in_the_grid_of_its_point(territory: None) -> None:
    building = services.building_create(
        data=services.BuildingInput(address="朝阳区 建国路８８号楼", location=grid_point(GRID))
    )
    grid = Region.objects.get(code=GRID)
    assert building.grid_id == grid.id
    assert building.community_id == grid.parent_id
    assert building.street_id == grid.parent.parent_id  # type: ignore[union-attr]
    assert building.address_norm == "建国路88"
    with pytest.raises(services.Duplicate):  # 栋 and 号楼, full- and half-width alike
        services.building_create(data=services.BuildingInput(address="建国路88栋"))
    with pytest.raises(services.Invalid, match="不在朝阳区") as caught:
        services.building_create(
            data=services.BuildingInput(address="天安门", location=Point(116.397, 39.908))
        )
    assert caught.value.field == "location"


def test_housing_units_and_residents_take_the_building_grid(territory: None) -> None:
    placed = person_in(GRID)
    grid = Region.objects.get(code=GRID)
    assert placed.unit.grid_id == grid.id
    assert placed.unit.address == f"{placed.building.address}1单元101"
    assert placed.person.grid_id == grid.id
    with pytest.raises(services.Duplicate):
        services.housing_unit_create(building=placed.building, unit="1单元", room="101室")
    with pytest.raises(services.Invalid, match="用途"):
        services.housing_unit_create(building=placed.building, room="102", use="palace")

    # Moving the building moves its units and their current residents with it.
    services.building_update(
        building=placed.building,
        data=services.BuildingInput(
            address=placed.building.address, location=grid_point(OTHER_GRID)
        ),
    )
    other = Region.objects.get(code=OTHER_GRID)
    assert HousingUnit.objects.get(pk=placed.unit.pk).grid_id == other.id
    placed.person.refresh_from_db()
    assert (placed.person.grid_id, placed.person.street_id) == (other.id, other.parent.parent_id)  # type: ignore[union-attr]


def test_a_person_follows_their_current_residence(territory: None) -> None:
    placed = person_in(GRID)
    elsewhere = person_in(OTHER_GRID)
    services.residence_add(
        person=placed.person, housing=elsewhere.unit, relation="tenant", since=date(2025, 6, 1)
    )
    placed.person.refresh_from_db()
    assert placed.person.grid.code == OTHER_GRID  # type: ignore[union-attr]
    moved = Residence.objects.get(person=placed.person, unit=elsewhere.unit)
    services.residence_end(residence=moved, until=date(2025, 12, 1))
    placed.person.refresh_from_db()
    assert placed.person.grid.code == GRID  # type: ignore[union-attr]
    with pytest.raises(services.Invalid):
        services.residence_end(residence=moved, until=date(2020, 1, 1))


def test_organisations_check_the_credit_code_and_refuse_duplicates(territory: None) -> None:
    code = credit_code("MA01H2345")
    org = services.organisation_create(
        data=services.OrganisationInput(
            name="北京测试科技有限公司",
            credit_code=code.lower(),
            kind="enterprise",
            location=grid_point(GRID),
            contact_phone="010-6500 1234",
        )
    )
    assert org.credit_code == code and org.grid.code == GRID  # type: ignore[union-attr]
    assert org.contact_phone_masked == "010****1234"
    with pytest.raises(services.Duplicate):
        services.organisation_create(
            data=services.OrganisationInput(name="另一家", credit_code=code, kind="shop")
        )
    bad = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(services.Invalid, match="校验") as caught:
        services.organisation_create(
            data=services.OrganisationInput(name="坏代码", credit_code=bad, kind="shop")
        )
    assert caught.value.field == "credit_code"
    with pytest.raises(services.Invalid, match="类型"):
        services.organisation_create(
            data=services.OrganisationInput(name="x", credit_code=credit_code("B1"), kind="bank")
        )


def test_reassign_grids_after_boundaries_change(territory: None) -> None:
    placed = person_in(GRID)
    org = services.organisation_create(
        data=services.OrganisationInput(
            name="店", credit_code=credit_code("C1"), kind="shop", location=grid_point(GRID)
        )
    )
    grid = Region.objects.get(code=GRID)
    # As if the grid boundary had moved: everything recorded in another grid.
    wrong = Region.objects.get(code=OTHER_GRID)
    Building.objects.update(grid=wrong, community=wrong.parent, street=wrong.parent.parent)  # type: ignore[union-attr]
    HousingUnit.objects.update(grid=wrong, street=wrong.parent.parent)  # type: ignore[union-attr]
    Person.objects.update(grid=wrong, street=wrong.parent.parent)  # type: ignore[union-attr]
    Organisation.objects.update(grid=wrong)

    out = StringIO()
    call_command("reassign_grids", stdout=out)
    assert "buildings 1" in out.getvalue() and "persons 1" in out.getvalue()
    for obj in (placed.building, placed.unit, placed.person, org):
        obj.refresh_from_db()
        assert obj.grid_id == grid.id, obj
    assert services.population_reassign_grids() == {
        "buildings": 0,
        "organisations": 0,
        "housing_units": 0,
        "persons": 0,
    }


def test_seed_population_is_valid_located_and_deterministic(territory: None) -> None:
    report = seed_population(400, 11)
    assert report.persons == Person.objects.count() == 400
    assert report.organisations == Organisation.objects.count() > 0
    assert HousingUnit.objects.count() > 0 and CareTag.objects.count() >= 0
    local = 0
    for p in Person.objects.all():
        info = parse_identity_number(reveal_id_number(bytes(p.id_number_enc)))
        assert (info.sex, info.birth_date.year) == (p.sex, p.birth_year)
        assert p.id_number_index == id_index(info.number)
        assert p.id_area == info.area_code and p.id_number_masked == mask_id_number(info.number)
        assert p.id_tail_index == id_tail_index(info.number[-4:])
        local += info.area_code == "110105"
        assert (p.hukou == "local") == (info.area_code == "110105")
    assert 0.65 < local / 400 < 0.95
    for code in Organisation.objects.values_list("credit_code", flat=True):
        assert parse_credit_code(code) == code and code[2:8] == "110105"
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM population_building b JOIN grids_region g ON g.id = b.grid_id "
            "WHERE NOT ST_Covers(g.boundary, b.location)"
        )
        assert cur.fetchone()[0] == 0
        cur.execute(
            "SELECT count(*) FROM population_person p JOIN population_residence r "
            "ON r.person_id = p.id JOIN population_housingunit u ON u.id = r.unit_id "
            "WHERE p.grid_id <> u.grid_id"
        )
        assert cur.fetchone()[0] == 0
    assert len({a for a in HousingUnit.objects.values_list("address_norm", flat=True)}) == (
        HousingUnit.objects.count()
    )

    first = sorted(Person.objects.values_list("name", "id_number_index", "grid_id"))
    assert seed_population(400, 11).skipped  # people exist: nothing is generated again
    seed_population(400, 11, replace=True)
    assert sorted(Person.objects.values_list("name", "id_number_index", "grid_id")) == first
    seed_population(400, 12, replace=True)
    assert sorted(Person.objects.values_list("name", "id_number_index", "grid_id")) != first


def test_seed_demo_population_option(territory: None) -> None:
    call_command("seed_demo", stdout=StringIO())
    assert Person.objects.count() == 0  # plain seed_demo stays fast: no people
    out = StringIO()
    call_command("seed_demo", "--population", "300", stdout=out)
    assert "300 persons" in out.getvalue()
    # The demo streets are denser: the demo accounts see people in their grids.
    assert Person.objects.filter(street__code__in=["110105001", "110105021"]).count() > 300 * 0.1
    out = StringIO()
    call_command("seed_demo", "--population", "300", stdout=out)
    assert "nothing generated" in out.getvalue()
    assert Person.objects.count() == 300


def test_admin_forms_go_through_the_services(territory: None) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    admin = get_user_model().objects.create_superuser("svc_admin", password="x")
    client = Client()
    client.force_login(admin)
    number = id_number("19660606", 7)
    form = {
        "name": "后台录入",
        "id_number": number,
        "phone": "13344445555",
        "hukou": "local",
        "status": "living",
        "care_tags-TOTAL_FORMS": "0",
        "care_tags-INITIAL_FORMS": "0",
        "residences-TOTAL_FORMS": "0",
        "residences-INITIAL_FORMS": "0",
    }
    bad = client.post("/admin/population/person/add/", {**form, "id_number": number[:-1] + "0"})
    assert bad.status_code == 200 and "校验位" in bad.content.decode()
    assert Person.objects.count() == 0
    response = client.post("/admin/population/person/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    person = Person.objects.get()
    assert person.id_number_index == id_index(number) and person.phone_masked == "133****5555"
    assert number.encode() not in bytes(person.id_number_enc)
    # An edit that leaves the identifiers blank keeps them.
    edit = {**form, "id_number": "", "phone": "", "name": "后台改名"}
    assert client.post(f"/admin/population/person/{person.pk}/change/", edit).status_code == 302
    person.refresh_from_db()
    assert person.name == "后台改名" and person.id_number_index == id_index(number)
    assert reveal_phone(bytes(person.phone_enc or b"")) == "13344445555"
    duplicate = client.post("/admin/population/person/add/", {**form, "name": "重复"})
    assert "已登记" in duplicate.content.decode() and Person.objects.count() == 1


def test_demo_points_are_placed_by_the_one_point_to_grid_definition(territory: None) -> None:
    """The generator keeps a drawn point only where grids.covering (and so locate) places
    it in the grid it was drawn for: a vertex shared with a lower-coded grid, or a point
    outside every grid, is drawn again."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT ST_X(d.geom), ST_Y(d.geom),
                   array_agg(g2.id ORDER BY g2.code)
            FROM (SELECT boundary FROM grids_region
                  WHERE level = 4 AND code LIKE '110105001%%' ORDER BY code LIMIT 5) g,
                 ST_DumpPoints(g.boundary) d
            JOIN grids_region g2 ON g2.level = 4 AND ST_Covers(g2.boundary, d.geom)
            GROUP BY 1, 2 HAVING count(*) >= 2 LIMIT 1
            """
        )
        x, y, covering = cur.fetchone()
    low, high = covering[0], covering[-1]
    strays = _placed_elsewhere({low: [(x, y)], high: [(x, y), (121.47, 31.23)]})
    assert strays == {(high, 0), (high, 1)}

    wanted = {low: 3, high: 4}
    points = random_points(wanted, 5)
    assert {gid: len(p) for gid, p in points.items()} == wanted
    for gid, drawn in points.items():
        for lng, lat in drawn:
            found = locate(lng=lng, lat=lat)
            assert found is not None and found.grid.id == gid
