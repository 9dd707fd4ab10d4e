"""The grid profile (网格画像) of a grid, community, street or the district.

It joins the base databases (population.stats) with the open cases of the region
(cases), which is why it lives in the project package: population may not import cases.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Q

from cases.models import FINAL_STATUSES, Case, Light
from grids.models import Level, Region
from grids.scope import TerritorialScope
from population.stats import PopulationStats, region_stats_cached


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


def _children(region: Region, stats: PopulationStats, scope: TerritorialScope) -> list[Child]:
    """Sub-regions with their living population, from the profile's own counts per street
    (district) or per grid (a street's grids summed per community)."""
    if region.level == Level.GRID:
        return []
    kids = list(Region.objects.filter(parent=region).defer("boundary").order_by("code"))
    counts: dict[int | None, int] = dict(stats.by_area)
    if region.level == Level.STREET:
        community_of = dict(
            Region.objects.filter(parent__parent_id=region.id).values_list("id", "parent_id")
        )
        counts = {}
        for grid_id, n in stats.by_area.items():
            community = community_of.get(grid_id) if grid_id is not None else None
            counts[community] = counts.get(community, 0) + n
    return [Child(k, counts.get(k.id, 0), scope.covers(k.code)) for k in kids]


def region_profile(region: Region, scope: TerritorialScope) -> RegionProfile:
    cases = Case.objects.filter(TerritorialScope.of_region(region).q())
    cases = cases.exclude(status__in=FINAL_STATUSES)
    open_counts = cases.aggregate(n=Count("id"), red=Count("id", filter=Q(light=Light.RED)))
    ancestors: list[Region] = []
    parent = region.parent
    while parent is not None:
        ancestors.insert(0, parent)
        parent = parent.parent
    stats = region_stats_cached(region)
    return RegionProfile(
        region=region,
        stats=stats,
        open_cases=open_counts["n"],
        red_cases=open_counts["red"],
        ancestors=ancestors,
        children=_children(region, stats, scope),
    )
