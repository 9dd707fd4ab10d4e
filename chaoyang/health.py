"""Health checks for /healthz: the database, Redis and a live Celery worker."""

from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT PostGIS_Version()")


def check_redis() -> None:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
    client.ping()


def check_celery() -> None:
    from chaoyang.celery import app

    # A fresh connection to the configured broker, so the answer reflects settings now.
    with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
        # Fail fast on a dead broker instead of kombu's default reconnect loop.
        conn.ensure_connection(max_retries=1, timeout=2)
        replies = app.control.ping(timeout=2.0, connection=conn)
    if not replies:
        raise RuntimeError("no worker answered a ping within 2 s")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "redis": check_redis,
    "celery": check_celery,
}


def run_checks() -> dict[str, str]:
    """Each check's result: "ok", or the error that made it fail."""
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"error: {exc.__class__.__name__}: {exc}"[:300]
    return results
