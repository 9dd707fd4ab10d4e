"""A pg_dump of the database holds no identity number and no phone in clear, and nothing
from which one could be rebuilt.

People and organisations are written through every writer there is (the services, the
demo generator's COPY, an import run as the worker runs it, a reveal with its audit row,
a search that stashes a typed number in the session), committed, then the test database
is dumped with the real pg_dump and (a) searched for each clear value and each person's
birth date and last four, (b) read row by row as an onlooker would: every person's clear
columns (area, birth year, sex, masked number) must leave at least MIN_CANDIDATES numbers.
"""

import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from population import services
from population.demo import seed_population
from population.models import ImportJob, Organisation, Person
from population.protect import reveal_id_number, reveal_phone
from population.reveal import Field, reveal_person
from population.tasks import run_import
from population.validators import birth_date_of
from tests.factories import credit_code, grid_point, id_number
from tests.population.rebuild import MIN_CANDIDATES, candidates

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


def copy_rows(dump: str, table: str) -> list[dict[str, str]]:
    """The rows of one table's COPY block, as {column: text} (\\N for NULL)."""
    match = re.search(rf"^COPY public\.{table} \((.*?)\) FROM stdin;\n", dump, re.M)
    assert match, f"no COPY block for {table}"
    columns = match.group(1).split(", ")
    body = dump[match.end() : dump.index("\n\\.\n", match.end())]
    return [dict(zip(columns, line.split("\t"), strict=True)) for line in body.splitlines()]


def _import_through_the_pages(tmp_path: Path, settings: Any) -> tuple[list[str], ImportJob]:
    """A persons file uploaded on the import page and run as the worker runs it: two good
    rows, a wrong check digit, a malformed phone; the file name carries a number too."""
    settings.MEDIA_ROOT = tmp_path
    good = [id_number("19720229", 31), id_number("19991231", 48)]
    bad_number = good[0][:17] + ("0" if good[0][17] != "0" else "1")
    rows = [
        ["姓名", "身份证号", "性别", "出生日期", "联系电话", "户籍类型"],
        ["导入甲", good[0], "男", "1972-02-29", "13655554444", "户籍"],
        ["导入乙", good[1], "女", "", "15566667777", "流动"],
        ["校验错", bad_number, "", "", "13600001111", "户籍"],
        ["电话错", id_number("19850505", 64), "", "", "1381234567890", "户籍"],
    ]
    text = "\n".join(",".join(row) for row in rows) + "\n"
    importer = get_user_model().objects.create_user("dump_importer", password="x")
    importer.groups.add(Group.objects.get_or_create(name="数据管理员")[0])
    client = Client()
    client.force_login(importer)
    upload = SimpleUploadedFile(f"人口{good[1]}.csv", text.encode("utf-8-sig"))
    assert (
        client.post("/population/imports/", {"kind": "persons", "file": upload}).status_code == 302
    )
    job = ImportJob.objects.latest("id")
    ImportJob.objects.filter(pk=job.pk).update(mapping={"crs": "wgs84"})
    run_import(job.pk)  # what the worker does, in-process (no mapping: by the header)
    job.refresh_from_db()
    assert job.status == "done" and job.counts["created"] == 2 and job.counts["rejected"] == 2
    assert job.rejected and not job.file
    return [bad_number, "13600001111", id_number("19850505", 64), "1381234567890"], job


@pytest.mark.django_db(transaction=True)
def test_pg_dump_contains_no_clear_identifiers(
    territory: None, tmp_path: Path, settings: Any
) -> None:
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
    rejected_values, job = _import_through_the_pages(tmp_path, settings)
    # A reveal leaves an audit row: who, whose, why — never the value, even when the
    # reason quotes it.
    admin = get_user_model().objects.create_superuser("dump_admin", password="x")
    first = Person.objects.get(name="测试0")
    revealed = reveal_person(
        user=admin, person_id=first.pk, field=Field.ID_NUMBER, reason=f"核对 {numbers[0]}"
    )
    assert revealed.value == numbers[0]
    # A full number and a phone typed into the search box wait in the session (a table).
    searcher = Client()
    searcher.force_login(admin)
    for q in (numbers[1], phones[1]):
        assert searcher.post("/population/", {"q": q}).status_code == 302

    people = {p.pk: reveal_id_number(bytes(p.id_number_enc)) for p in Person.objects.all()}
    clear_ids = set(people.values())
    clear_phones = {
        reveal_phone(bytes(p.phone_enc or b"")) for p in Person.objects.exclude(phone_enc=None)
    } | {
        reveal_phone(bytes(o.contact_phone_enc or b""))
        for o in Organisation.objects.exclude(contact_phone_enc=None)
    }
    assert set(numbers) <= clear_ids and {*phones, org_phone} <= clear_phones
    assert len(clear_ids) == 155  # 150 generated, 3 by the services, 2 imported

    dump = _dump()
    # (a) No clear value anywhere: not the people's, not the rejected rows' of the import.
    for value in clear_ids | clear_phones | set(rejected_values):
        assert value not in dump, value
        assert value.lower() not in dump, value
    # What may be there: the masked forms and the blind index.
    for p in Person.objects.all()[:20]:
        assert p.id_number_masked in dump and p.id_number_index in dump
    assert "138****5678" in dump
    assert job.original_name.startswith("人口") and "*" in job.original_name
    _no_birth_date_or_tail_beside_a_person(dump, people)
    _sessions_hold_no_clear_value(dump, clear_ids | clear_phones)
    # (b) Rebuilding from the clear columns leaves thousands of numbers for everyone.
    rows = copy_rows(dump, "population_person")
    assert len(rows) == len(people)
    counts = [
        candidates(
            area=r["id_area"],
            birth_year=int(r["birth_year"]),
            sex=r["sex"],
            masked=r["id_number_masked"],
        )
        for r in rows
    ]
    assert min(counts) >= MIN_CANDIDATES, min(counts)
    print(f"candidates per person from the dump: min {min(counts)}, max {max(counts)}")


def _no_birth_date_or_tail_beside_a_person(dump: str, people: dict[int, str]) -> None:
    """No row of a person, or of their residences, care tags, owned units or audit rows,
    holds their birth date (YYYYMMDD or YYYY-MM-DD) or their last four."""
    beside: dict[str, list[list[str]]] = {str(pk): [] for pk in people}
    for r in copy_rows(dump, "population_person"):
        beside[r["id"]].append(list(r.values()))
    for table, key in (
        ("population_residence", "person_id"),
        ("population_caretag", "person_id"),
        ("population_housingunit", "owner_id"),
        ("population_revealaudit", "person_id"),
    ):
        for r in copy_rows(dump, table):
            if r[key] in beside:
                beside[r[key]].append(list(r.values()))
    seen_rows = 0
    for pk, number in people.items():
        born = birth_date_of(number)
        dates = {f"{born:%Y%m%d}", born.isoformat()}
        for fields in beside[str(pk)]:
            seen_rows += 1
            assert not any(d in f for f in fields for d in dates), (number, fields)
            assert number[-4:] not in fields
            assert not any("*" in f and f.endswith(number[-4:]) for f in fields), fields
    assert seen_rows > len(people) + 100  # the person rows and many residences


def _sessions_hold_no_clear_value(dump: str, values: set[str]) -> None:
    sessions = copy_rows(dump, "django_session")
    decoded = [
        json.dumps(SessionStore().decode(s["session_data"]), ensure_ascii=False) for s in sessions
    ]
    assert any("population_queries" in d for d in decoded)  # the stash is there, sealed
    for text in decoded:
        assert not any(v in text for v in values), text
