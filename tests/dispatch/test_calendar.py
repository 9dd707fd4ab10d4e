"""The SLA working-time calendar: Chinese holidays and 调休, overrides, working periods."""

import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import shared_cache
from dispatch import calendar as cal
from dispatch.calendar import (
    add_duration,
    add_working_seconds,
    calendar_coverage,
    is_workday,
    working_seconds_between,
)
from dispatch.models import CalendarOverride

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = 3600


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Iterator[None]:
    # DispatchConfig.ready() will connect them; connecting twice is harmless (dispatch_uid).
    cal.connect_signals()
    cal.reset_cache()
    yield
    cal.reset_cache()


# ---- working days ------------------------------------------------------------------------


def test_every_covered_date_matches_chinese_calendar() -> None:
    first, last = calendar_coverage()
    day = first
    while day <= last:
        assert is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_national_day_2026_and_its_adjusted_working_days() -> None:
    assert all(not is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert is_workday(date(2026, 9, 20))  # Sunday, 调休
    assert is_workday(date(2026, 10, 10))  # Saturday, 调休
    assert not is_workday(date(2026, 10, 11))  # an ordinary Sunday
    # A datetime counts by its Beijing date: 16:00 UTC on Friday 10-09 is Saturday 10-10 there.
    assert is_workday(datetime(2026, 10, 9, 16, tzinfo=UTC))
    assert not is_workday(datetime(2026, 10, 10, 16, tzinfo=UTC))


def test_coverage_and_the_weekend_fallback_beyond_it() -> None:
    assert calendar_coverage() == (date(2004, 1, 1), date(2026, 12, 31))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 1))
    assert is_workday(date(2027, 1, 1))  # a Friday: the package's New Year is unknown here
    assert not is_workday(date(2027, 1, 2))  # Saturday
    assert not is_workday(date(2027, 1, 3))  # Sunday
    # Thursday 2026-12-31 16:30 + 2 h crosses into the fallback.
    assert add_duration(at(2026, 12, 31, 16, 30), 2, "work_hours") == at(2027, 1, 1, 9, 30)


def test_overrides_apply_beyond_coverage() -> None:
    CalendarOverride.objects.create(date=date(2027, 2, 8), is_workday=False, note="春节")
    CalendarOverride.objects.create(date=date(2027, 2, 6), is_workday=True, note="调休")
    assert not is_workday(date(2027, 2, 8))  # Monday
    assert is_workday(date(2027, 2, 6))  # Saturday
    # Friday 16:30: 1 h on Friday, 7.5 h on the working Saturday, 1.5 h on Tuesday.
    assert add_duration(at(2027, 2, 5, 16, 30), 10, "work_hours") == at(2027, 2, 9, 10)


# ---- add_duration ------------------------------------------------------------------------


def test_friday_afternoon_four_work_hours_lands_on_monday_morning() -> None:
    assert add_duration(at(2026, 3, 13, 15, 30), 4, "work_hours") == at(2026, 3, 16, 10, 30)


def test_across_national_day_with_the_adjusted_saturday() -> None:
    # Wednesday 2026-09-30 16:30: 1 h left, then the holiday, then Thursday 10-08 from 08:30.
    assert add_duration(at(2026, 9, 30, 16, 30), 2, "work_hours") == at(2026, 10, 8, 9, 30)
    # Friday 10-09 15:30: 2 h on Friday, 2 h on Saturday 10-10 (调休).
    assert add_duration(at(2026, 10, 9, 15, 30), 4, "work_hours") == at(2026, 10, 10, 10, 30)
    assert working_seconds_between(at(2026, 9, 30, 17, 30), at(2026, 10, 8, 8, 30)) == 0
    # 3 work days from 09-30 10:00: 10-08, 10-09, 10-10.
    assert add_duration(at(2026, 9, 30, 10), 3, "work_days") == at(2026, 10, 10, 10)


def test_adjusted_sunday_september_20() -> None:
    # Friday 09-18 17:00: half an hour on Friday, Saturday off, Sunday 09-20 worked.
    assert add_duration(at(2026, 9, 18, 17), 1, "work_hours") == at(2026, 9, 20, 9)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (at(2026, 3, 16, 7, 0), at(2026, 3, 16, 9, 30)),  # before 08:30
        (at(2026, 3, 16, 12, 30), at(2026, 3, 16, 14, 30)),  # lunch break
        (at(2026, 3, 16, 19, 0), at(2026, 3, 17, 9, 30)),  # after 17:30
        (at(2026, 3, 14, 10, 0), at(2026, 3, 16, 9, 30)),  # Saturday
        (at(2026, 3, 16, 11, 0), at(2026, 3, 16, 12, 0)),  # ends with the period, not 13:30
        (at(2026, 3, 16, 11, 30), at(2026, 3, 16, 14, 0)),  # across lunch
        (at(2026, 3, 16, 17, 0), at(2026, 3, 17, 9, 0)),  # across the night
    ],
)
def test_one_work_hour_from_outside_and_inside_working_time(
    start: datetime, expected: datetime
) -> None:
    assert add_duration(start, 1, "work_hours") == expected


def test_result_is_in_shanghai_whatever_the_start_zone() -> None:
    start = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
    end = add_duration(start, 1, "work_hours")
    assert end == at(2026, 3, 16, 11)
    assert end.tzinfo is not None and end.utcoffset() == timedelta(hours=8)
    assert str(end.tzinfo) == "Asia/Shanghai"


def test_natural_hours_ignore_the_calendar() -> None:
    assert add_duration(at(2026, 10, 3, 22), 4, "natural_hours") == at(2026, 10, 4, 2)
    assert add_duration(at(2026, 10, 3, 22), 0.5, "natural_hours") == at(2026, 10, 3, 22, 30)
    end = add_duration(datetime(2026, 10, 3, 14, tzinfo=UTC), 1, "natural_hours")
    assert end == at(2026, 10, 3, 23) and str(end.tzinfo) == "Asia/Shanghai"


def test_work_days_are_full_days_of_working_periods() -> None:
    assert add_duration(at(2026, 3, 16, 10), 1, "work_days") == at(2026, 3, 17, 10)
    assert add_duration(at(2026, 3, 13, 10), 1, "work_days") == at(2026, 3, 16, 10)
    assert add_duration(at(2026, 3, 16, 8, 30), 1, "work_days") == at(2026, 3, 16, 17, 30)
    # Half a day is half of the 7.5 h: 3 h 45 min.
    assert add_duration(at(2026, 3, 16, 8, 30), 0.5, "work_days") == at(2026, 3, 16, 13, 45)
    assert add_duration(at(2026, 3, 13, 17, 30), 5, "work_days") == at(2026, 3, 20, 17, 30)


def test_fractional_hours_as_used_for_warnings() -> None:
    # 80 % of a 4-hour limit is 3 h 12 min.
    assert add_duration(at(2026, 3, 16, 8, 30), 0.8 * 4, "work_hours") == at(2026, 3, 16, 11, 42)
    assert add_duration(at(2026, 3, 16, 11, 45), 0.5, "work_hours") == at(2026, 3, 16, 13, 45)
    end = at(2026, 3, 16, 9, 0, 3) + timedelta(microseconds=600_000)
    assert add_duration(at(2026, 3, 16, 9), 0.001, "work_hours") == end


def test_zero_duration_is_the_start() -> None:
    start = at(2026, 3, 14, 10)  # Saturday
    assert add_duration(start, 0, "work_hours") == start
    assert add_working_seconds(start, 0) == start


@pytest.mark.parametrize(
    ("amount", "unit"),
    [
        (-1, "work_hours"),
        (float("nan"), "work_hours"),
        (float("inf"), "natural_hours"),
        (2611, "work_days"),
        (2610 * 7.5 + 1, "work_hours"),
        (10 * 366 * 24 + 1, "natural_hours"),
        (1, "work_weeks"),
    ],
)
def test_bad_amounts_and_units_are_refused(amount: float, unit: str) -> None:
    with pytest.raises(ValueError):
        add_duration(at(2026, 3, 16, 9), amount, unit)


def test_ten_years_is_still_accepted() -> None:
    end = add_duration(at(2026, 3, 16, 9), 2610, "work_days")
    assert date(2035, 1, 1) < end.date() < date(2037, 1, 1)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        add_duration(datetime(2026, 3, 16, 9), 1, "work_hours")
    with pytest.raises(ValueError, match="aware"):
        working_seconds_between(datetime(2026, 3, 16, 9), datetime(2026, 3, 16, 10))


# ---- working seconds ---------------------------------------------------------------------


def test_working_seconds_between() -> None:
    assert working_seconds_between(at(2026, 3, 13, 16, 30), at(2026, 3, 16, 9, 30)) == 2 * HOUR
    assert working_seconds_between(at(2026, 3, 16, 9), at(2026, 3, 16, 9)) == 0
    assert working_seconds_between(at(2026, 3, 16, 10), at(2026, 3, 16, 9)) == 0
    assert working_seconds_between(at(2026, 3, 16, 0), at(2026, 3, 17, 0)) == 7.5 * HOUR
    # A week around National Day: 09-28..09-30 and 10-08..10-10 are worked.
    assert working_seconds_between(at(2026, 9, 28), at(2026, 10, 11)) == 6 * 7.5 * HOUR


def test_long_runs_of_days_off_are_crossed() -> None:
    CalendarOverride.objects.bulk_create(
        CalendarOverride(date=date(2026, 4, 1) + timedelta(days=i), is_workday=False)
        for i in range(400)
    )
    cal.reset_cache()  # bulk_create sends no signals
    assert add_duration(at(2026, 3, 31, 17), 1, "work_hours") == at(2027, 5, 6, 9)
    assert working_seconds_between(at(2026, 3, 31, 17), at(2027, 5, 6, 9)) == HOUR


day_in_2026 = st.dates(date(2026, 1, 1), date(2026, 12, 31))
periods = [(8 * 60 + 30, 12 * 60), (13 * 60 + 30, 17 * 60 + 30)]  # minutes


@st.composite
def working_instants(draw: Any) -> datetime:
    day = draw(day_in_2026.filter(chinese_calendar.is_workday))
    first, last = periods[draw(st.integers(0, 1))]
    us = draw(st.integers(first * 60_000_000, last * 60_000_000 - 1))
    return datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(microseconds=us)


any_instant_2026 = st.datetimes(
    datetime(2026, 1, 1), datetime(2026, 12, 31, 23, 59), timezones=st.sampled_from([SHANGHAI, UTC])
)
seconds = st.integers(0, 300 * 27_000)  # up to 300 work days: reaches into 2027


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=working_instants(), n=seconds)
def test_between_inverts_add_from_working_time(start: datetime, n: int) -> None:
    end = add_working_seconds(start, n)
    assert working_seconds_between(start, end) == n
    assert add_working_seconds(start, n) == add_duration(start, n / HOUR, "work_hours")


@settings(max_examples=300, deadline=None)
@given(start=any_instant_2026, n=seconds)
def test_between_inverts_add_from_any_instant(start: datetime, n: int) -> None:
    end = add_working_seconds(start, n)
    assert end >= start
    assert working_seconds_between(start, end) == n


@settings(max_examples=300, deadline=None)
@given(start=any_instant_2026, n1=seconds, n2=seconds)
def test_add_working_seconds_is_monotonic(start: datetime, n1: int, n2: int) -> None:
    n1, n2 = sorted((n1, n2))
    assert add_working_seconds(start, n1) <= add_working_seconds(start, n2)


@settings(max_examples=300, deadline=None)
@given(a=any_instant_2026, b1=any_instant_2026, b2=any_instant_2026)
def test_working_seconds_between_is_monotonic(a: datetime, b1: datetime, b2: datetime) -> None:
    b1, b2 = sorted((b1, b2))
    assert working_seconds_between(a, b1) <= working_seconds_between(a, b2)
    assert working_seconds_between(a, b2) <= (b2 - a).total_seconds() or b2 <= a


# ---- overrides and cache invalidation ------------------------------------------------------


@override_settings(SLA_CALENDAR_REFRESH_SECONDS=3600)  # only the signal can refresh
def test_overrides_are_seen_right_after_save_and_delete() -> None:
    assert not is_workday(date(2026, 10, 1))
    assert is_workday(date(2026, 3, 17))
    CalendarOverride.objects.create(date=date(2026, 10, 1), is_workday=True, note="值守")
    weekday_off = CalendarOverride.objects.create(date=date(2026, 3, 17), is_workday=False)
    assert is_workday(date(2026, 10, 1))
    assert not is_workday(date(2026, 3, 17))
    assert add_duration(at(2026, 9, 30, 16, 30), 2, "work_hours") == at(2026, 10, 1, 9, 30)
    assert add_duration(at(2026, 3, 16, 16, 30), 2, "work_hours") == at(2026, 3, 18, 9, 30)

    weekday_off.delete()
    assert is_workday(date(2026, 3, 17))
    weekday_off = CalendarOverride.objects.get(date=date(2026, 10, 1))
    weekday_off.is_workday = False
    weekday_off.save()
    assert not is_workday(date(2026, 10, 1))


def test_a_commit_bumps_the_shared_version(django_capture_on_commit_callbacks: Any) -> None:
    cache.set(cal.VERSION_KEY, "before", timeout=None)
    with django_capture_on_commit_callbacks(execute=True):
        CalendarOverride.objects.create(date=date(2026, 3, 17), is_workday=False)
    assert cache.get(cal.VERSION_KEY) not in (None, "before")


def test_other_processes_changes_arrive_through_the_version(monkeypatch: Any) -> None:
    day = date(2026, 3, 17)
    with override_settings(SLA_CALENDAR_REFRESH_SECONDS=0):
        assert is_workday(day)
        # Written without signals, as if by another process before its commit hook ran.
        CalendarOverride.objects.bulk_create([CalendarOverride(date=day, is_workday=False)])
        assert is_workday(day)  # same version: the loaded overrides stand
    with override_settings(SLA_CALENDAR_REFRESH_SECONDS=3600):
        cal.reset_cache()
        assert not is_workday(day)
        CalendarOverride.objects.filter(date=day).update(is_workday=True)
        cal.bump_version()
        assert not is_workday(day)  # not checked again before the interval
        later = time.monotonic() + 3601
        monkeypatch.setattr(shared_cache, "monotonic", lambda: later)
        assert is_workday(day)  # the interval has passed: a new version, so a reload


def test_no_queries_once_loaded(django_assert_num_queries: Any) -> None:
    add_duration(at(2026, 3, 16, 9), 4, "work_hours")
    with django_assert_num_queries(0):
        for h in range(1000):
            add_duration(at(2026, 1, 5, 9) + timedelta(hours=h), 4, "work_hours")


# ---- working periods ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "08:30-12:00;13:30-17:30",
        "08:30-12:00,",
        "8h30-12h",
        "12:00-08:30",
        "22:00-02:00",
        "08:30-08:30",
        "08:30-12:00,11:00-14:00",
        "13:30-17:30,08:30-14:00",
        "25:00-26:00",
        "08:60-09:00",
        "24:30-24:45",
    ],
)
def test_malformed_work_periods_are_refused(raw: str) -> None:
    with (
        override_settings(SLA_WORK_PERIODS=raw),
        pytest.raises(ImproperlyConfigured, match=re.escape(repr(raw))),
    ):
        add_duration(at(2026, 3, 16, 9), 1, "work_hours")


def test_work_periods_must_be_a_string() -> None:
    with (
        override_settings(SLA_WORK_PERIODS=["08:30-12:00"]),
        pytest.raises(ImproperlyConfigured),
    ):
        add_duration(at(2026, 3, 16, 9), 1, "work_hours")


def test_other_work_periods() -> None:
    with override_settings(SLA_WORK_PERIODS=" 13:00-18:00 , 09:00-12:00"):
        assert add_duration(at(2026, 3, 16, 11, 30), 1, "work_hours") == at(2026, 3, 16, 13, 30)
        assert add_duration(at(2026, 3, 16, 9), 1, "work_days") == at(2026, 3, 16, 18)
        assert add_duration(at(2026, 3, 16, 10), 1, "work_days") == at(2026, 3, 17, 10)
        assert working_seconds_between(at(2026, 3, 16), at(2026, 3, 17)) == 8 * HOUR
    with override_settings(SLA_WORK_PERIODS="00:00-24:00"):
        assert add_duration(at(2026, 3, 13, 20), 6, "work_hours") == at(2026, 3, 16, 2)
