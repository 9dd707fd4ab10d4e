"""Intake through the real HTTP stack beside the raw-SQL floor, from concurrent clients.

Ours: gunicorn (2 sync workers, DEBUG off) in a subprocess; CLIENTS client processes POST
/api/v1/cases/ as a demo grid worker (token auth, JSON without photos, a random point in
the worker's street, a unique Idempotency-Key each). Floor: the same number of processes
doing the same database work in plain psycopg, one transaction per report: point → grid
(ST_Covers), the daily counter upsert, the case row with its columns, the event row.

Rate = requests done / wall time from the first client's start to the last one's end,
summed over ROUNDS rounds of ours then the floor (interleaved, so drift hits both).
Every case created here is removed afterwards (bench.fixtures.purge); the floor numbers
its cases from its own counter day (FLOOR_DAY), so it never consumes real case numbers.
"""

import hashlib
import http.client
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import psycopg

from bench.common import Entry, percentile

N_REQUESTS = 2_000  # per round
ROUNDS = 3
CLIENTS = 8
WORKERS = 2
WARMUP = 5  # requests per client before the clock starts: imports, caches, connections
TIME_LIMIT_S = 180.0  # a client stops early rather than run past this
USERNAME = "jianwai_grid1"
STREET = "110105001"
FLOOR_DAY = date(2000, 1, 1)
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ClientResult:
    start: float
    end: float
    latencies: list[float] = field(default_factory=list)  # seconds
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    """One intake request: what the client sends, and what the floor needs to insert it."""

    key: str
    lng: float
    lat: float
    category_code: str
    category_id: int


DESCRIPTION = "路边垃圾堆放,影响通行,请尽快清理。(基准测试)"

# --- ours: the HTTP client ---------------------------------------------------------------


def _post(conn: http.client.HTTPConnection, token: str, report: Report) -> tuple[int, bytes]:
    body = json.dumps(
        {
            "category": report.category_code,
            "description": DESCRIPTION,
            "source": "grid_worker",
            "lng": report.lng,
            "lat": report.lat,
        }
    ).encode()
    headers = {
        "Authorization": f"Token {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": report.key,
    }
    conn.request("POST", "/api/v1/cases/", body, headers)
    response = conn.getresponse()
    return response.status, response.read()


def _http_client(
    port: int,
    token: str,
    warm: list[Report],
    jobs: list[Report],
    barrier: Barrier,
    out: Any,
) -> None:
    # http.client asks for keep-alive; gunicorn's sync workers answer "Connection: close",
    # and the connection reopens itself for the next request.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    errors = []
    for report in warm:
        status, data = _post(conn, token, report)
        if status != 201:
            errors.append(f"warm-up {status}: {data[:300]!r}")
    barrier.wait(timeout=120)
    result = ClientResult(time.monotonic(), 0.0, errors=errors)
    stop = result.start + TIME_LIMIT_S
    for report in jobs:
        if time.monotonic() > stop:
            break
        t = time.perf_counter()
        status, data = _post(conn, token, report)
        result.latencies.append(time.perf_counter() - t)
        if status != 201:
            result.errors.append(f"{status}: {data[:300]!r}")
    result.end = time.monotonic()
    conn.close()
    out.put(result)


# --- the floor: the same database work in plain psycopg ----------------------------------

_LOCATE = """
SELECT g.id, c.id, c.parent_id FROM grids_region g JOIN grids_region c ON c.id = g.parent_id
WHERE g.level = 4 AND ST_Covers(g.boundary, ST_SetSRID(ST_MakePoint(%s, %s), 4326))
ORDER BY g.code LIMIT 1
"""
_COUNTER = """
INSERT INTO cases_casenumbercounter (day, last) VALUES (%s, 1)
ON CONFLICT (day) DO UPDATE SET last = cases_casenumbercounter.last + 1 RETURNING last
"""
_INSERT_CASE = """
INSERT INTO cases_case (
  number, category_id, urgency, description, location, address, grid_id, community_id,
  street_id, outside_jurisdiction, source, reporter_id, citizen_name, citizen_phone_index,
  citizen_phone_masked, status, handling_level, stage_started_at, deadline, warning_at,
  light, supervised, sla_policy, verification_required, rework_count, return_count,
  extension_count, satisfaction, idempotency_key, idempotency_fingerprint, version,
  created_at, updated_at
) VALUES (
  %(number)s, %(category)s, 'normal', %(description)s,
  ST_SetSRID(ST_MakePoint(%(lng)s, %(lat)s), 4326), '', %(grid)s, %(community)s, %(street)s,
  false, 'grid_worker', %(user)s, '', '', '', 'reported', 'street', now(),
  now() + interval '1 hour', now() + interval '48 minutes', 'green', false, %(policy)s,
  false, 0, 0, 0, '', %(key)s, %(fingerprint)s, 1, now(), now()
) RETURNING id
"""
_INSERT_EVENT = """
INSERT INTO cases_caseevent (case_id, action, from_status, to_status, actor_id, actor_role,
  unit, at, note, data)
VALUES (%s, 'report', '', 'reported', %s, 'grid_worker', '', now(), '', '{"source": "grid_worker"}')
"""


def _sql_intake(conn: psycopg.Connection[Any], report: Report, user_id: int, policy: str) -> None:
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(_LOCATE, (report.lng, report.lat))
        grid, community, street = cur.fetchone() or (None, None, None)
        cur.execute(_COUNTER, (FLOOR_DAY,))
        (seq,) = cur.fetchone() or (0,)
        cur.execute(
            _INSERT_CASE,
            {
                "number": f"BENCHSQL-{FLOOR_DAY:%Y%m%d}-{seq:06d}",
                "category": report.category_id,
                "description": DESCRIPTION,
                "lng": report.lng,
                "lat": report.lat,
                "grid": grid,
                "community": community,
                "street": street,
                "user": user_id,
                "policy": policy,
                "key": report.key,
                # Ours keeps a digest of the request beside the key (a reused key with
                # another body is refused): the floor stores one too.
                "fingerprint": hashlib.sha256(report.key.encode()).hexdigest(),
            },
        )
        (case_id,) = cur.fetchone() or (0,)
        cur.execute(_INSERT_EVENT, (case_id, user_id))


def _sql_client(
    dsn: str,
    user_id: int,
    policies: dict[int, str],
    warm: list[Report],
    jobs: list[Report],
    barrier: Barrier,
    out: Any,
) -> None:
    with psycopg.connect(dsn) as conn:
        for report in warm:
            _sql_intake(conn, report, user_id, policies[report.category_id])
        barrier.wait(timeout=120)
        result = ClientResult(time.monotonic(), 0.0)
        stop = result.start + TIME_LIMIT_S
        for report in jobs:
            if time.monotonic() > stop:
                break
            t = time.perf_counter()
            _sql_intake(conn, report, user_id, policies[report.category_id])
            result.latencies.append(time.perf_counter() - t)
        result.end = time.monotonic()
    out.put(result)


# --- running both ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn_server(workers: int = WORKERS) -> Iterator[tuple[int, int]]:
    """gunicorn serving the project on a free local port, DEBUG off; yields (port, pid)."""
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "chaoyang.settings.local", "DEBUG": "false"}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [str(gunicorn), "chaoyang.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(port, proc)
            yield port, proc.pid
        except BaseException:
            log.seek(0)
            print(log.read().decode(errors="replace")[-4000:], file=sys.stderr)
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    stop = time.monotonic() + timeout
    while time.monotonic() < stop:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within a minute")


def _cpu_seconds_of_children(parent: int) -> float:
    """User + system CPU time of a process's children (the gunicorn workers), from /proc.

    Unlike wall time this does not depend on what else the machine is running, so it shows
    what one request costs in Python even when the benchmark shares its cores.
    """
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        if int(fields[1]) == parent:  # fields[1] is the parent pid
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _token(port: int, username: str, password: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"username": username, "password": password})
    conn.request("POST", "/api/v1/auth/token/", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    assert response.status == 200, f"token: {response.status} {data[:300]!r}"
    return str(json.loads(data)["token"])


def _reports(n: int, prefix: str, seed: int) -> list[Report]:
    """Random points inside the worker's street, categories in turn, unique keys."""
    from django.db import connection

    from cases.models import Category

    leaves = list(
        Category.objects.filter(parent__isnull=False, active=True)
        .order_by("code")
        .values_list("code", "id")
    )
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM ST_Dump(ST_GeneratePoints("
            "(SELECT boundary FROM grids_region WHERE code = %s), %s, %s))",
            [STREET, n, seed],
        )
        points = cur.fetchall()
    return [
        Report(f"{prefix}-{i}", lng, lat, *leaves[(i * 7) % len(leaves)])
        for i, (lng, lat) in enumerate(points)
    ]


def _run_clients(target: Any, args: tuple[Any, ...], reports: list[Report]) -> list[ClientResult]:
    """CLIENTS processes, each with its slice; they start the clock together."""
    from django.db import connections

    connections.close_all()  # the forked children must not share the parent's socket
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(CLIENTS)
    out = ctx.Queue()
    warm, jobs = reports[: WARMUP * CLIENTS], reports[WARMUP * CLIENTS :]
    procs = [
        ctx.Process(
            target=target,
            args=(*args, warm[i::CLIENTS], jobs[i::CLIENTS], barrier, out),
            daemon=True,
        )
        for i in range(CLIENTS)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=TIME_LIMIT_S + 300) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return results


def _summary(rounds: list[list[ClientResult]]) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, n) over all rounds: requests over summed wall times."""
    latencies = [t for results in rounds for r in results for t in r.latencies]
    wall = sum(max(r.end for r in rs) - min(r.start for r in rs) for rs in rounds)
    return (
        len(latencies) / wall,
        percentile(latencies, 50) * 1000,
        percentile(latencies, 99) * 1000,
        len(latencies),
    )


def purge(user_id: int) -> int:
    from django.db import connection

    from bench import fixtures

    removed = fixtures.purge(
        "idempotency_key LIKE %s OR idempotency_key LIKE %s",
        [f"u{user_id}:bench-intake-%", "bench-sql:%"],
    )
    with connection.cursor() as cur:
        cur.execute("DELETE FROM cases_casenumbercounter WHERE day = %s", [FLOOR_DAY])
    return removed


def run() -> list[Entry]:
    from django.contrib.auth.models import User

    from bench import fixtures
    from bench.locate import _dsn
    from chaoyang.demo import demo_password
    from dispatch.services.sla import policy_snapshot

    user = User.objects.get(username=USERNAME)
    purge(user.id)  # whatever a crashed run left
    run_id = uuid.uuid4().hex[:8]
    total = N_REQUESTS + WARMUP * CLIENTS
    dsn = _dsn()
    ours: list[list[ClientResult]] = []
    floor: list[list[ClientResult]] = []
    cpu = 0.0
    try:
        with gunicorn_server() as (port, pid):
            token = _token(port, USERNAME, demo_password())
            # Rounds of ours then the floor, so a slow spell of this shared machine falls on
            # both sides rather than on one of them.
            for i in range(ROUNDS):
                ours_reports = _reports(total, f"bench-intake-{run_id}-{i}", seed=11 + i)
                floor_reports = _reports(total, f"bench-sql:{run_id}-{i}", seed=11 + i)
                policies = {
                    r.category_id: json.dumps(
                        policy_snapshot(category_id=r.category_id, urgency="normal")
                    )
                    for r in floor_reports
                }
                before = _cpu_seconds_of_children(pid)
                ours.append(_run_clients(_http_client, (port, token), ours_reports))
                cpu += _cpu_seconds_of_children(pid) - before
                floor.append(_run_clients(_sql_client, (dsn, user.id, policies), floor_reports))
                # What autovacuum would do between the rounds (this machine runs without):
                # both sides' counter rows collect thousands of dead versions a round.
                fixtures.vacuum_cases()
    finally:
        removed = purge(user.id)
    errors = [e for results in ours for r in results for e in r.errors]
    if errors:
        raise AssertionError(f"{len(errors)} intake requests failed, first: {errors[0]}")
    rate, p50, p99, n = _summary(ours)
    cpu_ms = cpu * 1000 / (n + ROUNDS * CLIENTS * WARMUP)
    f_rate, f_p50, f_p99, f_n = _summary(floor)
    per_round = ", ".join(
        f"{_summary([a])[0]:.0f}/{_summary([b])[0]:.0f}" for a, b in zip(ours, floor, strict=True)
    )
    print(
        f"  intake: {n} requests in {ROUNDS} rounds at {rate:.0f}/s (floor {f_n} at "
        f"{f_rate:.0f}/s); "
        f"gunicorn workers used {cpu_ms:.1f} ms CPU per request; removed {removed} cases; "
        f"per round ours/floor {per_round}",
        flush=True,
    )
    return [
        Entry("intake.http.requests_per_s", rate, "/s", f_rate, "ratio ≥ 0.20", n),
        Entry("intake.http.p50", p50, "ms", f_p50, "", n),
        Entry("intake.http.p99", p99, "ms", f_p99, "< 100 ms", n),
        Entry("intake.http.worker_cpu_per_request", cpu_ms, "ms", None, "", n),
    ]
