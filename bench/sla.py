"""The SLA sweep with 100,000 open cases of which 10,000 fall due at the same instant.

Ours: dispatch.services.sla.sweep() in this process, started at the due instant; the figure
is the time from that instant until every one of the 10,000 is red (checked in the
database, so a sweep run by some other worker at the same time would count too).
Baseline: the raw UPDATE … WHERE deadline <= now() that flags the same rows in one
statement, on the same rows reset to their earlier light.

Idle: a sweep when nothing is due, beside the same raw UPDATE finding nothing.

The Celery path (beat → dispatch.tasks.sla_sweep on a worker) adds at most one beat
interval (settings.SLA_SWEEP_SECONDS) before the same code runs; the goal below leaves
room for it. This module does not start a worker of its own on the shared broker.
"""

import time
from datetime import datetime, timedelta

import psycopg
from django.conf import settings
from django.db import connection
from django.utils import timezone

from bench import fixtures
from bench.common import Entry, median, percentile
from bench.locate import _dsn
from cases.models import FINAL_STATUSES
from dispatch.services import sla

N_OPEN = 100_000
N_DUE = 10_000
IDLE_ROUNDS = 20
# The due instant lies this far after the rows are changed, so the vacuum that a live
# system's autovacuum would have done runs before it.
LEAD_S = 15.0
SETTLE_TIMEOUT_S = 120.0

_FINAL = [str(s) for s in FINAL_STATUSES]
# The one-statement baseline; the same predicate as the sweep's red claim (and its index).
RAW_FLAG_SQL = """
UPDATE cases_case SET light = 'red', supervised = true, updated_at = now()
WHERE NOT (status = ANY(%s)) AND light <> 'red' AND deadline <= now()
"""


def _choose_due() -> list[tuple[int, str]]:
    """10,000 generated cases with a running clock that are not red yet, spread evenly
    (hash order), with the light each has now."""
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT id, light FROM cases_case WHERE {fixtures.BENCH_RANGE_SQL} "
            "AND deadline IS NOT NULL AND light <> 'red' ORDER BY hashint8(id), id LIMIT %s",
            [N_DUE],
        )
        rows = [(int(i), str(light)) for i, light in cur.fetchall()]
    assert len(rows) == N_DUE, f"only {len(rows)} cases could fall due"
    return rows


def _make_due(ids: list[int], at: datetime) -> None:
    """Their deadline becomes `at`; their warning time is already behind them."""
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE cases_case SET deadline = %s, "
            "warning_at = LEAST(warning_at, %s::timestamptz - interval '1 minute') "
            "WHERE id = ANY(%s)",
            [at, at, ids],
        )


def _red_count(ids: list[int]) -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM cases_case WHERE id = ANY(%s) AND light = 'red'", [ids])
        row = cur.fetchone()
    return int(row[0]) if row else 0


def _reset(rows: list[tuple[int, str]]) -> None:
    """Back to the light each had, unsupervised, so the baseline flags the same rows."""
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE cases_case c SET light = r.light, supervised = false "
            "FROM unnest(%s::bigint[], %s::text[]) AS r(id, light) WHERE c.id = r.id",
            [[i for i, _ in rows], [light for _, light in rows]],
        )


def _sleep_until(at: float) -> None:
    delay = at - time.time()
    if delay > 0:
        time.sleep(delay)
    elif delay < -0.5:
        print(f"  sla: started {-delay:.1f} s after the due instant", flush=True)


def _raw_flag(cur: psycopg.Cursor[object]) -> int:
    cur.execute(RAW_FLAG_SQL, (_FINAL,))
    return cur.rowcount


def run() -> list[Entry]:
    added = fixtures.ensure_open_cases(N_OPEN)
    print(f"  sla: {N_OPEN} open cases ({added} generated now)", flush=True)
    sla.sweep()  # whatever is due elsewhere in the database now is not part of the figure
    # Idle: nothing of ours is due. The database is shared, so another case falling due
    # meanwhile is possible; it is reported, not treated as a failure.
    idle, found = [], 0
    for _ in range(IDLE_ROUNDS):
        t = time.perf_counter()
        result = sla.sweep()
        idle.append(time.perf_counter() - t)
        found += result.red + result.yellow
    with psycopg.connect(_dsn(), autocommit=True) as conn, conn.cursor() as cur:
        idle_raw = []
        for _ in range(IDLE_ROUNDS):
            t = time.perf_counter()
            found += _raw_flag(cur)
            idle_raw.append(time.perf_counter() - t)
    if found:
        print(f"  sla: idle rounds found {found} cases due elsewhere", flush=True)

    rows = _choose_due()
    ids = [i for i, _ in rows]
    due = timezone.now() + timedelta(seconds=LEAD_S)
    due_at = due.timestamp()
    _make_due(ids, due)
    fixtures.vacuum_analyze()
    _sleep_until(due_at)
    result = sla.sweep()
    swept_s = time.time() - due_at
    stop = time.monotonic() + SETTLE_TIMEOUT_S
    while (red := _red_count(ids)) < N_DUE and time.monotonic() < stop:
        time.sleep(0.1)
    flagged_s = time.time() - due_at
    assert red == N_DUE, f"only {red}/{N_DUE} due cases red after {flagged_s:.0f} s"
    print(
        f"  sla: sweep flagged {result.red} red, {result.yellow} yellow, supervised "
        f"{result.escalated} in {swept_s:.1f} s after due",
        flush=True,
    )

    _reset(rows)
    fixtures.vacuum_analyze()
    with psycopg.connect(_dsn(), autocommit=True) as conn, conn.cursor() as cur:
        t = time.perf_counter()
        flagged = _raw_flag(cur)
        raw_s = time.perf_counter() - t
    assert flagged >= N_DUE, f"the raw UPDATE flagged {flagged} rows"

    beat = float(settings.SLA_SWEEP_SECONDS)
    return [
        Entry(
            "sla.due_10k_of_100k.flagged_after",
            flagged_s,
            "s",
            raw_s,
            f"< {60 - beat:.0f} s (+{beat:.0f} s beat)",
            N_DUE,
        ),
        Entry(
            "sla.idle_sweep.median",
            median(idle) * 1000,
            "ms",
            median(idle_raw) * 1000,
            "",
            IDLE_ROUNDS,
        ),
        Entry(
            "sla.idle_sweep.p99",
            percentile(idle, 99) * 1000,
            "ms",
            percentile(idle_raw, 99) * 1000,
            "",
            IDLE_ROUNDS,
        ),
    ]
