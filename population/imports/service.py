"""population_import: a spreadsheet into the base databases, merged, never duplicated.

The file is read row by row and prepared in Python (validation, coordinates, encryption),
batch by batch, into a temporary staging table by COPY; the merge then runs in SQL in one
transaction (merge.py). Memory stays flat: a batch at a time in Python, set-based work in
the database. A header that doesn't fit the template is refused before anything is written.
"""

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.db import transaction

from population.models import ImportJob

from . import rows as rowprep
from .columns import (
    ConcurrentChange,
    Mapping,
    auto_mapping,
    check_mapping,
    clean_mapping,
    fields_of,
)
from .formats import open_table
from .merge import Merge, MergeCounts
from .merge_kinds import MERGES
from .staging import Stage, raw_connection
from .values import CRS_NAMES

log = logging.getLogger(__name__)

BATCH_ROWS = 10_000
REJECTED_LIMIT = 5_000  # rejections listed in a report; all are counted
PARALLEL_FROM_ROWS = 50_000  # smaller files are prepared in-process: no pool to start

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Rejection:
    row: int
    reason: str


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase and statement

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "merged": self.merged,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            **self.extra,
        }


def resolve_mapping(kind: str, header: list[str], mapping: dict[str, Any] | None) -> Mapping:
    """The given mapping made safe, or one found from the header; refused when a required
    field has no column (HeaderMismatch lists them)."""
    found = (
        clean_mapping(kind, mapping, len(header))
        if mapping is not None
        else auto_mapping(kind, header)
    )
    check_mapping(kind, found)
    return found


def _workers(estimated: int, requested: int | None) -> int:
    if requested is not None:
        return max(1, requested)
    if estimated < PARALLEL_FROM_ROWS:
        return 1
    configured = settings.POPULATION_IMPORT_WORKERS
    return max(1, configured if configured else min(4, os.cpu_count() or 1))


Prepared = tuple[list[rowprep.Staged], list[tuple[int, str]], int]


def _batches(rows: Iterator[tuple[int, list[str]]]) -> Iterator[list[tuple[int, list[str]]]]:
    while batch := list(islice(rows, BATCH_ROWS)):
        yield batch


def _prepare_serial(
    kind: str, mapping: Mapping, crs: str, rows: Iterator[tuple[int, list[str]]]
) -> Iterator[Prepared]:
    for batch in _batches(rows):
        yield (*rowprep.prepare(kind, mapping, crs, batch), len(batch))


def _prepare_parallel(
    pool: ProcessPoolExecutor,
    kind: str,
    mapping: Mapping,
    crs: str,
    rows: Iterator[tuple[int, list[str]]],
    workers: int,
) -> Iterator[Prepared]:
    """Encryption and check digits dominate the Python side: spread batches over forked
    workers, keep at most two per worker in flight (flat memory), and yield them in file
    order. Forked children never touch the parent's database connection."""
    with pool:
        pending: list[tuple[Future[Any], int]] = []
        for batch in _batches(rows):
            pending.append((pool.submit(rowprep.prepare, kind, mapping, crs, batch), len(batch)))
            if len(pending) >= 2 * workers:
                future, n = pending.pop(0)
                yield (*future.result(), n)
        for future, n in pending:
            yield (*future.result(), n)


def _prepared(
    kind: str, mapping: Mapping, crs: str, rows: Iterator[tuple[int, list[str]]], workers: int
) -> Iterable[Prepared]:
    if workers > 1:
        try:
            pool = ProcessPoolExecutor(workers, mp_context=get_context("fork"))
            pool.submit(int).result()  # a pool that cannot start fails here, not mid-file
        except (OSError, AssertionError, BrokenProcessPool) as exc:
            log.warning("import: preparing in-process, no worker pool: %s", exc)
        else:
            return _prepare_parallel(pool, kind, mapping, crs, rows, workers)
    return _prepare_serial(kind, mapping, crs, rows)


def _job_progress(job: ImportJob | None, progress: Progress | None) -> Progress:
    def report(done: int, total: int) -> None:
        if job is not None:
            # A plain UPDATE in autocommit: the status page sees it at once.
            ImportJob.objects.filter(pk=job.pk).update(processed_rows=done, total_rows=total)
        if progress is not None:
            progress(done, total)

    return report


def population_import(
    *,
    path: str | Path,
    kind: str,
    mapping: dict[str, Any] | None = None,
    user: Any = None,
    job: ImportJob | None = None,
    progress: Progress | None = None,
    dry_run: bool = False,
    crs: str = "wgs84",
    name: str | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import one file of `kind` (persons, housing, organisations, residences).

    `mapping` is {field: column index}; without it columns are matched by header name.
    `name` is the original file name when `path` has no telling extension. A dry run does
    all the work, then rolls the merge back: its report says what a real run would do.
    Raises ImportRefused (UnknownKind, HeaderMismatch, FileFormatError) before writing.
    """
    fields_of(kind)
    crs = CRS_NAMES[crs.lower()]  # an unknown default frame is a programming error
    started = time.perf_counter()
    report = ImportReport(kind=kind, dry_run=dry_run)
    tick = _job_progress(job, progress)
    with open_table(path, name=name) as table:
        found = resolve_mapping(kind, table.header, mapping)
        total = table.estimated_rows
        tick(0, total)
        python_rejections: list[tuple[int, str]] = []
        stage = Stage(rowprep.KINDS[kind].columns)
        try:
            workers_n = _workers(total, workers)
            for staged, rejected, n in _prepared(kind, found, crs, table.rows, workers_n):
                stage.write(staged)
                report.rows += n
                report.rejected += len(rejected)
                room = REJECTED_LIMIT - len(python_rejections)
                python_rejections.extend(rejected[: max(0, room)])
                tick(report.rows, max(total, report.rows))
            tick(report.rows, report.rows)
            stage.analyze()
            report.timings["read, prepare and stage"] = time.perf_counter() - started
            _merge(kind, report, python_rejections, dry_run)
        finally:
            stage.drop()
    report.seconds = time.perf_counter() - started
    log.info(
        "import %s by %s: %s in %.1f s%s",
        kind,
        getattr(user, "username", "-"),
        report.counts(),
        report.seconds,
        " (dry run)" if dry_run else "",
    )
    return report


def _merge(
    kind: str, report: ImportReport, python_rejections: list[tuple[int, str]], dry_run: bool
) -> None:
    started = time.perf_counter()
    try:
        counts, sql_rejections = _merge_in_transaction(kind, report, dry_run)
    except psycopg.errors.UniqueViolation as exc:  # see merge_kinds.persons
        raise ConcurrentChange() from exc
    report.timings["merge in all"] = time.perf_counter() - started
    report.created, report.updated = counts.created, counts.updated
    report.merged, report.unchanged = counts.merged, counts.unchanged
    report.rejected += counts.rejected
    report.extra = counts.extra
    listed = sorted(python_rejections + sql_rejections)[:REJECTED_LIMIT]
    report.rejections = [Rejection(row, reason) for row, reason in listed]


def _merge_in_transaction(
    kind: str, report: ImportReport, dry_run: bool
) -> tuple[MergeCounts, list[tuple[int, str]]]:
    with transaction.atomic():
        conn = raw_connection()
        with conn.cursor() as cur:
            # One import at a time: residences read what a persons import writes, and two
            # imports inserting the same new key must not both count it as created.
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('population_import'))")
            # Sorts and hashes over a whole file's keys stay in memory instead of spilling.
            cur.execute("SET LOCAL work_mem = '128MB'")
            merge = Merge(cur)
            counts = MERGES[kind](merge)
            sql_rejections = merge.rejections(REJECTED_LIMIT)
            report.timings.update(merge.timings)
            if dry_run:
                # Deferred foreign keys are checked now, so a dry run fails where a real one would.
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            merge.close()
        if dry_run:
            transaction.set_rollback(True)
        before_commit = time.perf_counter()
    # Deferred constraints (the new rows' grid and street) are checked at the commit.
    report.timings["commit"] = time.perf_counter() - before_commit
    return counts, sql_rejections
