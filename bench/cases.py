"""The case list and the open-case map layer with 50,000 open cases.

List: GET /api/v1/cases/?open=true&page=N through Django's test Client (the whole stack
but the WSGI server), token-authenticated, as a district user and as a street user, with
pages drawn uniformly from all pages (deep ones included). Baseline: plain psycopg
running the page's two statements, the count and the page itself with the same columns.

Map: dispatch.case_tiles.case_tile_bytes (clusters below z14, points from z14) for the
district user's scope, every tile over the district at z11–z14. Baseline: raw ST_AsMVT of
every open case point in the same tile, unclustered, so below z14 the ratio also shows
what clustering costs or saves.
"""

import importlib
import json
import math
import random
import time
from collections.abc import Callable
from typing import Any

import psycopg
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from bench import fixtures
from bench.common import Entry, median, percentile, time_each
from bench.locate import _dsn
from bench.tiles import district_tiles
from cases.models import FINAL_STATUSES
from dispatch import selectors
from dispatch.actors import actor_for
from grids.models import Region

N_OPEN = 50_000
SAMPLES = 100  # pages per user
WARM = 10
USERS = (("district", "district_leader"), ("street", "jianwai_operator"))
ZOOMS = (11, 12, 13, 14)
TILE_ROUNDS = {11: 3, 12: 2, 13: 1, 14: 1}
PAGE_SIZE = int(str(settings.REST_FRAMEWORK.get("PAGE_SIZE", 50)))

_FINAL = [str(s) for s in FINAL_STATUSES]
_COUNT_SQL = "SELECT count(*) FROM cases_case c WHERE NOT (c.status = ANY(%(final)s)) {street}"
_PAGE_SQL = """
SELECT c.id, c.number, c.category_id, cat.name, c.urgency, c.status, c.light, c.supervised,
       c.handling_level, c.source, c.address, s.name, ST_X(c.location), ST_Y(c.location),
       c.deadline, c.created_at, c.updated_at, c.version
FROM cases_case c
JOIN cases_category cat ON cat.id = c.category_id
LEFT JOIN grids_region s ON s.id = c.street_id
WHERE NOT (c.status = ANY(%(final)s)) {street}
ORDER BY c.created_at DESC, c.id DESC LIMIT %(limit)s OFFSET %(offset)s
"""
_RAW_TILE_SQL = """
WITH b AS (
  SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS tile,
         ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), 4326) AS box
), f AS (
  SELECT c.id, c.light,
         ST_AsMVTGeom(ST_Transform(c.location, 3857), b.tile, 4096, 256, true) AS geom
  FROM cases_case c CROSS JOIN b
  WHERE NOT (c.status = ANY(%(final)s)) AND c.location && b.box
)
SELECT ST_AsMVT(f.*, 'cases', 4096, 'geom') FROM f WHERE geom IS NOT NULL
"""


def _list_bench(role: str, username: str) -> list[Entry]:
    user = User.objects.get(username=username)
    token = Token.objects.get_or_create(user=user)[0].key
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {token}")

    def get(page: int) -> dict[str, Any]:
        response = client.get(f"/api/v1/cases/?open=true&page={page}")
        assert response.status_code == 200, f"{username} page {page}: {response.status_code}"
        return dict(json.loads(response.content))

    first = get(1)
    pages = max(1, math.ceil(first["count"] / PAGE_SIZE))
    rng = random.Random(f"{role}-pages")
    sample = [1] + [rng.randint(1, pages) for _ in range(SAMPLES - 1)]
    for page in sample[:WARM]:
        get(page)
    queries: list[str] = []

    def count(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        queries.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(count):
        get(sample[-1])
    ours = time_each(get, sample)

    street_id = None
    if role == "street":
        street_id = Region.objects.get(memberships__user=user).pk
    where = "AND c.street_id = %(street)s" if street_id else ""
    count_sql, page_sql = _COUNT_SQL.format(street=where), _PAGE_SQL.format(street=where)
    with psycopg.connect(_dsn(), autocommit=True) as conn, conn.cursor() as cur:

        def raw(page: int) -> list[tuple[Any, ...]]:
            params = {
                "final": _FINAL,
                "street": street_id,
                "limit": PAGE_SIZE,
                "offset": (page - 1) * PAGE_SIZE,
            }
            cur.execute(count_sql, params)
            cur.fetchone()
            cur.execute(page_sql, params)
            return cur.fetchall()

        for page in sample[:WARM]:
            raw(page)
        base = time_each(raw, sample)
        same = [r[0] for r in raw(sample[-1])] == [c["id"] for c in get(sample[-1])["results"]]
    assert same, f"{username}: the API and the raw SQL disagree on page {sample[-1]}"
    print(
        f"  cases: {username} sees {first['count']} open cases in {pages} pages; "
        f"{len(queries)} queries per page",
        flush=True,
    )
    name = f"cases.list.{role}"
    n = len(sample)
    return [
        Entry(f"{name}.p50", median(ours) / 1000, "ms", median(base) / 1000, "", n),
        Entry(f"{name}.p99", percentile(ours, 99) / 1000, "ms", percentile(base, 99) / 1000, "", n),
    ]


def _case_tile_fn() -> Callable[..., bytes] | None:
    """The command centre's tile builder, when that module exists in this tree."""
    try:
        module = importlib.import_module("dispatch.case_tiles")
    except ImportError:
        return None
    fn = getattr(module, "case_tile_bytes", None)
    return fn if callable(fn) else None


Address = tuple[int, int, int]


def _timed(
    build: Callable[[Address], bytes], addresses: list[Address], rounds: int
) -> tuple[list[float], int]:
    """Build times (µs) over `rounds` passes, and the largest tile's size in bytes."""
    largest = 0

    def one(a: Address) -> None:
        nonlocal largest
        largest = max(largest, len(build(a)))

    return [t for _ in range(rounds) for t in time_each(one, addresses)], largest


def _tile_bench() -> list[Entry]:
    ours_fn = _case_tile_fn()
    leader = User.objects.get(username=USERS[0][1])
    scope = selectors.live(selectors.cases_visible(actor_for(leader)))
    entries = []
    with psycopg.connect(_dsn(), autocommit=True) as conn, conn.cursor() as cur:
        # case_tile_bytes turns JIT off for its statement (compiling costs more than the
        # query saves); the baseline does the same, so the ratio compares the SQL.
        cur.execute("SET jit = off")

        def raw(a: Address) -> bytes:
            z, x, y = a
            cur.execute(_RAW_TILE_SQL, {"z": z, "x": x, "y": y, "margin": 1 / 16, "final": _FINAL})
            row = cur.fetchone()
            return bytes(row[0]) if row and row[0] is not None else b""

        def ours(a: Address) -> bytes:
            assert ours_fn is not None
            return ours_fn(scope, *a)

        for z in ZOOMS:
            addresses = district_tiles(z)
            rounds = TILE_ROUNDS[z]
            n = len(addresses) * rounds
            base, base_max = _timed(raw, addresses, rounds)
            if ours_fn is None:
                entries += [
                    Entry(f"tiles.cases.z{z}.raw_points_median", median(base) / 1000, "ms",
                          None, "TODO: no dispatch.case_tiles", n),
                    Entry(f"tiles.cases.z{z}.raw_points_max_bytes", float(base_max), "B",
                          None, "", len(addresses)),
                ]  # fmt: skip
                continue
            times, largest = _timed(ours, addresses, rounds)
            entries += [
                Entry(f"tiles.cases.z{z}.median_build", median(times) / 1000, "ms",
                      median(base) / 1000, "", n),
                Entry(f"tiles.cases.z{z}.p99_build", percentile(times, 99) / 1000, "ms",
                      percentile(base, 99) / 1000, "", n),
                Entry(f"tiles.cases.z{z}.max_tile_bytes", float(largest), "B",
                      float(base_max), "≤ 500 kB", len(addresses)),
            ]  # fmt: skip
    return entries


def run() -> list[Entry]:
    t = time.perf_counter()
    added = fixtures.ensure_open_cases(N_OPEN)
    print(
        f"  cases: {N_OPEN} open cases ({added} generated in {time.perf_counter() - t:.0f} s)",
        flush=True,
    )
    entries = []
    for role, username in USERS:
        entries += _list_bench(role, username)
    return entries + _tile_bench()
