"""Periods are half-open spans of local days."""

from datetime import date

from evaluation import periods
from tests.evaluation.logs import local


def test_each_kind_of_period_starts_and_ends_at_local_midnight() -> None:
    assert periods.day(date(2026, 3, 2)) == periods.Period(
        local(2026, 3, 2, 0), local(2026, 3, 3, 0)
    )
    # 4 March 2026 is a Wednesday: its week runs Monday 2 to Sunday 8.
    assert periods.week(date(2026, 3, 4)) == periods.Period(
        local(2026, 3, 2, 0), local(2026, 3, 9, 0)
    )
    assert periods.month(2026, 12) == periods.Period(local(2026, 12, 1, 0), local(2027, 1, 1, 0))
    assert periods.month(2026, 2).end == local(2026, 3, 1, 0)
    assert periods.quarter(2026, 1) == periods.Period(local(2026, 1, 1, 0), local(2026, 4, 1, 0))
    assert periods.quarter(2026, 4).end == local(2027, 1, 1, 0)
    assert periods.year(2026) == periods.Period(local(2026, 1, 1, 0), local(2027, 1, 1, 0))
    assert periods.span(date(2026, 3, 30), date(2026, 4, 2)).end == local(2026, 4, 3, 0)


def test_the_window_is_what_has_happened_by_then() -> None:
    march = periods.month(2026, 3)
    assert march.window(local(2026, 3, 10, 12)) == (march.start, local(2026, 3, 10, 12))
    assert march.window(local(2026, 5, 1)) == (march.start, march.end)
    assert march.window(local(2026, 2, 1)) == (march.start, march.start)
