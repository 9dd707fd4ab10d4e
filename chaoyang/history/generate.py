"""Writing generated history: draw the cases (volume), walk each through the rulebook (life,
paths), and insert cases, events and open assignments in chunks with COPY through Django's
connection, then advance the number counters and rebuild the evaluation rollups.

Why COPY: the rows are built by the model and the event writers, but `Case.created_at` is
auto_now_add, which bulk_create would overwrite with the present; COPY writes the times the
reports happened, and is the fastest insert PostgreSQL has.

Generated cases carry the idempotency key "history:<seed>:<n>", so they can be told from
live ones. The log is append-only (a trigger refuses DELETE), so generated history can only
be removed by TRUNCATE, and `replace` refuses while any live case exists.
"""

import json
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.events import Step, merged_from, reported
from cases.models import Case, CaseEvent, CaseNumberCounter, Source, Status
from core.roles import Role
from dispatch.models import Assignment, Department
from dispatch.policies import DEPARTMENT_KINDS
from dispatch.services import sla
from dispatch.workflow import VERIFY_SOURCES
from evaluation.models import CaseStage, CaseSummary, SweepMark
from evaluation.services import rollup
from grids.models import Region
from population.demo import (
    copy_rows,
    random_points,
    reserve_ids,
    restore_row_triggers,
    skip_row_triggers,
)

from . import checks, life, volume
from .paths import Dept, Places, Walk
from .staff import Staff, ensure_staff

MARK = "history:"
CHUNK = 5000
S = Status
STREET_KINDS = [k for k, (_n, level) in DEPARTMENT_KINDS.items() if level == "street"]
DISTRICT_KINDS = [k for k, (_n, level) in DEPARTMENT_KINDS.items() if level == "district"]
CASE_COLUMNS = [f for f in Case._meta.concrete_fields]
EVENT_COLUMNS = ["id", "case_id", "action", "from_status", "to_status", "actor_id", "actor_role",
                 "unit", "at", "note", "data"]  # fmt: skip
ASSIGNMENT_COLUMNS = ["case_id", "department_id", "active", "dispatched_at", "dispatched_by_id",
                      "accepted_at", "done_at", "pending_request", "requested_deadline",
                      "request_note"]  # fmt: skip


class Refused(Exception):
    """Generation would mix with what is there (run twice, or replace beside live cases)."""


@dataclass
class Report:
    cases: int = 0
    events: int = 0
    open: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    kinds: Counter[str] = field(default_factory=Counter)


def generated() -> int:
    return Case.objects.filter(idempotency_key__startswith=MARK).count()


def remove_history() -> None:
    """Empty the case tables (and every table that points at them: photos, assignments,
    notifications, rollups) and the number counters; only when every case is generated."""
    if Case.objects.exclude(idempotency_key__startswith=MARK).exists():
        raise Refused(_("除生成的历史外还有实际案件"))
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {CaseEvent._meta.db_table}, {Case._meta.db_table} CASCADE")
    CaseNumberCounter.objects.all().delete()


class _World:
    """Staff, departments and the recent cases of each street, for the walks' callbacks."""

    def __init__(self, staff: Staff) -> None:
        self.staff = staff
        self.district = Region.objects.get(code=settings.HOME_DISTRICT_CODE)
        self.depts: dict[tuple[int, str], Dept] = {
            (r, k): (i, n, lvl)
            for i, n, lvl, r, k in Department.objects.filter(active=True).values_list(
                "id", "name", "level", "region_id", "kind"
            )
        }
        self.recent: dict[int, deque[Walk]] = {}
        self.merged: list[CaseEvent] = []

    def route(self, case: Case, attempt: int) -> Dept:
        kind = str(case.sla_policy.get("department_kind") or "enforcement")
        level = DEPARTMENT_KINDS.get(kind, ("", "street"))[1]
        if case.handling_level == "district" or level == "district":
            kinds = DISTRICT_KINDS if level == "district" else ["city"]
            start = kinds.index(kind) if kind in kinds else 0
            kind = kinds[(start + attempt) % len(kinds)]
            region = self.district.id
        else:
            kind = STREET_KINDS[(STREET_KINDS.index(kind) + attempt) % len(STREET_KINDS)]
            assert case.street_id is not None
            region = case.street_id
        found = self.depts.get((region, kind))
        if found is None:
            raise Refused(_("缺少处置部门,请先运行 seed_demo"))
        return found

    def places(self, case: Case, grid: volume.Grid) -> Places:
        staff = self.staff

        def centre_user(code: str, role: Role) -> int:
            return staff.centre[(code, role)]

        def merge_target(c: Case, at: datetime) -> tuple[int, str, str] | None:
            for other in reversed(self.recent.get(grid.street_id, ())):
                status = _status_at(other, at)
                if other.case.id != c.id and status and status not in _FINAL:
                    return other.case.id, other.case.number, status
            return None

        def note_merge(target_id: int, event: CaseEvent) -> None:
            status = next(
                (s for w in self.recent.get(grid.street_id, ()) if w.case.id == target_id
                 for s in [_status_at(w, event.at)]), ""
            )  # fmt: skip
            step = Step(
                case_id=target_id, actor=None, role=Role.INTAKE_OPERATOR, from_status=status,
                to_status=status, note=case.number, at=event.at,
            )  # fmt: skip
            row = merged_from(step, case_id=case.id)
            row.actor_id = event.actor_id
            self.merged.append(row)

        return Places(
            centre_user=centre_user,
            grid_worker=staff.grid_worker[grid.id],
            route=self.route,
            handler=lambda d: staff.handler[d],
            merge_target=merge_target,
            merged_from=note_merge,
        )


_FINAL = {S.CLOSED, S.VOID, S.MERGED}


def _status_at(w: Walk, at: datetime) -> str:
    status = ""
    for e in w.events:
        if e.at > at:
            break
        if e.to_status:
            status = e.to_status
    return status


def _walk(world: _World, rng: random.Random, d: volume.Draw, case_id: int, number: str,
          key: str, point: tuple[float, float], policies: dict[tuple[int, str], dict[str, Any]],
          end: datetime) -> Walk:  # fmt: skip
    """The case as intake would have registered it, then its walk."""
    g = d.grid
    cat_id, _code, cat_name = d.category
    snapshot = policies.get((cat_id, d.urgency))
    if snapshot is None:
        snapshot = policies[(cat_id, d.urgency)] = sla.policy_snapshot(
            category_id=cat_id, urgency=d.urgency
        )
    verify = d.source in VERIFY_SOURCES
    by_worker = d.source == Source.GRID_WORKER
    role = Role.GRID_WORKER if by_worker else Role.INTAKE_OPERATOR
    reporter = (
        world.staff.grid_worker[g.id] if by_worker else world.staff.centre[(g.street_code, role)]
    )
    case = Case(
        id=case_id, number=number, category_id=cat_id, urgency=d.urgency,
        description=f"{cat_name}:{g.place}发现{cat_name},请处置。",
        address=f"北京市朝阳区{g.place}", location=Point(*point, srid=4326),
        grid_id=g.id, community_id=g.community_id, street_id=g.street_id,
        source=d.source, reporter_id=reporter, citizen_name="市民" if verify else "",
        status=S.VERIFYING if verify else S.REPORTED, verification_required=verify,
        idempotency_key=key, sla_policy=snapshot, created_at=d.at,
    )  # fmt: skip
    sla.start_stage(case, d.at)
    w = Walk(case, g.street_code, world.places(case, g), random.Random(rng.random()), end)
    first = reported(
        Step(case_id=case_id, actor=None, role=role, to_status=case.status,
             deadline=case.deadline, at=d.at),
        source=d.source,
    )  # fmt: skip
    first.actor_id = reporter
    w.events.append(first)
    life.live(w)
    case.updated_at = w.events[-1].at
    return w


def _case_row(c: Case) -> tuple[object, ...]:
    row: list[object] = []
    for f in CASE_COLUMNS:
        v = getattr(c, f.attname)
        if f.attname == "location":
            v = v.ewkt if v is not None else None
        elif f.attname == "sla_policy":
            v = json.dumps(v)
        row.append(v)
    return tuple(row)


def _event_rows(rows: Iterable[CaseEvent]) -> Iterable[tuple[object, ...]]:
    for e in rows:
        yield (e.id, e.case_id, e.action, e.from_status, e.to_status, e.actor_id, e.actor_role,
               e.unit, e.at, e.note, json.dumps(e.data, ensure_ascii=False))  # fmt: skip


def _assignment(w: Walk) -> tuple[object, ...] | None:
    """The active assignment of a case that is with a department when the history ends."""
    if w.dept is None or w.case.status not in (
        S.DISPATCHED,
        S.ACCEPTED,
        S.DONE,
        S.PARKED,
        S.CHECKED,
    ):
        return None
    last: dict[str, CaseEvent] = {e.action: e for e in w.events}
    sent = last["dispatch"]
    accepted = last.get("accept") if w.case.status != S.DISPATCHED else None
    done = last.get("report_done") if w.case.status in (S.DONE, S.CHECKED) else None
    return (w.case.id, w.dept[0], True, sent.at, sent.actor_id,
            accepted.at if accepted else None, done.at if done else None,
            w.pending, w.requested, "")  # fmt: skip


def _copy_models(model: type[models.Model], objs: list[Any]) -> None:
    """Unsaved model instances through COPY (their values as the model holds them)."""
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]
    rows = (tuple(getattr(o, f.attname) for f in fields) for o in objs)
    copy_rows(model._meta.db_table, [str(f.column) for f in fields], rows)


def _rollups(walks: list[Walk]) -> None:
    """The evaluation rows of these cases from the events just written, as the sweep would
    build them (evaluation.services.rollup.rollup_rows over the same rows)."""
    summaries, stages = [], []
    for w in walks:
        summary, rounds = rollup.rollup_rows(w.case, w.events)
        summaries.append(summary)
        stages += rounds
    _copy_models(CaseSummary, summaries)
    _copy_models(CaseStage, stages)


def _numbers(draws: list[volume.Draw]) -> list[str]:
    """Numbers as intake gives them: the day's sequence after what the counter holds."""
    last = dict(CaseNumberCounter.objects.values_list("day", "last"))
    out = []
    code = settings.HOME_DISTRICT_CODE
    for d in draws:
        day = timezone.localdate(d.at)
        last[day] = last.get(day, 0) + 1
        out.append(f"{code}-{day:%Y%m%d}-{last[day]:05d}")
    CaseNumberCounter.objects.bulk_create(
        [CaseNumberCounter(day=k, last=v) for k, v in last.items()],
        update_conflicts=True, unique_fields=["day"], update_fields=["last"], batch_size=2000,
    )  # fmt: skip
    return out


@transaction.atomic
def generate(
    *, cases: int, months: int, seed: int, end: datetime | None = None, replace: bool = False,
    progress: Callable[[str], None] = lambda m: None,
) -> Report:  # fmt: skip
    """Generate `cases` cases reported over the `months` before `end` (now by default)."""
    t0 = time.monotonic()
    report = Report()

    def lap(name: str) -> None:
        report.timings[name] = round(time.monotonic() - t0 - sum(report.timings.values()), 2)
        progress(f"{name}: {report.timings[name]} s")

    if generated():
        if not replace:
            raise Refused(_("已有生成的历史"))
        remove_history()
    end = end or timezone.now()
    start = end - timedelta(days=months * 365.25 / 12)
    rng = random.Random(seed)
    world = _World(ensure_staff())
    lap("staff")
    draws = volume.draws(rng, cases, start, end)
    points = random_points(dict(Counter(d.grid.id for d in draws)), seed)
    taken: Counter[int] = Counter()
    ids = reserve_ids(Case._meta.db_table, cases)
    numbers = _numbers(draws)
    # With nothing but this history in the log, its rollups are built from the events in
    # hand; beside live cases the rebuild reads the whole log again (slower, same rows).
    alone = not Case.objects.exists()
    triggers_skipped = skip_row_triggers()
    lap("draw")
    policies: dict[tuple[int, str], dict[str, Any]] = {}
    cols = [str(f.column) for f in CASE_COLUMNS]
    walk_s = write_s = 0.0
    targets: set[int] = set()  # cases merged into: their merged_from may be a later chunk's
    last_event = 0
    for lo in range(0, cases, CHUNK):
        t1 = time.monotonic()
        walks = []
        for i in range(lo, min(lo + CHUNK, cases)):
            d = draws[i]
            point = points[d.grid.id][taken[d.grid.id]]
            taken[d.grid.id] += 1
            w = _walk(world, rng, d, ids[i], numbers[i], f"{MARK}{seed}:{i}", point, policies, end)
            world.recent.setdefault(d.grid.street_id, deque(maxlen=30)).append(w)
            walks.append(w)
        t2 = time.monotonic()
        copy_rows(Case._meta.db_table, cols, (_case_row(w.case) for w in walks))
        rows = [e for w in walks for e in w.events] + world.merged
        for e, event_id in zip(rows, reserve_ids(CaseEvent._meta.db_table, len(rows)), strict=True):
            e.id = event_id
        targets.update(e.case_id for e in world.merged)
        world.merged = []
        report.events += copy_rows(CaseEvent._meta.db_table, EVENT_COLUMNS, _event_rows(rows))
        tasks = [a for w in walks if (a := _assignment(w)) is not None]
        copy_rows(Assignment._meta.db_table, ASSIGNMENT_COLUMNS, tasks)
        if alone:
            _rollups(walks)
        last_event = max(last_event, rows[-1].id if rows else 0)
        report.cases += len(walks)
        report.open += sum(1 for w in walks if w.case.status not in _FINAL)
        report.kinds.update(e.action for e in rows)
        walk_s, write_s = walk_s + t2 - t1, write_s + time.monotonic() - t2
        progress(f"{report.cases}/{cases}")
    report.timings["walk"], report.timings["write"] = round(walk_s, 2), round(write_s, 2)
    if triggers_skipped:
        # Triggers on again before the rollups are written: only the COPYed rows skip them.
        restore_row_triggers()
        if ids:
            checks.verify(min(ids))
        lap("verify")
    if alone:
        rollup.rebuild_cases(targets, upto=last_event)
        SweepMark.objects.update_or_create(
            id=1, defaults={"last_event_id": last_event, "swept_at": timezone.now()}
        )
    else:
        rollup.rebuild()
    lap("rollups")
    report.seconds = round(time.monotonic() - t0, 2)
    return report
