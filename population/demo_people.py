"""The people and organisations of the synthetic demo (see population.demo).

Rows are built here and handed to a COPY writer in chunks, so memory stays flat however
many people are asked for. Identifiers go through population.protect like any other
writer's, so the demo's ciphertexts and blind indexes are the ones searches expect.
"""

import random
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import IO

from django.db import connection

from .demo_data import (
    AGE_WEIGHTS,
    CARE_SOURCES,
    FLOATING_AREAS,
    ORG_KINDS,
    PHONE_PREFIXES,
    given_name,
    org_name,
    surname,
)
from .models import HousingUse
from .protect import protect_id_number, protect_phone
from .validators import credit_check_char, id_check_char

LOCAL_AREA = "110105"  # Chaoyang
LOCAL_SHARE = 0.8
PHONE_SHARE = 0.85

UnitRef = tuple[int, str]  # (housing unit id, use)
Copy = Callable[[str, Iterable[str], Iterable[tuple[object, ...]]], int]
Reserve = Callable[[str, int], list[int]]


@dataclass(frozen=True)
class Grid:
    id: int
    code: str
    community_id: int
    street_id: int
    place: str  # street and community name, the start of every address in the grid


def phone_number(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"


@lru_cache(maxsize=8)
def _ages(low: int, high: int) -> tuple[list[int], list[float]]:
    """Single years low..high with cumulative weights from the five-year bands."""
    weights = dict(AGE_WEIGHTS)
    ages = list(range(low, high + 1))
    return ages, list(accumulate(weights[a // 5] for a in ages))


def birth_date(rng: random.Random, today: date, low: int, high: int) -> date:
    ages, cum = _ages(low, high)
    age = rng.choices(ages, cum_weights=cum)[0]
    return today - timedelta(days=age * 365 + rng.randrange(365) + 1)


class IdentityNumbers:
    """Unique identity numbers: area + birth date + sequence (odd for men) + check."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def make(self, area: str, born: date, male: bool) -> str:
        stem = f"{area}{born:%Y%m%d}"
        while True:
            first17 = f"{stem}{self.rng.randrange(500) * 2 + male:03d}"
            if first17 not in self.seen:
                self.seen.add(first17)
                return first17 + id_check_char(first17)


PERSON_COLUMNS = (
    "id", "name", "id_number_enc", "id_number_index", "id_number_masked", "id_area",
    "id_tail_index", "sex", "birth_year", "phone_enc", "phone_index", "phone_masked", "hukou",
    "registered_on", "permit_expires_on", "status", "grid_id", "street_id", "created_at",
    "updated_at",
)  # fmt: skip


class PeopleWriter:
    """Households into their homes, grid by grid.

    People stream through one COPY, so the server indexes rows while the next ones are
    being made; residences and care tags, which must wait for that COPY to end, are
    spooled as COPY text to a temporary file meanwhile (flat memory at any size).
    """

    def __init__(
        self, rng: random.Random, today: date, now: datetime, copy: Copy, reserve: Reserve
    ) -> None:
        self.rng, self.today, self.now = rng, today, now
        self.copy, self.reserve = copy, reserve
        self.numbers = IdentityNumbers(rng)
        self.residence_file: IO[str] = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.tag_file: IO[str] = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.owners: list[tuple[int, int]] = []
        self.persons = self.households = self.residences = self.care_tags = 0

    def write(self, homes: Iterable[tuple[Grid, list[int], list[UnitRef]]]) -> None:
        """`homes`: per grid, its household sizes and its units (homes first used)."""
        plans = list(homes)
        ids = iter(self.reserve("population_person", sum(sum(h) for _, h, _ in plans)))

        def rows() -> Iterator[tuple[object, ...]]:
            for grid, households, refs in plans:
                homes = [r for r in refs if r[1] in (HousingUse.OWNER, HousingUse.RENTED)]
                for size, (unit_id, use) in zip(households, homes, strict=True):
                    yield from self._household(grid, size, unit_id, use, ids)

        self.persons = self.copy("population_person", PERSON_COLUMNS, rows())
        self.residences = _copy_file(
            "population_residence (person_id, unit_id, relation, since, until)",
            self.residence_file,
        )
        self.care_tags = _copy_file(
            "population_caretag (person_id, tag, since, until, source)", self.tag_file
        )
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE population_housingunit u SET owner_id = o.pid "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS o(uid, pid) WHERE u.id = o.uid",
                [[u for u, _ in self.owners], [p for _, p in self.owners]],
            )

    def _household(
        self, grid: Grid, size: int, unit_id: int, use: str, ids: Iterator[int]
    ) -> Iterator[tuple[object, ...]]:
        rng, today = self.rng, self.today
        self.households += 1
        family = surname(rng)
        floating = rng.random() > LOCAL_SHARE
        area = rng.choice(FLOATING_AREAS) if floating else LOCAL_AREA
        moved_in = today - timedelta(days=rng.randrange(1, 365 * (6 if floating else 25)))
        collective = size >= 4 and use == HousingUse.RENTED and rng.random() < 0.2
        for member in range(size):
            pid = next(ids)
            male = rng.random() < 0.51
            if size == 1:
                low, high = 20, 99
            elif member < 2:
                low, high = 22, 95
            else:  # a child mostly, now and then a parent living with them
                low, high = (0, 24) if rng.random() < 0.75 else (55, 99)
            born = birth_date(rng, today, low, high)
            number = protect_id_number(self.numbers.make(area, born, male))
            phone = protect_phone(phone_number(rng)) if rng.random() < PHONE_SHARE else None
            status, until = "living", None
            roll = rng.random()
            if roll < 0.02:
                status, until = "moved_out", today - timedelta(days=rng.randrange(1, 700))
            elif roll < 0.025 and (today - born).days > 60 * 365:
                status, until = "deceased", today - timedelta(days=rng.randrange(1, 700))
            # A child born after the move gets no start date: the birth date must not
            # stand in for one (it is what the masked number and birth year leave out).
            since = moved_in if moved_in > born else None
            if until is not None and until <= born:
                status, until = "living", None  # a baby cannot have left before birth
            elif until is not None and since is not None and until <= since:
                until = since + timedelta(days=1)
            registered = since if floating else None
            expires = registered + timedelta(days=365 * rng.randint(1, 3)) if registered else None
            family_name = family if not collective or member == 0 else surname(rng)
            yield (pid, family_name + given_name(rng, male), number.enc, number.index,
                   number.masked, number.area, number.tail_index, "M" if male else "F", born.year,
                   phone.enc if phone else None, phone.index if phone else "",
                   phone.masked if phone else "", "floating" if floating else "local",
                   registered, expires, status, grid.id, grid.street_id, self.now,
                   self.now)  # fmt: skip
            if collective:
                relation = "collective"
            elif member == 0:
                relation = "owner" if use == HousingUse.OWNER else "tenant"
            else:
                relation = "family"
            self.residence_file.write(
                f"{pid}\t{unit_id}\t{relation}\t{since or NULL}\t{until or NULL}\n"
            )
            if member == 0 and use == HousingUse.OWNER:
                self.owners.append((unit_id, pid))
            self._care_tags(pid, born, male, size)

    def _care_tags(self, pid: int, born: date, male: bool, household: int) -> None:
        rng, today = self.rng, self.today
        age = (today - born).days // 365

        def tag(name: str) -> None:
            # Never the birth date for a tag older than the person: unknown instead.
            start = today - timedelta(days=rng.randrange(30, 3650))
            since = start if start > born else NULL
            self.tag_file.write(f"{pid}\t{name}\t{since}\t{NULL}\t{CARE_SOURCES[name]}\n")

        if household == 1 and age >= 70:
            tag("elderly_alone")
        if rng.random() < 0.015:
            tag("disabled")
        if rng.random() < 0.01:
            tag("low_income")
        if age >= 60 and rng.random() < 0.002:
            tag("hardship")
        if male and age >= 40 and rng.random() < 0.01:
            tag("veteran")
        if age < 16 and rng.random() < 0.003:
            tag("left_behind_child")


NULL = "\\N"  # COPY text format's null


def _copy_file(target: str, spool: IO[str]) -> int:
    """COPY a spooled text file (tab-separated, no characters needing escapes) in blocks."""
    spool.seek(0)
    lines = 0
    with connection.connection.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN") as copy:
        while block := spool.read(1 << 20):
            copy.write(block.encode())
            lines += block.count("\n")
    spool.close()
    return lines


def credit_code(rng: random.Random, prefix: str, seen: set[str]) -> str:
    """A GB 32100 code: authority and category, the district's area code, a GB 11714
    organisation code (eight characters and its own check character), the check character."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    while True:
        body = "".join(rng.choice(alphabet) for _ in range(8))
        check = 11 - sum(int(c, 36) * w for c, w in zip(body, weights, strict=True)) % 11
        org_code = body + ("X" if check == 10 else "0" if check == 11 else str(check))
        first17 = f"{prefix}{LOCAL_AREA}{org_code}"
        if first17 not in seen:
            seen.add(first17)
            return first17 + credit_check_char(first17)


ORG_COLUMNS = (
    "name", "credit_code", "kind", "address", "contact_name", "contact_phone_enc",
    "contact_phone_index", "contact_phone_masked", "location", "grid_id", "community_id",
    "street_id", "created_at", "updated_at",
)  # fmt: skip


def organisation_rows(
    grids: list[Grid],
    points: dict[int, list[tuple[float, float]]],
    rng: random.Random,
    now: datetime,
) -> tuple[str, tuple[str, ...], list[tuple[object, ...]]]:
    """(table, columns, rows) of organisations at the given points of each grid."""
    by_id = {g.id: g for g in grids}
    kinds = [k for k, _, _ in ORG_KINDS]
    cum = list(accumulate(w for _, w, _ in ORG_KINDS))
    prefixes = {k: p for k, _, p in ORG_KINDS}
    seen: set[str] = set()
    rows: list[tuple[object, ...]] = []
    for gid, pts in points.items():
        grid = by_id[gid]
        for j, (x, y) in enumerate(pts, start=1):
            kind = rng.choices(kinds, cum_weights=cum)[0]
            phone = protect_phone(phone_number(rng)) if rng.random() < 0.9 else None
            rows.append(
                (org_name(rng, kind), credit_code(rng, prefixes[kind], seen), kind,
                 f"{grid.place}{int(grid.code[-3:])}号院商业{j}号",
                 surname(rng) + given_name(rng, rng.random() < 0.5),
                 phone.enc if phone else None, phone.index if phone else "",
                 phone.masked if phone else "", f"SRID=4326;POINT({x} {y})", grid.id,
                 grid.community_id, grid.street_id, now, now)
            )  # fmt: skip
    return "population_organisation", ORG_COLUMNS, rows
