"""Synthetic base databases for the demo and the benchmarks: `seed_population(n, seed)`.

People with valid GB 11643 numbers (Chaoyang's 110105 for local residents, home areas
elsewhere for the floating population), households in housing units of buildings placed
inside their grids (ST_GeneratePoints, seeded), residences, special-care tags, and
organisations with valid GB 32100 codes. Deterministic from the seed (ciphertexts aside:
their nonces are random). Rows go in with COPY, identifiers through population.protect.
Nothing here is a real person: names, numbers and phones are drawn at random.
"""

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import accumulate

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from grids.covering import covering_grids_sql

from .demo_people import Grid, PeopleWriter, UnitRef, organisation_rows
from .models import HousingUse, Person
from .validators import normalise_address

logger = logging.getLogger(__name__)

REFERENCE_DAY = date(2026, 1, 1)  # ages are drawn relative to this day, for determinism
HOUSEHOLD_SIZES = ((1, 25), (2, 30), (3, 28), (4, 12), (5, 5))
RENTED_SHARE = 0.28
# Units without residents: vacant flats and shops, beside the households' homes.
EXTRA_UNITS = ((HousingUse.VACANT, 0.08), (HousingUse.COMMERCIAL, 0.04))
DENSE_FACTOR = 4.0


@dataclass
class SeedReport:
    persons: int = 0
    households: int = 0
    housing_units: int = 0
    buildings: int = 0
    residences: int = 0
    care_tags: int = 0
    organisations: int = 0
    seconds: float = 0.0
    skipped: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        if self.skipped:
            return "people already present, nothing generated (--replace-population to redo)"
        return (
            f"{self.persons} persons in {self.households} households, {self.housing_units} "
            f"housing units in {self.buildings} buildings, {self.residences} residences, "
            f"{self.care_tags} care tags, {self.organisations} organisations "
            f"in {self.seconds:.1f} s"
        )


@dataclass
class _GridPlan:
    grid: Grid
    households: list[int]  # sizes
    uses: list[str]  # one per unit: a home per household, then vacant flats and shops
    refs: list[UnitRef] = field(default_factory=list)


def _grids() -> list[Grid]:
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT g.id, g.code, c.id, s.id, s.name || c.name
            FROM grids_region g
            JOIN grids_region c ON c.id = g.parent_id
            JOIN grids_region s ON s.id = c.parent_id
            WHERE g.level = 4 ORDER BY g.code
            """
        )
        return [Grid(*row) for row in cur.fetchall()]


def reserve_ids(table: str, count: int) -> list[int]:
    """`count` ids from the table's sequence, so rows can reference each other before
    they are written."""
    if count == 0:
        return []
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)",
            [count],
        )
        return [r[0] for r in cur.fetchall()]


def random_points(wanted: dict[int, int], seed: int) -> dict[int, list[tuple[float, float]]]:
    """`wanted[grid id]` seeded random points inside each grid, each one placed in that
    grid by the one point → grid definition (grids.covering), as a write would place it.

    Points are drawn inside the grid, then rounded to 7 decimals (a centimetre), which can
    carry a point drawn against an edge into the neighbouring grid, or onto a shared edge
    that the lower grid code takes: such points are drawn again with another seed.
    """
    out: dict[int, list[tuple[float, float]]] = {gid: [] for gid in wanted}
    missing = {gid: k for gid, k in wanted.items() if k > 0}
    for attempt in range(_DRAWS):
        if not missing:
            return out
        drawn = _draw_points(missing, seed + attempt * _RESEED)
        strays = _placed_elsewhere(drawn)
        for gid, points in drawn.items():
            out[gid] += [p for i, p in enumerate(points) if (gid, i) not in strays]
        missing = {gid: wanted[gid] - len(out[gid]) for gid in missing}
        missing = {gid: k for gid, k in missing.items() if k > 0}
    if missing:
        raise RuntimeError(f"seed_population: no points inside grids {sorted(missing)}")
    return out


_DRAWS = 5
_RESEED = 7919


def _draw_points(wanted: dict[int, int], seed: int) -> dict[int, list[tuple[float, float]]]:
    """`wanted[grid id]` seeded random points drawn inside each grid, in one statement."""
    out: dict[int, list[tuple[float, float]]] = {gid: [] for gid in wanted}
    ids, counts = zip(*sorted(wanted.items()), strict=True)
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT g.id, ST_X(d.geom), ST_Y(d.geom)
            FROM unnest(%s::bigint[], %s::int[]) AS w(id, k)
            JOIN grids_region g ON g.id = w.id,
            LATERAL ST_Dump(ST_GeneratePoints(g.boundary, w.k, %s)) AS d
            ORDER BY g.id, d.path
            """,
            [list(ids), list(counts), seed],
        )
        for gid, x, y in cur.fetchall():
            out[gid].append((round(x, 7), round(y, 7)))
    return out


def _placed_elsewhere(points: dict[int, list[tuple[float, float]]]) -> set[tuple[int, int]]:
    """(grid id, position) of the points that grids.covering places in another grid or in
    none: one set-based statement over a temporary table with a GiST index, as imports
    locate their points."""
    rows = [(gid, i, x, y) for gid, pts in points.items() for i, (x, y) in enumerate(pts)]
    if not rows:
        return set()
    gids, positions, xs, ys = (list(column) for column in zip(*rows, strict=True))
    table = "population_demo_points"
    covering = covering_grids_sql(f"SELECT gid, n, geom FROM {table}", keys=("gid", "n"))
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(
            f"CREATE TEMPORARY TABLE {table} AS SELECT gid, n, "
            f"ST_SetSRID(ST_MakePoint(lng, lat), 4326) AS geom "
            f"FROM unnest(%s::bigint[], %s::int[], %s::float8[], %s::float8[]) "
            f"AS u(gid, n, lng, lat)",
            [gids, positions, xs, ys],
        )
        cur.execute(f"CREATE INDEX ON {table} USING gist (geom)")
        cur.execute(f"ANALYZE {table}")
        cur.execute(
            f"SELECT d.gid, d.n FROM {table} d "
            f"LEFT JOIN ({covering}) here ON here.gid = d.gid AND here.n = d.n "
            f"WHERE here.grid_id IS DISTINCT FROM d.gid"
        )
        strays = {(gid, n) for gid, n in cur.fetchall()}
        cur.execute(f"DROP TABLE {table}")
    return strays


def copy_rows(table: str, columns: Iterable[str], rows: Iterable[tuple[object, ...]]) -> int:
    cols = ", ".join(columns)
    count = 0
    with (
        connection.connection.cursor() as cur,
        cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def skip_row_triggers() -> bool:
    """Skip the per-row foreign-key triggers for this transaction, where allowed.

    Every reference is made here from ids just reserved or read, and `_verify` checks them
    all afterwards with a few set-based anti-joins: far cheaper than the millions of
    one-row checks that Django's deferred constraints would otherwise run at commit.
    Needs a superuser (as pg_restore --disable-triggers does); elsewhere the triggers run.
    """
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        return False
    return True


def restore_row_triggers() -> None:
    """The per-row triggers on again for the rest of the transaction (after the bulk rows)."""
    with connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = DEFAULT")


_CHECKS = (
    ("population_person", "grid_id", "grids_region"),
    ("population_person", "street_id", "grids_region"),
    ("population_building", "grid_id", "grids_region"),
    ("population_housingunit", "building_id", "population_building"),
    ("population_housingunit", "owner_id", "population_person"),
    ("population_residence", "person_id", "population_person"),
    ("population_residence", "unit_id", "population_housingunit"),
    ("population_caretag", "person_id", "population_person"),
    ("population_organisation", "grid_id", "grids_region"),
)


def _verify() -> None:
    with connection.cursor() as cur:
        for table, column, target in _CHECKS:
            cur.execute(
                f"SELECT count(*) FROM {table} t WHERE t.{column} IS NOT NULL "
                f"AND NOT EXISTS (SELECT 1 FROM {target} x WHERE x.id = t.{column})"
            )
            dangling = cur.fetchone()[0]
            if dangling:
                raise RuntimeError(f"seed_population: {dangling} dangling {table}.{column}")


def _wipe() -> None:
    """Empty the base databases (reveal audit rows too: they point at the people)."""
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE population_revealaudit, population_caretag, population_residence, "
            "population_housingunit, population_person, population_building, "
            "population_organisation"
        )


def _plan(grids: list[Grid], per_grid: list[int], rng: random.Random) -> list[_GridPlan]:
    sizes = [s for s, _ in HOUSEHOLD_SIZES]
    cum = list(accumulate(w for _, w in HOUSEHOLD_SIZES))
    plans = []
    for grid, people in zip(grids, per_grid, strict=True):
        households: list[int] = []
        while people > 0:
            size = min(people, rng.choices(sizes, cum_weights=cum)[0])
            households.append(size)
            people -= size
        if not households:
            continue
        uses = [
            HousingUse.RENTED if rng.random() < RENTED_SHARE else HousingUse.OWNER
            for _ in households
        ]
        for use, share in EXTRA_UNITS:
            uses += [use] * round(len(households) * share + rng.random() - 0.5)
        plans.append(_GridPlan(grid, households, [str(u) for u in uses]))
    return plans


def _buildings_and_units(
    plans: list[_GridPlan], rng: random.Random, seed: int, now: datetime, report: SeedReport
) -> None:
    """Buildings (points inside their grid) and the units in them; fills each plan's refs."""
    shapes: list[list[tuple[int, int]]] = []  # per plan: (entrances 单元, floors) per building
    for plan in plans:
        need, grid_shapes = len(plan.uses), []
        while need > 0:
            entrances, floors = rng.randint(1, 4), rng.randint(4, 18)
            grid_shapes.append((entrances, floors))
            need -= entrances * floors * 2  # two flats per floor and entrance
        shapes.append(grid_shapes)
    points = random_points({p.grid.id: len(s) for p, s in zip(plans, shapes, strict=True)}, seed)
    building_ids = iter(reserve_ids("population_building", sum(map(len, shapes))))
    unit_ids = iter(reserve_ids("population_housingunit", sum(len(p.uses) for p in plans)))
    buildings: list[tuple[object, ...]] = []

    def units() -> Iterator[tuple[object, ...]]:
        for plan, grid_shapes in zip(plans, shapes, strict=True):
            grid, court = plan.grid, int(plan.grid.code[-3:])
            slots: list[tuple[int, str, str, int, str]] = []
            located = zip(points[grid.id], grid_shapes, strict=True)
            for k, ((x, y), (entrances, floors)) in enumerate(located, start=1):
                bid = next(building_ids)
                address = f"{grid.place}{court}号院{k}号楼"
                buildings.append(
                    (bid, address, normalise_address(address), f"{k}号楼", floors,
                     f"SRID=4326;POINT({x} {y})", grid.id, grid.community_id, grid.street_id,
                     now, now)
                )  # fmt: skip
                # Normalising every unit's address costs more than the rest of the unit;
                # the suffix "1单元301" survives normalisation unchanged, so normalise the
                # building's part once (checked on its first unit).
                first = f"{address}1单元101"
                norm_head = normalise_address(first)[: -len("1单元101")]
                for e in range(1, entrances + 1):
                    for floor in range(1, floors + 1):
                        for r in (1, 2):
                            slots.append((bid, address, norm_head, e, f"{floor}{r:02d}"))
            # Shops take ground floors first; homes and vacant flats fill the rest at random.
            rng.shuffle(slots)
            slots.sort(key=lambda s: len(s[4]) != 3 or s[4][0] != "1")
            ordered = sorted(plan.uses, key=lambda use: use != HousingUse.COMMERCIAL)
            for use, (bid, address, norm_head, e, room) in zip(ordered, slots, strict=False):
                uid = next(unit_ids)
                suffix = f"{e}单元{room}"
                area = 60.0 if use == HousingUse.COMMERCIAL else round(rng.uniform(28, 160), 2)
                yield (uid, bid, str(e), int(room[:-2]), room, address + suffix,
                       norm_head + suffix, area, use, grid.id, grid.street_id, now,
                       now)  # fmt: skip
                plan.refs.append((uid, use))

    report.housing_units = copy_rows(
        "population_housingunit",
        ("id", "building_id", "unit", "floor", "room", "address", "address_norm", "area_m2",
         "use", "grid_id", "street_id", "created_at", "updated_at"),
        units(),
    )  # fmt: skip
    report.buildings = copy_rows(
        "population_building",
        ("id", "address", "address_norm", "name", "floors", "location", "grid_id",
         "community_id", "street_id", "created_at", "updated_at"),
        buildings,
    )  # fmt: skip
    # The shortcut above, checked once per run against the real normalisation.
    sample = buildings[0][1] if buildings else ""
    if sample and normalise_address(f"{sample}2单元1802") != (
        normalise_address(f"{sample}1单元101")[: -len("1单元101")] + "2单元1802"
    ):
        raise RuntimeError("address normalisation changed: update population.demo")


def _weights(grids: list[Grid], dense_streets: Iterable[str]) -> list[float]:
    dense = tuple(dense_streets)
    return [DENSE_FACTOR if dense and g.code.startswith(dense) else 1.0 for g in grids]


@transaction.atomic
def seed_population(
    n: int,
    seed: int = 2026,
    *,
    dense_streets: Iterable[str] = (),
    replace: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Generate about `n` people (and their housing and organisations) across the grids.

    Skips (and says so) when people exist already, unless `replace`, which empties the
    base databases first. Grids of `dense_streets` (street codes) get four times the
    density, so the demo streets' accounts see busy grids.
    """
    started = time.perf_counter()
    report = SeedReport()
    if Person.objects.exists() and not replace:
        report.skipped = True
        return report
    if replace:
        _wipe()
    grids = _grids()
    if not grids or n <= 0:
        return report
    rng = random.Random(seed)
    today = min(REFERENCE_DAY, timezone.localdate())
    now = timezone.now()
    say = progress or (lambda _m: None)

    def lap(name: str) -> None:
        report.timings[name] = round(time.perf_counter() - started, 2)
        say(f"{name}: {report.timings[name]} s")

    skipped_triggers = skip_row_triggers()
    per_grid = [0] * len(grids)
    for i in rng.choices(range(len(grids)), weights=_weights(grids, dense_streets), k=n):
        per_grid[i] += 1
    plans = _plan(grids, per_grid, rng)
    _buildings_and_units(plans, rng, seed, now, report)
    lap("buildings and housing")

    writer = PeopleWriter(rng, today, now, copy_rows, reserve_ids)
    writer.write((p.grid, p.households, p.refs) for p in plans)
    report.persons, report.households = writer.persons, writer.households
    report.residences, report.care_tags = writer.residences, writer.care_tags
    lap("people")
    wanted = organisation_counts(grids, per_grid, rng)
    report.organisations = copy_rows(
        *organisation_rows(grids, random_points(wanted, seed + 1), rng, now)
    )
    lap("organisations")
    if skipped_triggers:
        restore_row_triggers()
        _verify()
        lap("verified")
    with connection.cursor() as cur:
        for table in ("person", "housingunit", "building", "residence", "organisation"):
            cur.execute(f"ANALYZE population_{table}")
    report.seconds = time.perf_counter() - started
    logger.info("seed_population: %s", report.summary())
    return report


PEOPLE_PER_ORG = 20


def organisation_counts(
    grids: list[Grid], per_grid: list[int], rng: random.Random
) -> dict[int, int]:
    """About one organisation per twenty residents, at least one in most inhabited grids."""
    wanted: dict[int, int] = {}
    for grid, people in zip(grids, per_grid, strict=True):
        k = people // PEOPLE_PER_ORG
        if rng.random() < (people % PEOPLE_PER_ORG) / PEOPLE_PER_ORG:
            k += 1
        if k:
            wanted[grid.id] = k
    return wanted
