"""Migration 0005 on rows written the old way: the birth year, the tail index and the new
mask are filled, the clear birth date and last four are gone; going back restores them.

Run on the real test database with Django's migration executor, in batches smaller than
the rows so the batch loop is exercised.
"""

import importlib
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core import crypto
from grids.scope import EVERYTHING
from population.protect import id_tail_index, protect_id_number
from population.selectors import classify_person_query, person_search
from tests.factories import id_number

BEFORE = ("population", "0004_hash_indexes_for_equality_lookups")
AFTER = ("population", "0005_person_keeps_area_and_birth_year_only")
NUMBERS = [
    id_number("19690830", 928),
    id_number("20000229", 17, area="410102"),
    id_number("19491231", 2),
    id_number("19851111", 999),
    id_number("20120615", 40, area="370202"),
]


def _migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def _columns() -> set[str]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'population_person'"
        )
        return {r[0] for r in cur.fetchall()}


def _rows(columns: str) -> dict[str, tuple[Any, ...]]:
    """{id_number_index: (columns…)} of every person."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT id_number_index, {columns} FROM population_person")
        return {r[0]: tuple(r[1:]) for r in cur.fetchall()}


@pytest.fixture
def at_0004(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    module = importlib.import_module("population.migrations." + AFTER[1])
    monkeypatch.setattr(module, "BATCH", 2)
    _migrate(BEFORE)
    try:
        yield
    finally:
        _migrate(AFTER)  # whatever happened, the next tests find the current schema


def _insert_the_old_way(numbers: list[str]) -> None:
    with connection.cursor() as cur:
        for n, number in enumerate(numbers):
            pid = protect_id_number(number)
            cur.execute(
                "INSERT INTO population_person (name, id_number_enc, id_number_index, "
                "id_number_masked, id_head, id_tail, sex, birth_date, phone_index, "
                "phone_masked, hukou, status, created_at, updated_at) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, '', '', 'local', 'living', now(), now())",
                [
                    f"旧行{n}", pid.enc, pid.index, crypto.mask(number), number[:6],
                    number[-4:], "M" if int(number[16]) % 2 else "F",
                    date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
                ],
            )  # fmt: skip


def test_0005_fills_the_new_columns_and_drops_the_clear_ones(at_0004: None) -> None:
    assert {"id_head", "id_tail", "birth_date"} <= _columns()
    _insert_the_old_way(NUMBERS)

    _migrate(AFTER)

    columns = _columns()
    assert {"id_area", "id_tail_index", "birth_year"} <= columns
    assert not {"id_head", "id_tail", "birth_date"} & columns
    rows = _rows("id_area, birth_year, id_tail_index, id_number_masked, sex")
    assert len(rows) == len(NUMBERS)
    for number in NUMBERS:
        area, year, tail, masked, sex = rows[protect_id_number(number).index]
        assert (area, year) == (number[:6], int(number[6:10]))
        assert tail == id_tail_index(number[-4:])
        assert masked == number[:6] + "*" * 10 + number[-2:]
        assert sex == ("M" if int(number[16]) % 2 else "F")
    # Fragment search finds them through the filled index.
    everyone = EVERYTHING
    for number in NUMBERS:
        for q in (f"{number[:6]}*{number[-4:]}", f"*{number[-4:]}"):
            found = person_search(everyone, classify_person_query(q))
            assert protect_id_number(number).index in {p.id_number_index for p in found}, q

    # And back: the old columns and mask, rebuilt from the ciphertexts.
    _migrate(BEFORE)
    back = _rows("id_head, birth_date, id_tail, id_number_masked")
    for number in NUMBERS:
        head, born, tail, masked = back[protect_id_number(number).index]
        assert (head, tail, masked) == (number[:6], number[-4:], crypto.mask(number))
        assert born == date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
