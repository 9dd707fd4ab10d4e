"""Keeping the rollups current: the sweep over new events, and the rebuild from scratch.

Both rebuild whole cases with evaluation.summary.summarize from the case's events up to a
"high-water" event id, so a summary never reflects an event past the watermark, and the sweep
and the rebuild give the same rows. The watermark row (SweepMark) is locked by each batch and
advanced in the batch's own transaction: of two sweeps running at once one works and the
other finds the row taken and returns, a sweep that dies rolls back and leaves its events
for the next, and running one twice changes nothing.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import OperationalError, connection, transaction
from django.utils import timezone

from cases.models import Case, CaseEvent
from evaluation.models import CaseStage, CaseSummary, SweepMark
from evaluation.summary import summarize

SUMMARY_FIELDS = [
    f.attname for f in CaseSummary._meta.concrete_fields if f.attname != "case_id"
]  # every column but the key: what an upsert rewrites


LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock timeout


@dataclass(frozen=True)
class SweepResult:
    events: int
    cases: int
    watermark: int


def high_water() -> int | None:
    """The largest event id below which every event is committed, or None if that can't be
    known now. Event ids come from a sequence when the INSERT runs, not when its transaction
    commits, so a plain max(id) can pass over a lower id that commits later and the sweep
    would never see it. A SHARE lock waits for every transaction that has inserted into
    the log to finish; once it is held, every id up to max(id) is committed. It blocks new
    events only while it waits and for one SELECT, and gives up after a short lock timeout
    (the next sweep tries again) rather than stall intake behind a long transaction. Django
    has no API for table locks, hence its cursor."""
    table = CaseEvent._meta.db_table
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL lock_timeout = '2s'")
        try:
            with transaction.atomic():  # a savepoint: a timeout leaves the outer usable
                cur.execute(f"LOCK TABLE {table} IN SHARE MODE")
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            return None
        cur.execute("SET LOCAL lock_timeout = DEFAULT")
        cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
        row = cur.fetchone()
    return int(row[0]) if row else 0


def _mark(*, wait: bool = True) -> SweepMark | None:
    """The watermark row, locked; None when another sweep or a rebuild holds it and
    `wait` is False (a periodic sweep then leaves the work to the one holding it rather than
    queue behind a long rebuild)."""
    SweepMark.objects.get_or_create(id=1)
    return SweepMark.objects.select_for_update(skip_locked=not wait).filter(id=1).first()


def watermark() -> int:
    found = SweepMark.objects.filter(id=1).values_list("last_event_id", flat=True).first()
    return found or 0


def rollup_rows(case: Case, events: list[CaseEvent]) -> tuple[CaseSummary, list[CaseStage]]:
    """The summary row and stage rows of one case from its events (unsaved). Generated
    history (chaoyang/history/) calls it on the events it has just written."""
    done = summarize(case, events)
    stages = [
        CaseStage(
            case_id=case.id,
            seq=r.seq,
            stage=r.stage,
            street_id=case.street_id,
            department_id=r.department_id,
            started_at=r.started_at,
            start_action=r.start_action,
            started_by_id=r.started_by_id,
            deadline=r.deadline,
            ended_at=r.ended_at,
            end_action=r.end_action,
            ended_by_id=r.ended_by_id,
            ended_role=r.ended_role,
            due_at=r.due_at,
            on_time=r.on_time,
            extensions=r.extensions,
            parks=r.parks,
            undone_by=r.undone_by,
        )
        for r in done.rounds
    ]
    return CaseSummary(case_id=case.id, **done.values), stages


def rebuild_cases(case_ids: Iterable[int], *, upto: int) -> None:
    """Summaries and stage rows of these cases from their events with id ≤ upto."""
    ids = sorted(set(case_ids))
    if not ids:
        return
    cases = Case.objects.filter(id__in=ids).only(
        "id",
        "street_id",
        "community_id",
        "grid_id",
        "category_id",
        "source",
        "urgency",
        "reporter_id",
        "outside_jurisdiction",
    )
    events: dict[int, list[CaseEvent]] = defaultdict(list)
    for e in CaseEvent.objects.filter(case_id__in=ids, id__lte=upto).order_by("at", "id"):
        events[e.case_id].append(e)
    summaries, stages = [], []
    for case in cases:
        if not events[case.id]:
            continue  # registered after the high-water mark: the next sweep has it
        summary, rounds = rollup_rows(case, events[case.id])
        summaries.append(summary)
        stages += rounds
    CaseSummary.objects.bulk_create(
        summaries,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["case_id"],
        update_fields=SUMMARY_FIELDS,
    )
    # A case's rounds are replaced whole: a round's row can end, and rounds can appear.
    CaseStage.objects.filter(case_id__in=ids).delete()
    CaseStage.objects.bulk_create(stages, batch_size=2000)


def sweep_batch(*, upto: int, limit: int = 5000) -> SweepResult:
    """One batch: events after the watermark (at most `limit`, none past `upto`), the
    summaries of the cases they touch, and the watermark moved, in one transaction."""
    with transaction.atomic():
        mark = _mark(wait=False)
        if mark is None:
            return SweepResult(0, 0, watermark())
        new = list(
            CaseEvent.objects.filter(id__gt=mark.last_event_id, id__lte=upto)
            .order_by("id")
            .values_list("id", "case_id")[:limit]
        )
        if not new:
            return SweepResult(0, 0, mark.last_event_id)
        last = new[-1][0]
        touched = {case_id for _id, case_id in new}
        # Up to `last`, not `upto`: a touched case's later events belong to a later batch.
        rebuild_cases(touched, upto=last)
        mark.last_event_id, mark.swept_at = last, timezone.now()
        mark.save()
        return SweepResult(len(new), len(touched), last)


def sweep(*, limit: int = 5000, max_batches: int = 100) -> SweepResult:
    """Batches until the watermark reaches the high-water mark (or max_batches)."""
    upto = high_water()
    if upto is None:  # the log is busy: the next sweep reads these events
        return SweepResult(0, 0, watermark())
    events = cases = mark = 0
    for _ in range(max_batches):
        r = sweep_batch(upto=upto, limit=limit)
        events, cases, mark = events + r.events, cases + r.cases, r.watermark
        if r.events < limit:
            break
    return SweepResult(events, cases, mark)


def rebuild(*, chunk: int = 2000) -> SweepResult:
    """Everything again from the log: every summary and stage row, and the watermark. Holds
    the watermark lock throughout, so no sweep interleaves."""
    upto = high_water()
    while upto is None:  # a rebuild is asked for by a person: wait for the lock
        upto = high_water()
    with transaction.atomic():
        mark = _mark()
        assert mark is not None  # waited for
        CaseStage.objects.all().delete()
        CaseSummary.objects.all().delete()
        ids = list(
            CaseEvent.objects.filter(id__lte=upto)
            .order_by("case_id")
            .values_list("case_id", flat=True)
            .distinct()
        )
        for i in range(0, len(ids), chunk):
            rebuild_cases(ids[i : i + chunk], upto=upto)
        mark.last_event_id, mark.swept_at = upto, timezone.now()
        mark.save()
    return SweepResult(0, len(ids), upto)
