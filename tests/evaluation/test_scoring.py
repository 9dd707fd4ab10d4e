"""Weights in versions, scores, grade bands and the ranking minimum."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import RequestFactory
from pytest_django.fixtures import Settings

from evaluation import scoring
from evaluation.admin import WeightSetAdmin
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
from evaluation.models import WeightSet

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _version_one() -> None:
    """Version 1 as the migration seeds it: a transactional test that ran earlier flushed
    the migration's row, and current_weights writes it again, as it would in production."""
    scoring.current_weights()


def defaults() -> WeightSet:
    return WeightSet.objects.get(version=1)


def test_the_seeded_version_is_the_labelled_defaults() -> None:
    w = scoring.current_weights()
    assert (w.version, w.is_default) == (1, True)
    assert "非官方" in w.label
    worker = (w.worker_valid, w.worker_miss, w.worker_verify, w.worker_check)
    assert worker == (40, 20, 20, 20)
    assert (w.department_closure, w.department_on_time, w.department_rework) == (30, 30, 30)
    assert (w.hotline_response, w.hotline_resolution, w.hotline_satisfaction) == (10, 50, 40)
    assert w.hotline_basically == Decimal("0.90")
    assert (w.grade_a, w.grade_b, w.grade_c, w.grade_d) == (90, 75, 60, 40)


def test_an_admin_edit_is_saved_as_the_next_version_and_the_old_one_stays() -> None:
    model_admin = WeightSetAdmin(WeightSet, admin.site)
    request = RequestFactory().post("/")
    edited = defaults()
    edited.worker_valid, edited.worker_miss = Decimal(50), Decimal(10)
    model_admin.save_model(request, edited, form=None, change=True)
    assert list(WeightSet.objects.values_list("version", "worker_valid", "is_default")) == [
        (2, Decimal(50), False),
        (1, Decimal(40), True),
    ]
    assert scoring.current_weights().version == 2
    assert not model_admin.has_delete_permission(request)


def test_a_score_names_its_version_and_weights_the_rates() -> None:
    f = WorkerFigures(
        reports=10,
        valid=Rate(8, 10),  # 0.8 × 40
        misses=Rate(1, 4),  # (1 − 0.25) × 20
        on_time_verify=Rate(1, 2),  # 0.5 × 20
        on_time_check=Rate(3, 3),  # 1.0 × 20
    )
    assert scoring.worker_score(f, defaults()) == scoring.Score(77.0, "B", 1)
    v2 = WeightSet.objects.create(version=2, label="v2", worker_valid=70, worker_miss=10,
                                  worker_verify=10, worker_check=10)  # fmt: skip
    assert scoring.worker_score(f, v2) == scoring.Score(78.5, "B", 2)


def test_a_rate_with_nothing_counted_leaves_its_weight_out() -> None:
    f = WorkerFigures(0, Rate(0, 0), Rate(0, 0), Rate(1, 1), Rate(0, 1))
    # Only verification (1.0) and checks (0.0) count, at 20 each: 50 %.
    assert scoring.worker_score(f, defaults()).value == 50.0
    empty = WorkerFigures(0, Rate(0, 0), Rate(0, 0), Rate(0, 0), Rate(0, 0))
    assert scoring.worker_score(empty, defaults()) == scoring.Score(None, "", 1)


def test_the_department_score_counts_volume_up_to_its_full_mark() -> None:
    f = DepartmentFigures(50, Rate(40, 50), Rate(45, 50), Rate(5, 50), Rate(0, 50), 2)
    # volume 50/100 × 10 + 0.9 × 30 + 0.8 × 30 + (1 − 0.1) × 30 = 5 + 27 + 24 + 27
    assert scoring.department_score(f, defaults()).value == 83.0


def test_the_other_composites() -> None:
    w = defaults()
    hotline = HotlineFigures(Rate(9, 10), Rate(7, 10), Rate(8.5, 10))
    assert scoring.hotline_score(hotline, w).value == 78.0  # 9 + 35 + 34
    region = RegionFigures(10, Rate(2, 10), Rate(8, 10), Rate(6, 10), Rate(4, 10))
    assert scoring.region_score(region, w).value == 70.0
    lead = LeadFigures(Rate(1, 1), Rate(9, 10), Rate(1, 2))
    assert scoring.lead_score(lead, w).value == 82.0  # 40 + 27 + 15
    assert scoring.dispatcher_score(DispatcherFigures(Rate(1, 2), Rate(1, 1)), w).value == 75.0
    assert scoring.operator_score(OperatorFigures(3, Rate(2, 4)), w) == scoring.Score(50.0, "D", 1)


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        (100, "A"),
        (90, "A"),
        (89.99, "B"),
        (75, "B"),
        (74.99, "C"),
        (60, "C"),
        (59.99, "D"),
        (40, "D"),
        (39.99, "E"),
        (0, "E"),
        (None, ""),
    ],
)
def test_grade_bands(value: float | None, grade: str) -> None:
    assert scoring.grade_of(value, defaults()) == grade


def test_a_ranking_leaves_out_what_counts_too_few_cases(settings: Settings) -> None:
    settings.EVALUATION_MIN_CASES = 5
    entries = [
        ("quick", Rate(1, 1)),  # one four-minute fix must not top the list
        ("a", Rate(9, 10)),
        ("b", Rate(45, 50)),
        ("c", Rate(5, 10)),
        ("none", Rate(0, 0)),
    ]
    ranked = scoring.rank(entries)
    assert [(r.key, r.position) for r in ranked] == [
        ("a", 1),
        ("b", 1),  # tied: the same place
        ("c", 3),
        ("quick", None),
        ("none", None),
    ]
    assert [r.rate.denominator for r in ranked] == [10, 50, 10, 1, 0]  # shown beside it
    assert [r.position for r in scoring.rank(entries, min_cases=1)][:2] == [1, 2]
