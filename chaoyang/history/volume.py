"""When, where and what: the rhythm of reports over the year, the week and the day, each
grid's share (its people, where the base databases have them, else its area), the category
mix and the channels. All drawn from one seeded random stream."""

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db.models import Count
from django.utils import timezone

from cases.models import Category, Source, Urgency
from grids.models import Level, Region
from population.models import Person

# Reports per day relative to the year's mean: more in summer (rain, greenery, night
# markets), fewest in the Spring Festival month.
MONTH = {1: 0.8, 2: 0.6, 3: 0.9, 4: 1.0, 5: 1.1, 6: 1.2, 7: 1.25, 8: 1.2, 9: 1.05, 10: 0.9,
         11: 0.95, 12: 0.85}  # fmt: skip
WEEKDAY = (1.1, 1.05, 1.0, 1.0, 1.0, 0.65, 0.6)  # Monday first
# Reports by hour of day: patrols in the morning and afternoon, calls into the evening.
HOUR = (0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 2.2, 3.0, 3.0, 2.6, 1.4, 1.6, 2.8, 3.0,
        2.7, 2.0, 1.3, 1.1, 0.9, 0.7, 0.5, 0.3)  # fmt: skip
SOURCES = ((Source.GRID_WORKER, 0.55), (Source.HOTLINE, 0.28), (Source.PATROL, 0.08),
           (Source.WEB, 0.05), (Source.OPEN311, 0.02), (Source.TRANSFER, 0.02))  # fmt: skip
URGENCIES = ((Urgency.NORMAL, 0.9), (Urgency.URGENT, 0.08), (Urgency.CRITICAL, 0.02))


@dataclass(frozen=True)
class Grid:
    id: int
    code: str
    community_id: int
    street_id: int
    street_code: str
    place: str  # street and community name, for addresses


@dataclass(frozen=True)
class Draw:
    """One case to generate, before its walk."""

    at: datetime
    grid: Grid
    category: tuple[int, str, str]  # id, code, name
    urgency: str
    source: str


def grids() -> tuple[list[Grid], list[float]]:
    """Every unit grid with its weight: its people, or its area when there are none."""
    rows = (
        Region.objects.filter(level=Level.GRID)
        .order_by("code")
        .values_list(
            "id", "code", "parent_id", "parent__parent_id", "parent__parent__code",
            "parent__parent__name", "parent__name", "area_m2",
        )
    )  # fmt: skip
    people = dict(
        Person.objects.values("grid_id").annotate(n=Count("id")).values_list("grid_id", "n")
    )
    out, weights = [], []
    for gid, code, cid, sid, scode, sname, cname, area in rows:
        out.append(Grid(gid, code, cid or 0, sid or 0, scode, f"{sname}{cname}"))
        weights.append(float(people.get(gid, 0)) if people else max(float(area), 1.0))
    return out, weights


def categories(rng: random.Random) -> tuple[list[tuple[int, str, str]], list[float]]:
    """Active 小类 (id, code, name) and a long-tailed mix over them."""
    leaves = list(
        Category.objects.filter(parent__isnull=False, active=True)
        .order_by("code")
        .values_list("id", "code", "name")
    )
    order = list(range(len(leaves)))
    rng.shuffle(order)  # which categories are common is itself drawn from the seed
    weights = [0.0] * len(leaves)
    for rank, i in enumerate(order):
        weights[i] = 1.0 / (rank + 1) ** 0.8
    return leaves, weights


def times(rng: random.Random, n: int, start: datetime, end: datetime) -> list[datetime]:
    """n report times between start and end, in order, with the year's, week's and day's
    rhythm (local time)."""
    days, weights = [], []
    day = timezone.localtime(start).date()
    while day <= timezone.localtime(end).date():
        days.append(day)
        weights.append(MONTH[day.month] * WEEKDAY[day.weekday()])
        day += timedelta(days=1)
    out = []
    tz = timezone.get_current_timezone()
    hours = list(range(24))
    for d in rng.choices(days, weights, k=n):
        h = rng.choices(hours, HOUR)[0]
        at = datetime.combine(d, time(h), tzinfo=tz) + timedelta(seconds=rng.uniform(0, 3600))
        out.append(min(max(at, start), end))
    return sorted(out)


def draws(rng: random.Random, n: int, start: datetime, end: datetime) -> list[Draw]:
    grid_list, grid_weights = grids()
    leaves, cat_weights = categories(rng)
    at = times(rng, n, start, end)
    gs = rng.choices(grid_list, grid_weights, k=n)
    cats = rng.choices(leaves, cat_weights, k=n)
    srcs = rng.choices([s for s, _ in SOURCES], [w for _, w in SOURCES], k=n)
    urg = rng.choices([u for u, _ in URGENCIES], [w for _, w in URGENCIES], k=n)
    return [Draw(at[i], gs[i], cats[i], urg[i], srcs[i]) for i in range(n)]
