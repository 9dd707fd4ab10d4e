"""The SLA clock: stage deadlines, warnings, extensions, parking, and the periodic sweep.

The database is the truth. A transition sets the new stage's deadline and warning time in
the same transaction as the status; the sweep (Celery beat, every SLA_SWEEP_SECONDS) finds
rows whose time has come over two small partial indexes, and changes each light exactly
once per stage: the row's light column is both the result and the guard, and rows are
claimed with FOR UPDATE SKIP LOCKED, so overlapping sweeps split the work and a worker that
dies mid-batch rolls back and leaves the rows for the next sweep.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cases import events
from cases.models import Case, CaseEvent, Light, Status
from dispatch import calendar, reference
from dispatch.models import Stage, TimeUnit
from dispatch.workflow import STAGE_OF

# Used when a category has no policy row for the urgency: conservative defaults.
FALLBACK_LIMITS: dict[str, list[Any]] = {
    Stage.VERIFY: [2, "work_hours"],
    Stage.OPEN: [1, "work_hours"],
    Stage.DISPATCH: [1, "work_hours"],
    Stage.ACCEPT: [2, "work_hours"],
    Stage.HANDLE: [2, "work_days"],
    Stage.CHECK: [4, "work_hours"],
    Stage.CLOSE: [1, "work_days"],
}


def warning_share() -> float:
    return float(settings.SLA_WARNING_SHARE)


def policy_snapshot(*, category_id: int, urgency: str) -> dict[str, Any]:
    """The limits a case is opened under, frozen into the case."""
    policy = reference.category_policy(category_id, urgency)
    limits = dict(FALLBACK_LIMITS)
    if policy is not None:
        limits.update(policy.limits)
    return {
        "limits": limits,
        "principle": policy.principle if policy else "",
        "department_kind": policy.department_kind if policy else "",
        "warning_share": warning_share(),
    }


def stage_limit(case: Case, stage: str) -> tuple[float, str]:
    amount, unit = case.sla_policy.get("limits", {}).get(stage) or FALLBACK_LIMITS[stage]
    return float(amount), str(unit)


def start_stage(case: Case, now: datetime) -> None:
    """Set the clock for the stage the case's (new) status belongs to; no save."""
    stage = STAGE_OF.get(Status(case.status))
    case.paused_remaining_s = None
    if stage is None:  # parked or final: no running clock
        case.deadline = None
        case.warning_at = None
        case.stage_started_at = now
        return
    amount, unit = stage_limit(case, stage)
    share = float(case.sla_policy.get("warning_share", warning_share()))
    case.stage_started_at = now
    case.deadline = calendar.add_duration(now, amount, unit)
    case.warning_at = calendar.add_duration(now, amount * share, unit)
    case.light = Light.GREEN


def _clock_stage(case: Case) -> str | None:
    """The stage whose clock runs; for a parked case, the stage it resumes into."""
    status = Status(case.status)
    if status == Status.PARKED:
        status = Status.ACCEPTED  # the table parks from and unparks to 处置中 only
    return STAGE_OF.get(status)


def _natural(case: Case) -> bool:
    """Whether the stage's clock runs in natural time (urgent limits) or in working time."""
    stage = _clock_stage(case)
    return stage is not None and stage_limit(case, stage)[1] == TimeUnit.NATURAL_HOURS


def _seconds_left(case: Case, now: datetime, deadline: datetime) -> int:
    if _natural(case):
        return max(0, int((deadline - now).total_seconds()))
    return calendar.working_seconds_between(now, deadline)


def _after(case: Case, now: datetime, seconds: float) -> datetime:
    if _natural(case):
        return calendar.add_duration(now, seconds / 3600, TimeUnit.NATURAL_HOURS)
    return calendar.add_working_seconds(now, seconds)


def _limit_seconds(case: Case) -> float:
    """The stage's limit in seconds of its own clock (a work day: one day's periods)."""
    stage = _clock_stage(case)
    if stage is None:
        return 0.0
    amount, unit = stage_limit(case, stage)
    if unit == TimeUnit.WORK_DAYS:
        return amount * calendar.work_periods().day_us / calendar.US
    return amount * 3600


def move_deadline(case: Case, now: datetime, deadline: datetime) -> None:
    """An approved extension: a new deadline, a fresh warning, the light back to green."""
    share = float(case.sla_policy.get("warning_share", warning_share()))
    case.deadline = deadline
    case.warning_at = _after(case, now, _seconds_left(case, now, deadline) * share)
    case.light = Light.GREEN


def pause(case: Case, now: datetime) -> None:
    """Parking stops the clock: keep the time left (none when already overdue)."""
    case.paused_remaining_s = _seconds_left(case, now, case.deadline) if case.deadline else 0
    case.deadline = None
    case.warning_at = None


def resume(case: Case, now: datetime) -> None:
    """The clock runs on with the time that was left, and the warning keeps its place: when
    the stage's warning share of its limit has been used, not a share of what was left."""
    left = case.paused_remaining_s or 0
    share = float(case.sla_policy.get("warning_share", warning_share()))
    case.deadline = _after(case, now, left)
    case.warning_at = _after(case, now, max(0.0, left - (1 - share) * _limit_seconds(case)))
    case.paused_remaining_s = None
    # The light it had before parking stands until the sweep looks again.


@dataclass(frozen=True)
class SweepResult:
    yellow: int
    red: int
    escalated: int


_FINAL = tuple(s.value for s in (Status.CLOSED, Status.VOID, Status.MERGED))


def _claim(sql: str, now: datetime, limit: int) -> list[tuple[int, str, bool, str]]:
    with connection.cursor() as cur:
        cur.execute(sql, {"final": list(_FINAL), "now": now, "limit": limit})
        return [(r[0], r[1], r[2], r[3]) for r in cur.fetchall()]


# Each query matches its partial index exactly (see Case.Meta.indexes).
_RED_SQL = """
SELECT id, status, supervised, handling_level FROM cases_case
WHERE NOT (status = ANY(%(final)s)) AND light <> 'red' AND deadline <= %(now)s
ORDER BY deadline LIMIT %(limit)s FOR UPDATE SKIP LOCKED
"""
# Overdue rows are red's, even those red has not reached yet (more than a batch fell due,
# or another sweep holds them): warning them first would send a yellow before the red.
_YELLOW_SQL = """
SELECT id, status, supervised, handling_level FROM cases_case
WHERE NOT (status = ANY(%(final)s)) AND light = 'green' AND warning_at <= %(now)s
  AND (deadline IS NULL OR deadline > %(now)s)
ORDER BY warning_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
"""


def _escalation_rule() -> str:
    """What an overdue case triggers: "supervise" (督办 flag, seen by the district) or ""."""
    return str(settings.SLA_RED_ACTION)


def sweep_batch(*, now: datetime | None = None, limit: int = 2000) -> SweepResult:
    """One batch in one transaction: red first (it supersedes yellow), then yellow."""
    from dispatch.services.notify import notify_light_changes

    now = now or timezone.now()
    escalate = _escalation_rule() == "supervise"
    with transaction.atomic():
        red = _claim(_RED_SQL, now, limit)
        red_ids = [r[0] for r in red]
        to_supervise = [(r[0], r[1]) for r in red if escalate and not r[2]]
        if red_ids:
            Case.objects.filter(id__in=red_ids).update(light=Light.RED, updated_at=now)
        if to_supervise:
            Case.objects.filter(id__in=[c for c, _ in to_supervise]).update(supervised=True)
        # Claimed after the red update, so a row both warned and overdue is only red.
        yellow = _claim(_YELLOW_SQL, now, limit)
        if yellow:
            Case.objects.filter(id__in=[r[0] for r in yellow]).update(
                light=Light.YELLOW, updated_at=now
            )

        def step(case_id: int, status: str, note: str) -> events.Step:
            return events.Step(
                case_id=case_id, actor=None, from_status=status, to_status=status, note=note, at=now
            )

        rows = [events.sla_red(step(c, st, "超期")) for c, st, _s, _l in red]
        rows += [events.auto_supervised(step(c, st, "超期自动督办")) for c, st in to_supervise]
        rows += [events.sla_yellow(step(c, st, "即将超期")) for c, st, _s, _l in yellow]
        CaseEvent.objects.bulk_create(rows, batch_size=2000)
        notify_light_changes(red_ids=red_ids, yellow_ids=[r[0] for r in yellow])
    return SweepResult(yellow=len(yellow), red=len(red), escalated=len(to_supervise))


def sweep(
    *, now: datetime | None = None, limit: int = 2000, max_batches: int = 1000
) -> SweepResult:
    """Batches until nothing is due (or max_batches); each batch commits on its own."""
    totals = SweepResult(0, 0, 0)
    for _ in range(max_batches):
        r = sweep_batch(now=now, limit=limit)
        totals = SweepResult(
            totals.yellow + r.yellow, totals.red + r.red, totals.escalated + r.escalated
        )
        if r.yellow + r.red < limit:
            break
    return totals
