"""The merge, in SQL, from the staging table into the base databases.

Every kind goes through the same steps, each one set-based:

1. locate: the distinct points of the file are matched to unit grids by grids.covering,
   the one point → grid definition (grids.selectors.locate answers the same). The join is
   driven from the grids over a GiST index on the points, so each grid polygon is
   prepared once; residents of one building share a point, so there are far fewer points
   than rows.
2. reject what the database must answer: points outside every grid, unknown buildings,
   persons or housing units. Rejected rows leave the staging table with their reason.
3. collapse rows of the file that share a key (identity number, credit code, normalised
   address, person+house+relation) into one: per field the last non-empty value in file
   order wins. Those extra rows are counted as "merged".
4. one statement per kind updates the existing records that differ in a field the file
   gives (blank cells never erase), inserts the new ones, and counts both.

Row accounting: rows read = rejected + merged + created + updated + unchanged.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.utils.translation import gettext, gettext_noop

from grids.covering import covering_grids_sql

from .staging import STAGE

REJECTS = "population_import_rejects"
WHERE = "population_import_where"  # distinct point → grid, community, street
DUP = "population_import_dup"  # keys that occur more than once in the file

OUTSIDE = gettext_noop("地址不在本区")  # a message id, see reject()


@dataclass
class MergeCounts:
    created: int = 0
    updated: int = 0
    merged: int = 0
    unchanged: int = 0
    rejected: int = 0  # rows rejected by the database steps
    extra: dict[str, int] = field(default_factory=dict)


def last(col: str, by: str | None = None) -> str:
    """The last non-empty value of `col` among a key's rows, in file order."""
    return f"(array_agg({col} ORDER BY row_no DESC) FILTER (WHERE {by or col} IS NOT NULL))[1]"


class Merge:
    def __init__(self, cur: psycopg.Cursor) -> None:
        self.cur = cur
        cur.execute(f"DROP TABLE IF EXISTS {REJECTS}, {WHERE}, {DUP}")
        cur.execute(f"CREATE TEMPORARY TABLE {REJECTS} (row_no int4, reason text)")
        self.rejected = 0
        self.timings: dict[str, float] = {}

    def run(self, sql: str, params: Sequence[Any] | None = None) -> int:
        self._execute(sql, params)
        return self.cur.rowcount

    def one(self, sql: str) -> tuple[int, ...]:
        self._execute(sql)
        row = self.cur.fetchone()
        assert row is not None
        return tuple(int(v or 0) for v in row)

    def _execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Execute, keeping each statement's time under its first words (for profiling)."""
        started = time.perf_counter()
        self.cur.execute(sql, params)
        label = " ".join(sql.split()[:4])[:48]
        self.timings[label] = self.timings.get(label, 0.0) + time.perf_counter() - started

    def reject(self, condition: str, reason: str, using: str = "") -> int:
        """Move the staging rows matching `condition` to the rejects, with `reason` (a
        message id, translated here)."""
        n = self.run(
            f"WITH bad AS (DELETE FROM {STAGE} s {using} WHERE {condition} RETURNING s.row_no) "
            f"INSERT INTO {REJECTS} (row_no, reason) SELECT row_no, %s FROM bad",
            [gettext(reason)],
        )
        self.rejected += n
        return n

    def locate(self) -> None:
        """Fill WHERE with the grid of every distinct point; reject rows outside them all."""
        pts = "population_import_points"
        self.run(f"DROP TABLE IF EXISTS {pts}")
        self.run(
            f"CREATE TEMPORARY TABLE {pts} AS SELECT lng, lat, "
            f"ST_SetSRID(ST_MakePoint(lng, lat), 4326) AS geom FROM "
            f"(SELECT DISTINCT lng, lat FROM {STAGE} WHERE lng IS NOT NULL) d"
        )
        self.run(f"CREATE INDEX ON {pts} USING gist (geom)")
        self.run(f"ANALYZE {pts}")
        self.run(
            f"""
            CREATE TEMPORARY TABLE {WHERE} AS
            {covering_grids_sql(f"SELECT lng, lat, geom FROM {pts}", keys=("lng", "lat"))}
            """
        )
        self.run(f"CREATE UNIQUE INDEX ON {WHERE} (lng, lat)")
        self.run(f"ANALYZE {WHERE}")
        self.run(f"DROP TABLE {pts}")
        self.reject(
            f"s.lng IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {WHERE} w WHERE w.lng = s.lng AND w.lat = s.lat)",
            OUTSIDE,
        )

    def dedup(self, key: str) -> None:
        """DUP: the keys (an expression over staging columns) that occur more than once."""
        self.run(
            f"CREATE TEMPORARY TABLE {DUP} AS SELECT k AS key FROM "
            f"(SELECT {key} AS k FROM {STAGE} s) keys GROUP BY k HAVING count(*) > 1"
        )
        self.run(f"ANALYZE {DUP}")

    def source(self, ok: str, plain: list[str], grouped: list[str]) -> str:
        """The merge source: rows whose key is unique as they are, plus one aggregated row
        per repeated key. `ok` is a query with a `key` column and the staging `row_no`."""
        return f"""
            WITH ok AS ({ok})
            SELECT {", ".join(plain)} FROM ok
            WHERE NOT EXISTS (SELECT 1 FROM {DUP} d WHERE d.key = ok.key)
            UNION ALL
            SELECT {", ".join(grouped)} FROM ok JOIN {DUP} d ON d.key = ok.key GROUP BY ok.key
        """

    def staged(self) -> int:
        return self.one(f"SELECT count(*) FROM {STAGE}")[0]

    def rejections(self, limit: int) -> list[tuple[int, str]]:
        self.cur.execute(f"SELECT row_no, reason FROM {REJECTS} ORDER BY row_no LIMIT %s", [limit])
        return [(int(n), str(r)) for n, r in self.cur.fetchall()]

    def close(self) -> None:
        self.run(f"DROP TABLE IF EXISTS {REJECTS}, {WHERE}, {DUP}")
