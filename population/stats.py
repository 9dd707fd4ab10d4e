"""The population side of a region's profile (网格画像): grouped counts and its buildings.

Every figure is one GROUP BY over a table filtered by its stored grid or street, so a
street of a million-person district reads tens of thousands of rows through an index, not
the whole table. The caller decides whether the user may see the region.
"""

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from grids.models import Level, Region
from grids.scope import TerritorialScope

from .models import (
    Building,
    CareTag,
    HousingUnit,
    HousingUse,
    Hukou,
    Organisation,
    Person,
    PersonStatus,
    Residence,
    Sex,
)

BAND_YEARS = 5
LAST_BAND = 18  # 90 and over
MAX_MAP_BUILDINGS = 5000
STATS_CACHE_SECONDS = 120


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
    # Living people per street (for the district) or per grid (below), from the same pass.
    by_area: dict[int | None, int] = field(default_factory=dict)


def band_label(band: int) -> str:
    if band >= LAST_BAND:
        return f"{LAST_BAND * BAND_YEARS}+"
    return f"{band * BAND_YEARS}-{band * BAND_YEARS + BAND_YEARS - 1}"


def age_band(birth_year: int, today: date) -> int:
    """The five-year band of someone born in `birth_year`, by the age reached this year
    (only the year of birth is kept); 90 and over share the last band."""
    return min((today.year - birth_year) // BAND_YEARS, LAST_BAND)


def region_stats_cached(region: Region) -> PopulationStats:
    """region_stats, kept a couple of minutes for a street or the district: their
    figures take a scan of tens of thousands to a million rows. Grids and communities are
    cheap and always fresh. Any write to the base databases changes the key, so an import
    or a reseed shows at once (give or take the server's statistics flush, about a second).
    """
    if region.level > Level.STREET:
        return region_stats(region)
    key = f"population:stats:{region.code}:{timezone.localdate()}:{_write_stamp()}"
    stats: PopulationStats | None = cache.get(key)
    if stats is None:
        stats = region_stats(region)
        cache.set(key, stats, STATS_CACHE_SECONDS)
    return stats


_STAT_TABLES = [
    "population_person",
    "population_caretag",
    "population_residence",
    "population_housingunit",
    "population_building",
    "population_organisation",
]


def _write_stamp() -> int:
    """Rows inserted, updated and deleted in the base databases so far (the server's
    cumulative statistics: a catalog read, no table scan)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint "
            "FROM pg_stat_user_tables WHERE relname = ANY(%s)",
            [_STAT_TABLES],
        )
        return int(cur.fetchone()[0])


def region_stats(region: Region, *, today: date | None = None) -> PopulationStats:
    today = today or timezone.localdate()
    stats = PopulationStats()
    within = TerritorialScope.of_region(region)
    living = Person.objects.filter(within.q(community=False), status=PersonStatus.LIVING)
    # One pass over the region's people: registration × sex × age band (age_band in SQL;
    # integer division, as the ages are never negative).
    band = RawSQL("LEAST((%s - birth_year) / %s, %s)", (today.year, BAND_YEARS, LAST_BAND))
    area = "street_id" if region.level == Level.DISTRICT else "grid_id"
    counts: dict[tuple[str, int], int] = {}
    for area_id, hukou, sex, b, n in (
        living.annotate(band=band)
        .values_list(area, "hukou", "sex", "band")
        .annotate(n=Count("id"))
        .order_by()
    ):
        stats.by_area[area_id] = stats.by_area.get(area_id, 0) + n
        stats.total += n
        if hukou == Hukou.LOCAL:
            stats.local += n
        elif hukou == Hukou.FLOATING:
            stats.floating += n
        counts[(sex, b)] = counts.get((sex, b), 0) + n
    stats.pyramid = [
        (band_label(b), counts.get((Sex.MALE, b), 0), counts.get((Sex.FEMALE, b), 0))
        for b in range(LAST_BAND + 1)
    ]

    care = CareTag.objects.filter(
        Q(until__isnull=True) | Q(until__gte=today),
        within.q("person__", community=False),
        person__status=PersonStatus.LIVING,
    )
    stats.care = dict(care.values_list("tag").annotate(n=Count("id")).order_by())

    units = HousingUnit.objects.filter(within.q(community=False))
    stats.housing = dict(units.values_list("use").annotate(n=Count("id")).order_by())
    stats.housing_total = sum(stats.housing.values())
    if stats.housing_total:
        stats.rented_share = stats.housing.get(HousingUse.RENTED, 0) / stats.housing_total

    # Buildings and organisations store their community too: no semi-join for one.
    orgs = Organisation.objects.filter(within.q())
    stats.organisations = dict(orgs.values_list("kind").annotate(n=Count("id")).order_by())
    stats.buildings = Building.objects.filter(within.q()).count()
    return stats


def buildings_geojson(region: Region, *, limit: int = MAX_MAP_BUILDINGS) -> str:
    """The buildings of one region as a GeoJSON FeatureCollection (footprint, else point),
    with their address and housing units (and, for a grid or community, current
    residents); capped for the map."""
    within = TerritorialScope.of_region(region)
    if within.empty:  # another district: none of the rows lie in it
        return json.dumps({"type": "FeatureCollection", "features": []})
    qs = Building.objects.filter(within.q()).filter(
        Q(location__isnull=False) | Q(footprint__isnull=False)
    )
    b_sql, b_params = qs.values("id").order_by("id")[:limit].query.sql_with_params()
    # Units and residents are counted once per table through the region's own indexed
    # columns (grouped), not by a subquery per building.
    units = HousingUnit.objects.filter(within.q(community=False)).values("building_id")
    u_sql, u_params = units.annotate(n=Count("id")).order_by().query.sql_with_params()
    if region.level >= Level.COMMUNITY:
        residents = Residence.objects.filter(
            within.q("unit__", community=False),
            until__isnull=True,
        ).values(building_id=F("unit__building_id"))
        r_sql, r_params = (
            residents.annotate(n=Count("person_id", distinct=True)).order_by().query
        ).sql_with_params()
    else:
        # A street's residents per building would join a hundred thousand residences for
        # a map label: the street's map shows units only.
        r_sql, r_params = "SELECT NULL::bigint AS building_id, NULL::bigint AS n WHERE FALSE", ()
    with connection.cursor() as cur:
        cur.execute(
            f"""
            WITH b AS ({b_sql}), units AS ({u_sql}), residents AS ({r_sql})
            SELECT json_build_object(
                'type', 'FeatureCollection',
                'features', coalesce(json_agg(json_build_object(
                    'type', 'Feature',
                    'id', x.id,
                    'geometry', ST_AsGeoJSON(coalesce(x.footprint, x.location), 6)::json,
                    'properties', json_build_object(
                        'address', x.address,
                        'name', x.name,
                        'units', coalesce(units.n, 0),
                        'residents', residents.n
                    )
                ) ORDER BY x.id), '[]'::json)
            )
            FROM population_building x
            JOIN b ON b.id = x.id
            LEFT JOIN units ON units.building_id = x.id
            LEFT JOIN residents ON residents.building_id = x.id
            """,
            (*b_params, *u_params, *r_params),
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
