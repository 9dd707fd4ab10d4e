"""The grid profile (网格画像) of a grid, community, street or the district.

It joins the base databases (population.stats) with the open cases of the region
(cases), which is why it lives in the project package: population may not import cases.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Q

from cases.models import FINAL_STATUSES, Case, Light
from grids.models import Level, Region
from population.models import Person, PersonStatus
from population.selectors import PopulationScope
from population.stats import PopulationStats, region_stats


@dataclass
class Child:
    region: Region
    persons: int
    in_scope: bool


@dataclass
class RegionProfile:
    region: Region
    stats: PopulationStats
    open_cases: int
    red_cases: int
    ancestors: list[Region] = field(default_factory=list)  # district first
    children: list[Child] = field(default_factory=list)


def _case_q(region: Region) -> Q:
    if region.level == Level.DISTRICT:
        return Q()
    column = {Level.STREET: "street_id", Level.COMMUNITY: "community_id"}.get(
        Level(region.level), "grid_id"
    )
    return Q(**{column: region.id})


def _children(region: Region, scope: PopulationScope) -> list[Child]:
    """Sub-regions with their living population, from one GROUP BY on the stored street or
    grid column (a street's grids summed per community)."""
    if region.level == Level.GRID:
        return []
    kids = list(Region.objects.filter(parent=region).order_by("code"))
    living = Person.objects.filter(status=PersonStatus.LIVING)
    counts: dict[int | None, int]
    if region.level == Level.DISTRICT:
        counts = dict(living.values_list("street_id").annotate(n=Count("id")).order_by())
    elif region.level == Level.COMMUNITY:
        counts = dict(
            living.filter(grid_id__in=[k.id for k in kids])
            .values_list("grid_id")
            .annotate(n=Count("id"))
            .order_by()
        )
    else:
        by_grid = living.filter(street_id=region.id).values_list("grid_id").annotate(n=Count("id"))
        community_of = dict(
            Region.objects.filter(parent__parent_id=region.id).values_list("id", "parent_id")
        )
        counts = {}
        for grid_id, n in by_grid.order_by():
            community = community_of.get(grid_id)
            counts[community] = counts.get(community, 0) + n
    return [Child(k, counts.get(k.id, 0), scope.covers(k.code)) for k in kids]


def region_profile(region: Region, scope: PopulationScope) -> RegionProfile:
    cases = Case.objects.filter(_case_q(region)).exclude(status__in=FINAL_STATUSES)
    open_counts = cases.aggregate(n=Count("id"), red=Count("id", filter=Q(light=Light.RED)))
    ancestors: list[Region] = []
    parent = region.parent
    while parent is not None:
        ancestors.insert(0, parent)
        parent = parent.parent
    return RegionProfile(
        region=region,
        stats=region_stats(region),
        open_cases=open_counts["n"],
        red_cases=open_counts["red"],
        ancestors=ancestors,
        children=_children(region, scope),
    )
