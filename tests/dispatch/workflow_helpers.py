"""Helpers for the workflow tests: attempts that leave no trace, and data committed for a
whole module. The demo and the driven cases come from tests.factories.cases."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from cases.models import Case
from dispatch.errors import ActionError
from dispatch.services.transitions import ActionInput, case_act
from tests.factories.cases import Demo


def ensure_territory() -> None:
    """As the `territory` fixture, for module-scoped fixtures: restore after a flush."""
    from tests.conftest import SNAPSHOT

    with connection.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM grids_region WHERE level = 4)")
        if not cur.fetchone()[0]:
            cur.execute(f"INSERT INTO grids_region SELECT * FROM {SNAPSHOT}")


# --- data for a whole module ------------------------------------------------------------


def _row_counts() -> dict[str, int]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename NOT IN ('spatial_ref_sys', 'test_territory_snapshot')"
        )
        tables = [r[0] for r in cur.fetchall()]
        cur.execute(" UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables))
        return {t: int(n) for t, n in cur.fetchall()}


@contextmanager
def committed_for_module() -> Iterator[None]:
    """Rows created in the block are committed, for the tests of one module to share, and
    removed afterwards: every table that was empty before is truncated again.

    Why not one transaction around the module, rolled back at the end: thousands of
    rolled-back savepoints in one transaction leave garbage no one may prune until it
    ends, and the tests slowed down threefold as it piled up. Committed rows keep each
    test's transaction short. Only for the non-transactional phase of a run, when nothing
    else is committed except the territory (which is never empty, so never truncated).
    """
    before = _row_counts()
    try:
        yield
    finally:
        empty = sorted(t for t, n in before.items() if n == 0)
        with connection.cursor() as cur:
            cur.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in empty))
        changed = {t: (before[t], n) for t, n in _row_counts().items() if n != before.get(t)}
        assert not changed, f"rows left behind in tables that had rows before: {changed}"


# --- attempts that leave no trace -------------------------------------------------------


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run the block in a savepoint and undo it, so one driven case serves many attempts."""
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


@dataclass(frozen=True)
class Outcome:
    error: ActionError | None
    case: Case | None = None


def fingerprint(case_id: int) -> tuple[Any, ...]:
    """What a refused action must leave as it was, in one query."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT status, version, deadline, supervised, handling_level, light,"
            " (SELECT count(*) FROM cases_caseevent e WHERE e.case_id = c.id),"
            " (SELECT count(*) FROM dispatch_assignment a WHERE a.case_id = c.id)"
            " FROM cases_case c WHERE id = %s",
            [case_id],
        )
        row = cur.fetchone()
    assert row is not None
    return tuple(row)


def attempt(
    demo: Demo,
    case: Case,
    action: str,
    username: str,
    data: ActionInput,
    on_success: Callable[[Case], None] | None = None,
    check_unchanged: bool = True,
) -> Outcome:
    """case_act in a savepoint that is rolled back afterwards; `on_success` runs inside it,
    while the changes are still visible. A refusal must change nothing."""
    before = fingerprint(case.id) if check_unchanged else None
    with rolled_back():
        try:
            done = case_act(case_id=case.id, user=demo.user(username), action=action, data=data)
        except ActionError as exc:
            if before is not None:
                assert fingerprint(case.id) == before, f"refused {action} changed the case"
            return Outcome(exc)
        if on_success is not None:
            on_success(done)
        return Outcome(None, done)
    raise AssertionError("unreachable")
