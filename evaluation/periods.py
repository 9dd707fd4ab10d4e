"""Periods of evaluation: a day, week, month, quarter, year or any range of dates.

A period is a half-open span of local time (Asia/Shanghai, the TIME_ZONE): it starts at
midnight of its first day and ends at midnight after its last. docs/evaluation.md states
which date of a case puts it into a period; every indicator applies that one rule.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # exclusive

    def window(self, as_of: datetime) -> tuple[datetime, datetime]:
        """The part of the period that has already happened by `as_of`: what can have
        fallen due."""
        return self.start, max(self.start, min(self.end, as_of))


def _midnight(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min))


def span(first: date, last: date) -> Period:
    """Any range, both days included."""
    return Period(_midnight(first), _midnight(last + timedelta(days=1)))


def day(d: date) -> Period:
    return span(d, d)


def week(d: date) -> Period:
    """The Monday-to-Sunday week holding `d`."""
    monday = d - timedelta(days=d.weekday())
    return span(monday, monday + timedelta(days=6))


def month(year: int, m: int) -> Period:
    nxt = date(year + m // 12, m % 12 + 1, 1)
    return span(date(year, m, 1), nxt - timedelta(days=1))


def quarter(year: int, q: int) -> Period:
    first = month(year, 3 * q - 2)
    return Period(first.start, month(year, 3 * q).end)


def year(y: int) -> Period:
    return span(date(y, 1, 1), date(y, 12, 31))
