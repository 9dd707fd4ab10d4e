"""A pg_dump of the database holds no identity number and no phone in clear.

People and organisations are written through every writer there is (the services, the
demo generator, a reveal with its audit row), committed, then the test database is
dumped with the real pg_dump and searched for each clear value.
"""

import re
import shutil
import subprocess
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from population import services
from population.demo import seed_population
from population.models import Organisation, Person
from population.protect import reveal_id_number, reveal_phone
from population.reveal import Field, reveal_person
from tests.factories.population import credit_code, grid_point, id_number

PG_DUMP = shutil.which("pg_dump") or "/usr/bin/pg_dump"
GRID = "110105001001001"


def _dump() -> str:
    db = connection.settings_dict
    result = subprocess.run(
        [
            PG_DUMP,
            "--host", db["HOST"] or "127.0.0.1",
            "--port", str(db["PORT"] or 5432),
            "--username", db["USER"] or "postgres",
            "--no-password",
            "--no-owner",
            db["NAME"],
        ],
        capture_output=True,
        check=True,
        timeout=300,
    )  # fmt: skip
    return result.stdout.decode("utf-8")


@pytest.mark.django_db(transaction=True)
def test_pg_dump_contains_no_clear_identifiers(territory: None) -> None:
    seed_population(150, 3)  # the synthetic population, written by COPY
    numbers = [id_number("19491231", 2), id_number("19800101", 17), id_number("20010203", 44)]
    phones = ["13812345678", "15900001111", "18698765432"]
    for i, (number, phone) in enumerate(zip(numbers, phones, strict=True)):
        person = services.person_create(
            data=services.PersonInput(
                name=f"测试{i}",
                id_number=number,
                phone=phone,
                hukou="floating" if i else "local",
                registered_on=date(2024, 1, 1),
            )
        )
        building = services.building_create(
            data=services.BuildingInput(address=f"导出测试路{i}号", location=grid_point(GRID))
        )
        unit = services.housing_unit_create(building=building, room="101", owner=person)
        services.residence_add(person=person, housing=unit, relation="owner")
    org_phone = "13700002222"
    services.organisation_create(
        data=services.OrganisationInput(
            name="导出测试公司",
            credit_code=credit_code("PD0000001"),
            kind="enterprise",
            location=grid_point(GRID),
            contact_phone=org_phone,
        )
    )
    # A reveal leaves an audit row: who, whose, why — never the value.
    admin = get_user_model().objects.create_superuser("dump_admin", password="x")
    first = Person.objects.get(name="测试0")
    assert (
        reveal_person(
            user=admin, person_id=first.pk, field=Field.ID_NUMBER, reason="核对导出测试"
        ).value
        == numbers[0]
    )
    clear_ids = {reveal_id_number(bytes(p.id_number_enc)) for p in Person.objects.all()}
    clear_phones = {
        reveal_phone(bytes(p.phone_enc or b"")) for p in Person.objects.exclude(phone_enc=None)
    } | {
        reveal_phone(bytes(o.contact_phone_enc or b""))
        for o in Organisation.objects.exclude(contact_phone_enc=None)
    }
    assert set(numbers) <= clear_ids and {*phones, org_phone} <= clear_phones
    assert len(clear_ids) == 153

    dump = _dump()
    assert "COPY public.population_person" in dump  # the table's rows are in the dump
    for value in clear_ids | clear_phones:
        assert value not in dump, value
        assert value.lower() not in dump, value
    # What may be there: the masked forms and the blind index.
    for p in Person.objects.all()[:20]:
        assert p.id_number_masked in dump and p.id_number_index in dump
    assert "138****5678" in dump
    # No row of the person table carries an 18-character identity number or an 11-digit
    # mobile number as a field of its own (ciphertexts are hex, indexes 32 hex characters).
    rows = dump[dump.index("COPY public.population_person") :]
    rows = rows[: rows.index("\\.")]
    for line in rows.splitlines()[1:]:
        fields = line.split("\t")
        assert not any(re.fullmatch(r"\d{17}[\dX]", f) for f in fields), line[:120]
        assert not any(re.fullmatch(r"1[3-9]\d{9}", f) for f in fields), line[:120]
