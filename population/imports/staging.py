"""The staging table: a session-local temporary table filled by binary COPY, batch by batch.

A temporary table writes no WAL and nobody else sees it; it lives as long as the database
session, across the transactions of the batches and the merge, and is dropped at the end.
Each batch is its own COPY, so progress can be written to the job row in between.
"""

import logging
from collections.abc import Sequence

import psycopg
from django.db import connection

STAGE = "population_import_stage"
log = logging.getLogger(__name__)


def raw_connection() -> psycopg.Connection:
    """Django's own psycopg connection: the staging table and the merge must share it."""
    connection.ensure_connection()
    conn = connection.connection
    assert isinstance(conn, psycopg.Connection)
    return conn


class Stage:
    def __init__(self, columns: Sequence[tuple[str, str]]) -> None:
        self.columns = [("row_no", "int4"), *columns]
        self.rows = 0
        self.conn = raw_connection()
        with self.conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {STAGE}")
            spec = ", ".join(f"{name} {sqltype}" for name, sqltype in self.columns)
            cur.execute(f"CREATE TEMPORARY TABLE {STAGE} ({spec})")

    def write(self, rows: Sequence[Sequence[object]]) -> None:
        if not rows:
            return
        names = ", ".join(name for name, _ in self.columns)
        with (
            self.conn.cursor() as cur,
            cur.copy(f"COPY {STAGE} ({names}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types([sqltype for _, sqltype in self.columns])
            for row in rows:
                copy.write_row(row)
        self.rows += len(rows)

    def analyze(self) -> None:
        """Temporary tables are never analysed by autovacuum; the merge plans need counts."""
        with self.conn.cursor() as cur:
            cur.execute(f"ANALYZE {STAGE}")

    def drop(self) -> None:
        """Best effort: runs in `finally`, so it must not hide the error being raised."""
        if self.conn.closed:
            return
        if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
            return  # the surrounding transaction's rollback takes the table with it
        try:
            with self.conn.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {STAGE}")
        except psycopg.Error as exc:  # the next import drops it before creating its own
            log.warning("import: could not drop the staging table: %s", exc)
