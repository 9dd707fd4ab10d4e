"""Working-time calendar for SLA clocks: which days are worked, and when, in Asia/Shanghai.

Working days come from `chinese-calendar` (public holidays off, 调休 weekend days on), then
CalendarOverride rows. Past the package's range only weekends are off, plus overrides.
Working periods come from settings.SLA_WORK_PERIODS ("08:30-12:00,13:30-17:30").

Every computation maps an instant to its *working-time position*: the working microseconds
since 0001-01-01. Positions turn sums and differences of working time into arithmetic, so no
call walks day by day: a day's position is a closed-form Mon–Fri count plus a prefix sum over
the few days that differ from Mon–Fri (holidays, 调休, overrides), found by bisection.
"""

import math
import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from functools import lru_cache
from itertools import accumulate, pairwise

import chinese_calendar
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from core.shared_cache import SharedVersionCache

US = 1_000_000  # positions are integer microseconds: sums and inverses stay exact
# About 10 years of Mon–Fri: a longer limit is a data-entry mistake (and refusing it bounds
# every search below).
MAX_WORK_DAYS = 2610
MAX_NATURAL_HOURS = 10 * 366 * 24

_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class WorkPeriods:
    spans: tuple[tuple[int, int, int], ...]  # (start, end, working time before start), µs
    day_us: int  # working µs in one working day

    def before(self, us: int) -> int:
        """Working µs of a working day that have passed at time-of-day `us`."""
        for start, end, done in self.spans:
            if us < end:
                return done + max(0, us - start)
        return self.day_us

    def at(self, r: int) -> int:
        """The earliest time of day (µs) by which `r` (0 < r <= day_us) working µs passed."""
        for start, end, done in self.spans:
            if r <= done + end - start:
                return start + r - done
        raise ValueError(f"{r} µs exceed a working day")


def _clock(h: int, m: int, raw: str) -> int:
    if m > 59 or h * 60 + m > 24 * 60:
        raise ImproperlyConfigured(f"SLA_WORK_PERIODS {raw!r}: {h:02d}:{m:02d} is not a time")
    return (h * 60 + m) * 60 * US


@lru_cache(maxsize=8)
def parse_work_periods(raw: str) -> WorkPeriods:
    """Parse "HH:MM-HH:MM,…" (same-day periods, no overlaps) or raise ImproperlyConfigured."""
    spans: list[tuple[int, int]] = []
    for part in raw.split(","):
        match = _PERIOD.match(part)
        if match is None:
            raise ImproperlyConfigured(
                f"SLA_WORK_PERIODS {raw!r}: {part.strip()!r} is not HH:MM-HH:MM; "
                'expected e.g. "08:30-12:00,13:30-17:30"'
            )
        h1, m1, h2, m2 = map(int, match.groups())
        start, end = _clock(h1, m1, raw), _clock(h2, m2, raw)
        if start >= end:
            raise ImproperlyConfigured(
                f"SLA_WORK_PERIODS {raw!r}: {part.strip()!r} must end after it starts "
                "(periods cannot cross midnight)"
            )
        spans.append((start, end))
    spans.sort()
    for (_, end), (start, _) in pairwise(spans):
        if start < end:
            raise ImproperlyConfigured(f"SLA_WORK_PERIODS {raw!r}: periods overlap")
    done = [sum(e - s for s, e in spans[:i]) for i in range(len(spans) + 1)]
    return WorkPeriods(tuple((s, e, d) for (s, e), d in zip(spans, done, strict=False)), done[-1])


def work_periods() -> WorkPeriods:
    raw = settings.SLA_WORK_PERIODS
    if not isinstance(raw, str):
        raise ImproperlyConfigured(f"SLA_WORK_PERIODS must be a string, not {raw!r}")
    return parse_work_periods(raw)


def _weekday_rule(ordinal: int) -> bool:
    return (ordinal - 1) % 7 < 5  # ordinal 1 (0001-01-01) is a Monday


@lru_cache(maxsize=1)
def calendar_coverage() -> tuple[date, date]:
    """First and last date chinese-calendar knows (it validates by year, so do we)."""
    years = [d.year for d in chinese_calendar.holidays]
    return date(min(years), 1, 1), date(max(years), 12, 31)


def coverage_notice(today: date, *, horizon_days: int = 60) -> date | None:
    """The last date the holiday data knows, when it ends within `horizon_days` of today
    (or has ended): pages say so, since deadlines past it count weekends only plus the
    dates entered in admin."""
    _first, last = calendar_coverage()
    return last if (last - today).days <= horizon_days else None


@lru_cache(maxsize=1)
def _package_exceptions() -> dict[int, bool]:
    """Covered days whose status differs from Mon–Fri, as chinese_calendar.is_workday decides.

    Read from the package's exported tables: calling is_workday on each covered day would
    take 0.2 s per process start. A test checks every covered day against is_workday.
    """
    found = {d.toordinal(): False for d in chinese_calendar.holidays if d.weekday() < 5}
    for d in chinese_calendar.workdays:
        if d.weekday() < 5:
            found.pop(d.toordinal(), None)  # a worked weekday is no exception
        else:
            found[d.toordinal()] = True
    return found


@dataclass(frozen=True)
class _Days:
    exceptions: dict[int, bool]  # ordinal → worked, only where it differs from Mon–Fri
    ordinals: list[int]  # sorted keys of exceptions
    shift: list[int]  # shift[i]: working days gained (+) or lost (−) over ordinals[:i]

    def is_workday(self, ordinal: int) -> bool:
        worked = self.exceptions.get(ordinal)
        return _weekday_rule(ordinal) if worked is None else worked

    def count_before(self, ordinal: int) -> int:
        """Working days in [0001-01-01, ordinal)."""
        m = ordinal - 1
        return 5 * (m // 7) + min(m % 7, 5) + self.shift[bisect_left(self.ordinals, ordinal)]

    def nth_workday(self, n: int, lo: int) -> int:
        """The working day with `n` working days before it; `lo` is at or before it."""
        if self.count_before(lo + 1) > n:
            return lo
        # Gallop (long holidays or admin-made runs of days off cost a few steps), then bisect.
        step, prev = 1, lo  # invariant: count_before(prev + 1) <= n
        for _ in range(32):
            hi = prev + step
            if self.count_before(hi + 1) > n:
                break
            prev, step = hi, step * 2
        else:
            raise ValueError("no working day within reach: check the calendar overrides")
        days = range(prev + 1, hi + 1)
        return days[bisect_left(days, True, key=lambda o: self.count_before(o + 1) > n)]


def _load() -> _Days:
    from dispatch.models import CalendarOverride  # models import nothing from here

    exceptions = dict(_package_exceptions())
    for day, worked in CalendarOverride.objects.values_list("date", "is_workday"):
        ordinal = day.toordinal()
        if worked == _weekday_rule(ordinal):
            exceptions.pop(ordinal, None)
        else:
            exceptions[ordinal] = worked
    ordinals = sorted(exceptions)
    shift = [0, *accumulate(1 if exceptions[o] else -1 for o in ordinals)]
    return _Days(exceptions, ordinals, shift)


def refresh_seconds() -> float:
    """How often a process checks whether cached reference data changed elsewhere."""
    return float(settings.SLA_CALENDAR_REFRESH_SECONDS)


# Overrides live in each process until they change anywhere (see core.shared_cache).
_overrides = SharedVersionCache("dispatch:calendar", _load, refresh_seconds)
VERSION_KEY = _overrides.version_key


def _days() -> _Days:
    return _overrides.get()


def reset_cache() -> None:
    """Forget this process's overrides; the next call reloads them."""
    _overrides.reset()


def bump_version() -> None:
    """Tell every process to reload overrides (call after changing them without signals)."""
    _overrides.bump_version()


def connect_signals() -> None:
    """Connect CalendarOverride's save/delete to invalidation; call from DispatchConfig.ready()."""
    from dispatch.models import CalendarOverride

    _overrides.connect(CalendarOverride)


def is_workday(d: date) -> bool:
    """Whether the local (Asia/Shanghai) date `d` is a working day; a datetime is localised."""
    return _days().is_workday((_local(d) if isinstance(d, datetime) else d).toordinal())


def _local(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"an aware datetime is required, not {dt!r}")
    return dt.astimezone(timezone.get_default_timezone())


def _position(loc: datetime, days: _Days, periods: WorkPeriods) -> int:
    ordinal = loc.toordinal()
    pos = days.count_before(ordinal) * periods.day_us
    if days.is_workday(ordinal):
        second = (loc.hour * 60 + loc.minute) * 60 + loc.second
        pos += periods.before(second * US + loc.microsecond)
    return pos


def _micro(amount: float, scale: float, limit: int) -> int:
    if isinstance(amount, bool) or not math.isfinite(amount) or amount < 0:
        raise ValueError(f"a duration must be a finite number >= 0, not {amount!r}")
    us = round(amount * scale)
    if us > limit:
        raise ValueError(f"a duration of more than about 10 years is refused ({amount!r})")
    return us


def _add_us(start: datetime, us: int, periods: WorkPeriods) -> datetime:
    loc = _local(start)
    if us == 0:
        return loc
    days = _days()
    # The earliest instant whose position reaches the target: a start outside working time
    # counts from the next period start, and a limit ending a period ends at its end.
    n, r = divmod(_position(loc, days, periods) + us, periods.day_us)
    if r == 0:
        n, r = n - 1, periods.day_us
    ordinal = days.nth_workday(n, loc.toordinal())
    midnight = datetime.combine(date.fromordinal(ordinal), dt_time(), tzinfo=loc.tzinfo)
    return midnight + timedelta(microseconds=periods.at(r))


def add_working_seconds(start: datetime, seconds: float) -> datetime:
    """When `seconds` of working time after `start` will have passed (aware, Asia/Shanghai)."""
    periods = work_periods()
    return _add_us(start, _micro(seconds, US, MAX_WORK_DAYS * periods.day_us), periods)


def working_seconds_between(a: datetime, b: datetime) -> int:
    """Whole seconds of working time from `a` to `b`; 0 if `b` is not after `a`."""
    if b <= a:
        return 0
    days, periods = _days(), work_periods()
    return (_position(_local(b), days, periods) - _position(_local(a), days, periods)) // US


def add_duration(start: datetime, amount: float, unit: str) -> datetime:
    """The deadline `amount` `unit`s (a dispatch.models.TimeUnit value) after `start`."""
    if unit == "natural_hours":
        us = _micro(amount, 3600 * US, MAX_NATURAL_HOURS * 3600 * US)
        return _local(start.astimezone(UTC) + timedelta(microseconds=us))
    periods = work_periods()
    limit = MAX_WORK_DAYS * periods.day_us
    if unit == "work_hours":
        return _add_us(start, _micro(amount, 3600 * US, limit), periods)
    if unit == "work_days":
        # 1 work day = one full day of working periods, counted as working time: from Monday
        # 10:00 it ends Tuesday 10:00, and half a day is half of the periods' total.
        return _add_us(start, _micro(amount, periods.day_us, limit), periods)
    raise ValueError(f"unknown time unit {unit!r}")
