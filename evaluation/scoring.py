"""Scores, grades and rankings over the indicators, with versioned weights (WeightSet).

A score is the weighted sum of an object's rates, as a percentage. A rate with nothing
counted (no denominator) says nothing about the object, so its weight is left out and the
others are scaled up to 100 %; with no rate at all there is no score. Every score names the
weight version that made it.
"""

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from evaluation.indicators import (
    DepartmentFigures,
    DispatcherFigures,
    HotlineFigures,
    LeadFigures,
    OperatorFigures,
    Rate,
    RegionFigures,
    WorkerFigures,
)
from evaluation.models import DEFAULT_LABEL, DEFAULT_NOTE, WeightSet


@dataclass(frozen=True)
class Score:
    value: float | None  # 0–100
    grade: str  # A–E, "" without a score
    version: int  # the WeightSet version


def current_weights() -> WeightSet:
    """The latest version. Version 1, the labelled defaults, is seeded by a migration; where
    it is missing (a database flushed after migrating, as transactional tests do) it is
    written again here, with the model's defaults, so a score never fails for want of it."""
    latest = WeightSet.objects.order_by("-version").first()
    if latest is not None:
        return latest
    return WeightSet.objects.get_or_create(
        version=1,
        defaults={"label": DEFAULT_LABEL, "is_default": True, "note": DEFAULT_NOTE},
    )[0]


def grade_of(value: float | None, w: WeightSet) -> str:
    """A ≥ grade_a, B ≥ grade_b, C ≥ grade_c, D ≥ grade_d, E below (defaults 90/75/60/40)."""
    if value is None:
        return ""
    for letter, floor in (("A", w.grade_a), ("B", w.grade_b), ("C", w.grade_c), ("D", w.grade_d)):
        if Decimal(str(value)) >= floor:
            return letter
    return "E"


def _complement(rate: Rate) -> float | None:
    return None if rate.value is None else 1 - rate.value


def weighted(parts: Sequence[tuple[Decimal, float | None]], w: WeightSet) -> Score:
    present = [(float(weight), value) for weight, value in parts if value is not None]
    total = sum(weight for weight, _v in present)
    if not present or total == 0:
        return Score(None, "", w.version)
    value = round(100 * sum(weight * v for weight, v in present) / total, 2)
    return Score(value, grade_of(value, w), w.version)


def region_score(f: RegionFigures, w: WeightSet) -> Score:
    return weighted(
        [(w.region_closure, f.closure.value), (w.region_on_time, f.on_time_closure.value)], w
    )


def department_score(f: DepartmentFigures, w: WeightSet) -> Score:
    """Volume counts in full from department_volume_full cases due in the period."""
    full = max(1, w.department_volume_full)
    volume = min(1.0, f.due / full) if f.due else None
    return weighted(
        [
            (w.department_volume, volume),
            (w.department_closure, f.closure.value),
            (w.department_on_time, f.on_time_handling.value),
            (w.department_rework, _complement(f.rework)),
        ],
        w,
    )


def worker_score(f: WorkerFigures, w: WeightSet) -> Score:
    return weighted(
        [
            (w.worker_valid, f.valid.value),
            (w.worker_miss, _complement(f.misses)),
            (w.worker_verify, f.on_time_verify.value),
            (w.worker_check, f.on_time_check.value),
        ],
        w,
    )


def operator_score(f: OperatorFigures, w: WeightSet) -> Score:
    return weighted([(w.operator_on_time, f.on_time.value)], w)


def lead_score(f: LeadFigures, w: WeightSet) -> Score:
    return weighted(
        [
            (w.lead_on_time_open, f.on_time_open.value),
            (w.lead_accurate_open, f.accurate_open.value),
            (w.lead_on_time_close, f.on_time_close.value),
        ],
        w,
    )


def dispatcher_score(f: DispatcherFigures, w: WeightSet) -> Score:
    return weighted(
        [(w.dispatcher_on_time, f.on_time.value), (w.dispatcher_accurate, f.accurate.value)], w
    )


def hotline_score(f: HotlineFigures, w: WeightSet) -> Score:
    """The composite of the three 12345 rates (defaults 10/50/40)."""
    return weighted(
        [
            (w.hotline_response, f.response.value),
            (w.hotline_resolution, f.resolution.value),
            (w.hotline_satisfaction, f.satisfaction.value),
        ],
        w,
    )


# --- rankings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    key: Hashable
    rate: Rate  # its denominator is the count shown beside the rate
    position: int | None  # None: too few cases to be ranked


def rank(entries: Sequence[tuple[Hashable, Rate]], *, min_cases: int | None = None) -> list[Ranked]:
    """Highest rate first; equal rates share a place (1, 1, 3). Entries counting fewer than
    `min_cases` (default EVALUATION_MIN_CASES) are listed after the ranked ones, unranked."""
    floor = settings.EVALUATION_MIN_CASES if min_cases is None else min_cases

    def counts(rate: Rate) -> bool:
        return rate.denominator >= floor and rate.value is not None

    ranked = sorted((e for e in entries if counts(e[1])), key=lambda e: -(e[1].value or 0.0))
    out: list[Ranked] = []
    for i, (key, rate) in enumerate(ranked):
        tied = out and out[-1].rate.value == rate.value
        out.append(Ranked(key, rate, out[-1].position if tied else i + 1))
    out += [Ranked(k, r, None) for k, r in entries if not counts(r)]
    return out
