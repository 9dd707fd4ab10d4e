"""Project-level tasks."""

from celery import shared_task
from django.db import connection


@shared_task
def database_report() -> dict[str, int]:
    """Row counts per territory level, read by the worker: proves it reaches the database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT level, count(*) FROM grids_region GROUP BY level ORDER BY level")
        return {str(level): count for level, count in cursor.fetchall()}
