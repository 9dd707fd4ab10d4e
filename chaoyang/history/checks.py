"""Foreign keys of a bulk write, checked once per column instead of once per row.

Django declares its foreign keys DEFERRABLE INITIALLY DEFERRED, so each of the million
rows of a generated history queues one check per reference, all run at commit (about half
a minute for 100,000 cases). Where the database role may (a superuser, as pg_restore
--disable-triggers needs), the per-row triggers are skipped for the transaction and every
reference of the rows written is checked afterwards with one anti-join per column;
elsewhere the triggers run as usual and there is nothing to verify. The switch is
population.demo's, which seeds the base databases the same way.
"""

from django.db import connection, models

from cases.models import Case, CaseEvent
from dispatch.models import Assignment

CHECKED: tuple[type[models.Model], ...] = (Case, CaseEvent, Assignment)


def verify(first_case_id: int) -> None:
    """No dangling reference among the rows of cases from `first_case_id` on."""
    with connection.cursor() as cur:
        for model in CHECKED:
            table = model._meta.db_table
            key = "id" if model is Case else "case_id"
            for f in model._meta.concrete_fields:
                if not isinstance(f, models.ForeignKey):
                    continue
                target = f.related_model._meta.db_table
                cur.execute(
                    f"SELECT count(*) FROM {table} t WHERE t.{key} >= %s "
                    f"AND t.{f.column} IS NOT NULL "
                    f"AND NOT EXISTS (SELECT 1 FROM {target} x WHERE x.id = t.{f.column})",
                    [first_case_id],
                )
                row = cur.fetchone()
                if row and row[0]:
                    raise RuntimeError(f"seed_history: {row[0]} dangling {table}.{f.column}")
