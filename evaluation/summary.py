"""summarize: one case's events → its CaseSummary values and its CaseStage rows.

A pure function: it reads the case's fixed facts (where, what, who reported) and its events
in log order, and nothing else: no clock, no other case, no query. The sweep and the full
rebuild both call it, which is why they cannot disagree. docs/evaluation.md defines each
field; the comments here say how the events give it.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cases.events import EventKind
from cases.models import Case, CaseEvent, Status
from dispatch.models import Stage
from dispatch.workflow import STAGE_OF

K = EventKind
# Events that are not a person's step: the clock's lights and the note on a merge's target.
# They carry no deadline and change no status, so the clock reading skips them.
NOT_STEPS = frozenset({K.MERGED_FROM, K.SLA_YELLOW, K.SLA_RED, K.AUTO_SUPERVISED})
# The stages of handling an opened case: a miss in any of them makes its closing late.
HANDLING = frozenset({Stage.DISPATCH, Stage.ACCEPT, Stage.HANDLE, Stage.CHECK, Stage.CLOSE})


@dataclass
class Round:
    """One round of a stage (a CaseStage row being built)."""

    seq: int
    stage: str
    started_at: datetime
    start_action: str
    started_by_id: int | None
    deadline: datetime | None
    department_id: int | None
    ended_at: datetime | None = None
    end_action: str = ""
    ended_by_id: int | None = None
    ended_role: str = ""
    extensions: int = 0
    parks: int = 0
    undone_by: str = ""

    @property
    def on_time(self) -> bool:
        """Ended by its deadline; a round without a clock cannot be late."""
        if self.ended_at is None:
            return False
        return self.deadline is None or self.ended_at <= self.deadline

    @property
    def due_at(self) -> datetime | None:
        """When the round fell due: its end or its deadline, whichever came first. A running
        round without a deadline (parked) is not due."""
        if self.ended_at is None:
            return self.deadline
        if self.deadline is None:
            return self.ended_at
        return min(self.ended_at, self.deadline)

    @property
    def missed_at(self) -> datetime | None:
        """The deadline it missed, or will miss unless it ends first (None: met, or no clock)."""
        return None if self.on_time or self.deadline is None else self.deadline


@dataclass
class Summarized:
    values: dict[str, Any]  # CaseSummary fields, by name (FKs as <name>_id)
    rounds: list[Round] = field(default_factory=list)


def _deadline(event: CaseEvent) -> datetime | None:
    raw = event.data.get("deadline") if isinstance(event.data, dict) else None
    return datetime.fromisoformat(raw) if raw else None


def summarize(case: Case, events: Iterable[CaseEvent]) -> Summarized:
    """The case's summary and stage rounds from its events, taken in log order (at, id)."""
    ordered = sorted(events, key=lambda e: (e.at, e.id or 0))
    v: dict[str, Any] = {
        "street_id": case.street_id,
        "community_id": case.community_id,
        "grid_id": case.grid_id,
        "category_id": case.category_id,
        "source": case.source,
        "urgency": case.urgency,
        "reporter_id": case.reporter_id,
        "reporter_role": "",
        # Reports outside the district start at the district centre; escalation moves others.
        "handling_level": "district" if case.outside_jurisdiction else "street",
        "status": "",
        "dispatch_count": 0,
        "return_count": 0,
        "rework_count": 0,
        "extension_count": 0,
        "park_count": 0,
        "reopen_count": 0,
        "escalation_count": 0,
        "satisfaction": "",
        "last_event_id": max((e.id or 0 for e in ordered), default=0),
    }
    for name in ("reported", "verified", "opened", "dispatched", "accepted", "done", "checked"):
        v[f"{name}_at"] = None
    for name in ("closed", "voided", "merged", "called_back"):
        v[f"{name}_at"] = None
    v["verified_by_id"] = v["opened_by_id"] = v["closed_by_id"] = None

    rounds: list[Round] = []
    current: Round | None = None
    department: int | None = None
    for e in ordered:
        kind = e.action
        if kind in NOT_STEPS:
            continue
        if e.to_status:
            v["status"] = e.to_status
        _facts(v, e)
        deadline = _deadline(e)
        if kind == K.DISPATCHED:
            department = e.data.get("department_id")
        # The clock moves without a new round: parking stops it, unparking and an approved
        # extension give the running round its new deadline.
        if current is not None and kind == K.PARK_APPROVED:
            current.parks += 1
            current.deadline = None
            continue
        if current is not None and kind in (K.UNPARKED, K.EXTENSION_APPROVED):
            current.deadline = deadline
            current.extensions += kind == K.EXTENSION_APPROVED
            continue
        if kind != K.REPORTED and e.to_status == e.from_status:
            continue  # no new status, no new round (a request, supervision, a callback)
        if current is not None:
            current.ended_at, current.end_action = e.at, kind
            current.ended_by_id, current.ended_role = e.actor_id, e.actor_role
        if kind == K.RETURNED:
            _undo(rounds, Stage.ACCEPT, K.DISPATCHED, K.RETURNED)
        elif kind == K.CHECK_FAILED:
            _undo(rounds, Stage.HANDLE, None, K.CHECK_FAILED)
        if kind in (K.RETURNED, K.CLOSED):
            department = None  # the assignment ends with a return or the closing
        stage: str | None = (
            STAGE_OF.get(Status(e.to_status)) if e.to_status in Status.values else None
        )
        current = None
        if stage is not None:
            current = Round(
                seq=len(rounds),
                stage=stage,
                started_at=e.at,
                start_action=kind,
                started_by_id=e.actor_id,
                deadline=deadline,
                department_id=department,
            )
            rounds.append(current)

    for r in rounds:  # the last round of each stage
        v[f"{r.stage}_deadline"] = r.deadline
        v[f"{r.stage}_met"] = r.on_time if r.ended_at is not None else None
    for stage in Stage.values:
        v.setdefault(f"{stage}_deadline", None)
        v.setdefault(f"{stage}_met", None)
    _closing(v, rounds)
    return Summarized(v, rounds)


def _undo(rounds: list[Round], stage: str, start: str | None, by: str) -> None:
    """Mark the latest round of `stage` (started by `start`, if given) as undone `by`."""
    for r in reversed(rounds):
        if r.stage == stage and (start is None or r.start_action == start):
            r.undone_by = by
            return


def _facts(v: dict[str, Any], e: CaseEvent) -> None:
    """The case's dates, people and tallies from one event."""
    kind, at = e.action, e.at
    first: dict[str, str] = {
        K.REPORTED: "reported_at",
        K.VERIFIED: "verified_at",
        K.OPENED: "opened_at",
        K.DISPATCHED: "dispatched_at",
        K.ACCEPTED: "accepted_at",
    }
    if kind in first and v[first[kind]] is None:
        v[first[kind]] = at
        if kind == K.REPORTED:
            v["reporter_role"] = e.actor_role
        elif kind == K.VERIFIED:
            v["verified_by_id"] = e.actor_id
        elif kind == K.OPENED:
            v["opened_by_id"] = e.actor_id
    last: dict[str, str] = {
        K.HANDLED: "done_at",
        K.CHECK_PASSED: "checked_at",
        K.VOIDED: "voided_at",
        K.MERGED: "merged_at",
        K.CALLED_BACK: "called_back_at",
    }
    if kind in last:
        v[last[kind]] = at
    tally: dict[str, str] = {
        K.DISPATCHED: "dispatch_count",
        K.RETURNED: "return_count",
        K.CHECK_FAILED: "rework_count",
        K.EXTENSION_APPROVED: "extension_count",
        K.PARK_APPROVED: "park_count",
        K.REOPENED: "reopen_count",
        K.ESCALATED: "escalation_count",
    }
    if kind in tally:
        v[tally[kind]] += 1
    if kind == K.ESCALATED:
        v["handling_level"] = "district"
    elif kind == K.CLOSED:
        v["closed_at"], v["closed_by_id"] = at, e.actor_id
    elif kind == K.REOPENED:
        v["closed_at"] = v["closed_by_id"] = None  # closed again only by a later closing
    elif kind == K.CALLED_BACK:
        v["satisfaction"] = e.data.get("satisfaction", "")


def _closing(v: dict[str, Any], rounds: list[Round]) -> None:
    """When the case fell due to be closed, and whether it closed on time.

    Only an opened case that still stands (not voided or merged) falls due. It falls due at
    its closing, or at the first deadline of its handling that was missed (or, while the
    round runs, will be missed unless it ends first), whichever comes first; it closed on
    time when it is closed and no round of its handling missed its deadline.
    """
    v["close_due_at"], v["closed_on_time"] = None, False
    if v["opened_at"] is None or v["status"] in (Status.VOID, Status.MERGED):
        return
    missed = [m for r in rounds if r.stage in HANDLING and (m := r.missed_at) is not None]
    closed = v["closed_at"] if v["status"] == Status.CLOSED else None
    candidates = missed + ([closed] if closed is not None else [])
    v["close_due_at"] = min(candidates) if candidates else None
    v["closed_on_time"] = closed is not None and not missed
