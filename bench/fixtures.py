"""Synthetic open cases for the benchmarks: generated in SQL, removed afterwards.

Rows live in a benchmark-only id range (BASE_ID …) with numbers "BENCH-…", so whatever a
crashed run leaves behind is found and removed by the next one. Generation is one
INSERT … SELECT: points from ST_GeneratePoints inside each unit grid, as many per grid as
its share of the district's area (the same spread as random points over the district, but
the grid, community and street are known without a spatial join), and every other column
from integer hashes of the row number, so a given (n, seed) always yields the same rows.

The event log is append-only: a trigger refuses DELETE. `purge` disables that trigger
inside its own transaction (ALTER TABLE … DISABLE TRIGGER takes an ACCESS EXCLUSIVE lock
on the event table until commit, so no other session ever sees the table unguarded) and
deletes only the benchmark's rows; TRUNCATE would take everyone's history with it.
"""

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from cases.models import Category, Urgency

BASE_ID = 9_000_000_000_000
SPAN = 1_000_000_000
NUMBER_PREFIX = "BENCH-"
EVENT_TRIGGER = "cases_event_no_update"
BENCH_RANGE_SQL = f"id >= {BASE_ID} AND id < {BASE_ID + SPAN}"

# The open statuses of a live system, weighted: most work sits with departments.
STATUS_MIX: list[tuple[str, float]] = [
    ("reported", 0.04),
    ("verifying", 0.04),
    ("verified", 0.02),
    ("open", 0.05),
    ("escalated", 0.03),
    ("dispatched", 0.10),
    ("accepted", 0.50),
    ("returned", 0.02),
    ("done", 0.10),
    ("checked", 0.05),
    ("parked", 0.05),
]
SOURCE_MIX: list[tuple[str, float]] = [
    ("grid_worker", 0.45),
    ("hotline", 0.30),
    ("web", 0.08),
    ("open311", 0.02),
    ("patrol", 0.12),
    ("transfer", 0.03),
]
URGENCY_MIX: list[tuple[str, float]] = [("normal", 0.85), ("urgent", 0.12), ("critical", 0.03)]
# Background lights: green rows warn no sooner than an hour from now, yellow rows are due
# no sooner than an hour from now, red rows were flagged already; so a sweep during the
# benchmark finds nothing among them.
LIGHT_MIX: list[tuple[str, float]] = [("green", 0.80), ("yellow", 0.12), ("red", 0.08)]


def _u(k: int) -> str:
    """SQL for a uniform [0, 1) number from the row number gn and salt k (deterministic)."""
    h = f"hashint8(gn * 16 + {k} + %(seed)s::bigint * 1000003)"
    return f"(({h} & 2147483647)::float8 / 2147483648)"


def _pick(mix: list[tuple[str, float]], u: str) -> str:
    """A CASE choosing from a weighted mix by the uniform number `u` (constants only)."""
    cases, acc = [], 0.0
    for value, weight in mix[:-1]:
        acc += weight
        cases.append(f"WHEN {u} < {acc:.6f} THEN '{value}'")
    return f"(CASE {' '.join(cases)} ELSE '{mix[-1][0]}' END)"


_OPENED = ("open", "escalated", "dispatched", "accepted", "returned", "done", "checked", "parked")
_CITIZEN = ("hotline", "web", "open311")


def _sql_list(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# Timing of a row: a stage of length L (8 h … 5 days) of which a fraction f has elapsed;
# green f < 0.8 − 1 h/L, yellow 0.8 ≤ f < 1 − 1 h/L, red f ≥ 1.05.
_INSERT_SQL = f"""
WITH g AS (
  SELECT id, parent_id, boundary, code,
         %(n)s::float8 * area_m2 / sum(area_m2) OVER () AS share
  FROM grids_region WHERE level = 4 AND code LIKE %(prefix)s
), k AS (
  SELECT g.*, floor(share)::int + CASE WHEN row_number() OVER (
           ORDER BY share - floor(share) DESC, code) <= %(n)s - sum(floor(share)) OVER ()
         THEN 1 ELSE 0 END AS k
  FROM g
), pts AS (
  SELECT k.id AS grid_id, k.parent_id AS community_id, k.code,
         (ST_Dump(ST_GeneratePoints(k.boundary, k.k, %(seed)s + %(offset)s + k.id::int))).geom
           AS geom
  FROM k WHERE k.k > 0
), numbered AS (
  SELECT %(offset)s + row_number() OVER (ORDER BY code, ST_X(geom), ST_Y(geom)) AS gn, pts.*
  FROM pts
), cats AS (
  SELECT array_agg(id ORDER BY code) AS ids FROM cases_category
  WHERE parent_id IS NOT NULL AND active
), base AS (
  SELECT gn, grid_id, community_id, geom,
         cats.ids[1 + floor({_u(1)} * array_length(cats.ids, 1))::int] AS category_id,
         {_pick(URGENCY_MIX, _u(2))} AS urgency,
         {_pick(STATUS_MIX, _u(3))} AS status0,
         {_pick(SOURCE_MIX, _u(4))} AS source0,
         {_u(5)} < 0.05 AS district_level,
         {_pick(LIGHT_MIX, _u(6))} AS light0,
         interval '8 hours' + {_u(7)} * interval '112 hours' AS stage_len,
         {_u(8)} AS uf,
         {_u(9)} * interval '7 days' AS age_before_stage
  FROM numbered, cats
), shaped AS (
  SELECT b.*,
         status0 AS status, light0 AS light,
         CASE
           WHEN light0 = 'green' THEN uf * (0.8 - 3600 / extract(epoch FROM stage_len))
           WHEN light0 = 'yellow' THEN 0.8 + uf * (0.2 - 3600 / extract(epoch FROM stage_len))
           ELSE 1.05 + 2 * uf
         END AS f
  FROM base b
), timed AS (
  SELECT s.*, %(now)s::timestamptz - f * stage_len AS started FROM shaped s
)
INSERT INTO cases_case (
  id, number, category_id, urgency, description, location, address, grid_id, community_id,
  street_id, outside_jurisdiction, source, reporter_id, citizen_name, citizen_phone_enc,
  citizen_phone_index, citizen_phone_masked, status, handling_level, stage_started_at,
  deadline, warning_at, light, paused_remaining_s, supervised, merged_into_id, sla_policy,
  verification_required, rework_count, return_count, extension_count, satisfaction,
  idempotency_key, idempotency_fingerprint, version, created_at, updated_at, opened_at,
  closed_at
)
SELECT
  {BASE_ID} + t.gn,
  '{NUMBER_PREFIX}' || lpad(t.gn::text, 9, '0'),
  t.category_id, t.urgency,
  '合成案件 #' || t.gn || ':' || cc.name || '附近发现问题,请处置。',
  t.geom, cc.name || '附近', t.grid_id, t.community_id, cc.parent_id, false,
  src.source, NULL,
  CASE WHEN src.source IN ({_sql_list(_CITIZEN)}) THEN '王先生' ELSE '' END,
  NULL, '', '', t.status,
  CASE WHEN t.status = 'escalated' OR t.district_level THEN 'district' ELSE 'street' END,
  t.started,
  CASE WHEN t.status <> 'parked' THEN t.started + t.stage_len END,
  CASE WHEN t.status <> 'parked' THEN t.started + 0.8 * t.stage_len END,
  CASE WHEN t.status = 'parked' THEN 'green' ELSE t.light END,
  CASE WHEN t.status = 'parked' THEN 3600 END,
  t.light = 'red' AND t.status <> 'parked', NULL,
  %(policies)s::jsonb -> (t.category_id::text || ':' || t.urgency),
  src.source IN ({_sql_list(_CITIZEN)}), 0, 0, 0, '', NULL, '', 1,
  t.started - t.age_before_stage, t.started,
  CASE WHEN t.status IN ({_sql_list(_OPENED)}) THEN t.started - 0.5 * t.age_before_stage END,
  NULL
FROM timed t
JOIN grids_region cc ON cc.id = t.community_id
CROSS JOIN LATERAL (
  SELECT CASE WHEN t.status IN ('verifying', 'verified') THEN 'hotline' ELSE t.source0 END
         AS source
) src
"""


def policies() -> dict[str, object]:
    """Every (category, urgency) policy snapshot, as intake would freeze it into a case."""
    from dispatch.services.sla import policy_snapshot

    leaves = Category.objects.filter(parent__isnull=False, active=True).values_list("id", flat=True)
    return {
        f"{cid}:{u}": policy_snapshot(category_id=cid, urgency=u)
        for cid in leaves
        for u in Urgency.values
    }


def generate_cases(n: int, *, offset: int = 0, seed: int = 42) -> None:
    """Insert `n` open cases over the home district, numbered offset + 1 … offset + n."""
    from django.conf import settings

    with transaction.atomic(), connection.cursor() as cur:
        # The statement's estimated cost is huge (a set-returning function per grid), which
        # would make PostgreSQL JIT-compile it: seconds of compiling for nothing.
        cur.execute("SET LOCAL jit = off")
        cur.execute(
            _INSERT_SQL,
            {
                "n": n,
                "seed": seed,
                "offset": offset,
                "now": timezone.now(),
                "prefix": f"{settings.HOME_DISTRICT_CODE}%",
                "policies": json.dumps(policies()),
            },
        )
        assert cur.rowcount == n, f"generated {cur.rowcount} cases, wanted {n}"


def ensure_open_cases(n: int) -> int:
    """Top the benchmark range up to `n` generated cases; returns how many were added.

    Later modules reuse what earlier ones generated (inserting 100,000 cases costs more than
    any benchmark that reads them); bench.run removes them all at the end.
    """
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*), max(id) FROM cases_case WHERE {BENCH_RANGE_SQL}")
        count, last = cur.fetchone() or (0, None)
    if count > n:  # a larger set from an interrupted run: keep the first n
        purge(f"{BENCH_RANGE_SQL} AND id > %s", [BASE_ID + n])
        return ensure_open_cases(n)
    if count == n:
        return 0
    offset = int(last - BASE_ID) if last is not None else 0
    generate_cases(n - count, offset=offset)
    vacuum_analyze()
    return n - count


def vacuum_analyze() -> None:
    """What autovacuum would have done by now on a live system: fresh statistics, no bloat."""
    with connection.cursor() as cur:
        cur.execute("VACUUM (ANALYZE) cases_case")


def _referencing_tables() -> list[tuple[str, str]]:
    """(table, column) of every foreign key to cases_case other than its own, events last."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT c.conrelid::regclass::text, a.attname
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
            WHERE c.contype = 'f' AND c.confrelid = 'cases_case'::regclass
              AND c.conrelid <> 'cases_case'::regclass
            """
        )
        rows = [(t, col) for t, col in cur.fetchall()]
    # Attachments point at events too, so they go before the events.
    return sorted(rows, key=lambda r: (r[0] == "cases_caseevent", r[0] != "cases_attachment"))


def purge(where: str, params: Sequence[Any] = ()) -> int:
    """Delete the cases matching `where` (SQL over cases_case) and every row that points at
    them, events included. Returns the number of cases removed."""
    with transaction.atomic(), connection.cursor() as cur:
        # Foreign keys here are DEFERRABLE INITIALLY DEFERRED: their checks would wait as
        # pending trigger events, and ALTER TABLE refuses a table with any pending.
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("DROP TABLE IF EXISTS bench_doomed")
        cur.execute(
            f"CREATE TEMP TABLE bench_doomed ON COMMIT DROP AS SELECT id FROM cases_case "
            f"WHERE {where}",
            list(params),
        )
        cur.execute("SELECT count(*) FROM bench_doomed")
        (count,) = cur.fetchone() or (0,)
        if not count:
            return 0
        cur.execute("CREATE INDEX ON bench_doomed (id)")
        cur.execute("ANALYZE bench_doomed")
        for table, column in _referencing_tables():
            if table == "cases_caseevent":
                cur.execute(f"ALTER TABLE cases_caseevent DISABLE TRIGGER {EVENT_TRIGGER}")
            cur.execute(f"DELETE FROM {table} WHERE {column} IN (SELECT id FROM bench_doomed)")
            if table == "cases_caseevent":
                cur.execute(f"ALTER TABLE cases_caseevent ENABLE TRIGGER {EVENT_TRIGGER}")
        cur.execute("DELETE FROM cases_case WHERE id IN (SELECT id FROM bench_doomed)")
    vacuum_cases()
    return int(count)


def vacuum_cases() -> None:
    """VACUUM ANALYZE the case tables. Deleted rows stay in indexes until a vacuum, and the
    benchmark's database may run without autovacuum (this machine's does): tens of thousands
    of dead cases inside the duplicate window halved the intake rate of the next run."""
    tables = ["cases_case", "cases_casenumbercounter", *(t for t, _ in _referencing_tables())]
    with connection.cursor() as cur:  # autocommit: VACUUM refuses a transaction block
        cur.execute(f"VACUUM ANALYZE {', '.join(dict.fromkeys(tables))}")


def purge_generated() -> int:
    return purge(BENCH_RANGE_SQL)
