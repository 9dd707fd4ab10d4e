"""Shared fixtures: the demo territory, a real Celery worker, logged-in clients."""

import contextlib
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


# --- the test database: one per run, named through pytest-django ----------------------

RUN_SUFFIX_PREFIX = "run"


@pytest.fixture(scope="session")
def django_db_modify_db_settings_parallel_suffix(
    django_db_modify_db_settings_tox_suffix: None,
    django_db_modify_db_settings_xdist_suffix: None,
    django_db_keepdb: bool,
) -> None:
    """pytest-django's hook for naming test databases in parallel runs (it adds _gw0... under
    xdist and the tox env under tox), extended with the pid of this run.

    Two `make test` on one PostgreSQL (two checkouts, a developer and CI) would otherwise
    both use test_chaoyang and drop it under each other. pytest-django drops this run's
    database at the end. With --reuse-db the name stays test_chaoyang (plus any xdist/tox
    suffix): a database named after a pid could never be found again by the next run.
    """
    if django_db_keepdb:
        return
    from django.conf import settings

    _drop_abandoned_test_databases()
    for db in settings.DATABASES.values():
        test = db.setdefault("TEST", {})
        name = test.get("NAME") or f"test_{db['NAME']}"
        test["NAME"] = f"{name}_{RUN_SUFFIX_PREFIX}{os.getpid()}"


def _drop_abandoned_test_databases() -> None:
    """Drop run databases whose pytest process is gone without tearing down (killed, or
    the machine restarted); pytest-django drops them itself at the end of every other run.

    Without FORCE: a database someone is still connected to (a run on another host that
    happens to share the pid) stays, and the error is ignored.
    """
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
                # test_chaoyang_run123 or, under xdist/tox, test_chaoyang_gw0_run123
                # (test_chaoyang_123: the per-process name of checkouts from before.)
                pid = name.rpartition("_")[2].removeprefix(RUN_SUFFIX_PREFIX)
                if not pid.isdigit() or Path(f"/proc/{pid}").exists():
                    continue
                with contextlib.suppress(psycopg.Error):
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    except psycopg.Error:
        pass  # the run itself will report an unreachable database clearly


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a browser or the worker carries its marker even if its author forgot,
    so `make test-fast` (-m "not browser and not celery and not slow") never starts one."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & {"page", "context", "new_context", "browser"}:
            item.add_marker(pytest.mark.browser)
        if "celery_worker_process" in names:
            item.add_marker(pytest.mark.celery)


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


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language: a request with `Accept-Language: en` leaves
    English active in the thread (LocaleMiddleware activates it and nothing deactivates it
    outside a server), and a service called directly afterwards would answer in English."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


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
    # Starting a worker imports Django and connects to Redis and PostgreSQL: seconds
    # usually, far more on a loaded machine.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5, destination=[f"test-{os.getpid()}@{os.uname().nodename}"]):
            break
        if proc.poll() is not None:
            raise RuntimeError("the Celery worker exited during start-up")
    else:
        proc.terminate()
        raise RuntimeError("the Celery worker did not answer a ping within 180 s")
    assert settings.CELERY_BROKER_URL
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
