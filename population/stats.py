"""The population side of a region's profile (网格画像): grouped counts and its buildings.

Every figure is one GROUP BY over a table filtered by its stored grid or street, so a
street of a million-person district reads tens of thousands of rows through an index, not
the whole table. The caller decides whether the user may see the region.
"""

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import Count, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from grids.models import Level, Region

from .models import (
    Building,
    CareTag,
    HousingUnit,
    HousingUse,
    Organisation,
    Person,
    PersonStatus,
    Sex,
)
from .selectors import region_q

BAND_YEARS = 5
LAST_BAND = 18  # 90 and over
MAX_MAP_BUILDINGS = 5000


@dataclass
class PopulationStats:
    total: int = 0
    local: int = 0
    floating: int = 0
    # One entry per five-year band from 0–4 to 90+: (label, men, women).
    pyramid: list[tuple[str, int, int]] = field(default_factory=list)
    care: dict[str, int] = field(default_factory=dict)  # tag → people
    housing: dict[str, int] = field(default_factory=dict)  # use → units
    housing_total: int = 0
    rented_share: float | None = None
    organisations: dict[str, int] = field(default_factory=dict)  # kind → count
    buildings: int = 0


def band_label(band: int) -> str:
    if band >= LAST_BAND:
        return f"{LAST_BAND * BAND_YEARS}+"
    return f"{band * BAND_YEARS}-{band * BAND_YEARS + BAND_YEARS - 1}"


def region_stats(region: Region, *, today: date | None = None) -> PopulationStats:
    today = today or timezone.localdate()
    stats = PopulationStats()
    living = Person.objects.filter(region_q(region), status=PersonStatus.LIVING)

    for hukou, n in living.values_list("hukou").annotate(n=Count("id")).order_by():
        stats.total += n
        if hukou == "local":
            stats.local = n
        elif hukou == "floating":
            stats.floating = n

    band = RawSQL(
        "LEAST(date_part('year', age(%s::date, birth_date))::int / %s, %s)",
        (today, BAND_YEARS, LAST_BAND),
    )
    counts: dict[tuple[str, int], int] = {}
    for sex, b, n in (
        living.annotate(band=band).values_list("sex", "band").annotate(n=Count("id")).order_by()
    ):
        counts[(sex, max(0, b))] = counts.get((sex, max(0, b)), 0) + n
    stats.pyramid = [
        (band_label(b), counts.get((Sex.MALE, b), 0), counts.get((Sex.FEMALE, b), 0))
        for b in range(LAST_BAND + 1)
    ]

    care = CareTag.objects.filter(
        Q(until__isnull=True) | Q(until__gte=today),
        region_q(region, grid="person__grid_id", street="person__street_id"),
        person__status=PersonStatus.LIVING,
    )
    stats.care = dict(care.values_list("tag").annotate(n=Count("id")).order_by())

    units = HousingUnit.objects.filter(region_q(region))
    stats.housing = dict(units.values_list("use").annotate(n=Count("id")).order_by())
    stats.housing_total = sum(stats.housing.values())
    if stats.housing_total:
        stats.rented_share = stats.housing.get(HousingUse.RENTED, 0) / stats.housing_total

    orgs = Organisation.objects.filter(_located_q(region))
    stats.organisations = dict(orgs.values_list("kind").annotate(n=Count("id")).order_by())
    stats.buildings = Building.objects.filter(_located_q(region)).count()
    return stats


def _located_q(region: Region) -> Q:
    """Buildings and organisations store their community too: no semi-join needed."""
    if region.level == Level.COMMUNITY:
        return Q(community_id=region.id)
    return region_q(region)


def buildings_geojson(region: Region, *, limit: int = MAX_MAP_BUILDINGS) -> str:
    """The buildings of one region as a GeoJSON FeatureCollection (footprint, else point),
    with their address, housing units and residents; capped for the map."""
    qs = Building.objects.filter(_located_q(region)).filter(
        Q(location__isnull=False) | Q(footprint__isnull=False)
    )
    sql, params = qs.values("id").order_by("id")[:limit].query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(
            f"""
            SELECT json_build_object(
                'type', 'FeatureCollection',
                'features', coalesce(json_agg(json_build_object(
                    'type', 'Feature',
                    'id', b.id,
                    'geometry', ST_AsGeoJSON(coalesce(b.footprint, b.location), 6)::json,
                    'properties', json_build_object(
                        'address', b.address,
                        'name', b.name,
                        'units', (SELECT count(*) FROM population_housingunit u
                                  WHERE u.building_id = b.id),
                        'residents', (SELECT count(DISTINCT r.person_id)
                                      FROM population_residence r
                                      JOIN population_housingunit u ON u.id = r.unit_id
                                      WHERE u.building_id = b.id AND r.until IS NULL)
                    )
                ) ORDER BY b.id), '[]'::json)
            )
            FROM population_building b
            WHERE b.id IN ({sql})
            """,
            params,
        )
        row = cur.fetchone()
    return row[0] if isinstance(row[0], str) else json.dumps(row[0])


def stats_as_dict(stats: PopulationStats) -> dict[str, Any]:
    """Plain data for the page's charts (json_script)."""
    return {
        "pyramid": {
            "bands": [b for b, _, _ in stats.pyramid],
            "men": [m for _, m, _ in stats.pyramid],
            "women": [w for _, _, w in stats.pyramid],
        },
        "housing": stats.housing,
        "organisations": stats.organisations,
    }
