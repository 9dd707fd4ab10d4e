"""Shared fixtures: the demo territory, a real Celery worker, logged-in clients."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls
# there unless told the thread is safe. Tests run sequentially, so it is.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent


def pytest_sessionstart(session: pytest.Session) -> None:
    """Drop test databases left behind by pytest processes that no longer exist."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    prefix = f"test_{db['NAME']}_"
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    dsn = f"host={host} port={port} user={db['USER']} dbname=postgres"
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s", [prefix + "%"]
                )
            ]
            for name in names:
                pid = name.removeprefix(prefix)
                if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:
        pass  # the run itself will report an unreachable database clearly


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Each test starts with empty caches: throttle counters, cached tiles and the categories
    of a rolled-back test don't leak."""
    import redis
    from django.conf import settings

    from dispatch import calendar, reference

    cache = settings.CACHES["default"]
    client = redis.Redis.from_url(cache["LOCATION"])
    keys = list(client.scan_iter(match=f"{cache['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
    reference.reset_cache()
    calendar.reset_cache()


@pytest.fixture(scope="session")
def _territory_snapshot(django_db_setup: None, django_db_blocker: Any) -> None:
    """Build the demo territory once per run, committed, and keep a copy of its rows.

    The copy lives in a table Django doesn't know, so a transactional test's flush leaves it
    alone and the territory comes back with one INSERT instead of a rebuild.
    """
    from grids.territory import ensure_demo_territory
    from tests.factories import SNAPSHOT

    with django_db_blocker.unblock():
        ensure_demo_territory()
        with connection.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {SNAPSHOT}")
            cur.execute(f"CREATE TABLE {SNAPSHOT} AS SELECT * FROM grids_region")


@pytest.fixture
def territory(_territory_snapshot: None, django_db_blocker: Any) -> None:
    """The demo territory, restored from the snapshot when a flush has removed it."""
    from tests.factories import ensure_territory

    with django_db_blocker.unblock():
        ensure_territory()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup: None) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker in its own process, on the test broker and the test database."""
    from django.conf import settings
    from django.db import connection

    from chaoyang.celery import app

    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "chaoyang.settings.test"
    db = connection.settings_dict
    env["DATABASE_URL"] = (
        f"postgis://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    env["CHAOYANG_TEST_QUEUE"] = queue
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "chaoyang",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            f"--queues={queue}",
            f"--hostname=test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5, destination=[f"test-{os.getpid()}@{os.uname().nodename}"]):
            break
        if proc.poll() is not None:
            raise RuntimeError("the Celery worker exited during start-up")
    else:
        proc.terminate()
        raise RuntimeError("the Celery worker did not answer a ping within 60 s")
    assert settings.CELERY_BROKER_URL
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
