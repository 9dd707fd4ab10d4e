"""Every read of cases, already scoped to what the actor may see.

A street sees its street, a grid worker their grids, a department its tasks, the district
everything. The scope is one Q object built from the Actor; every list, map layer, count
and export starts from `cases_visible`.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from cases.models import FINAL_STATUSES, Case
from dispatch.actors import Actor, scope_q
from dispatch.models import Assignment, Department
from dispatch.workflow import TRANSITIONS, may_act

# A case's grid, community and street are loaded for their codes and names only; their
# boundaries (the street's has thousands of vertices) must never ride along.
PLACE_BOUNDARIES = ("grid__boundary", "community__boundary", "street__boundary")


def with_places(qs: QuerySet[Case], *extra: str, prefix: str = "") -> QuerySet[Case]:
    """select_related of the case's places (and `extra` relations), without boundaries."""
    places = [f"{prefix}{p}" for p in ("grid", "community", "street")]
    return qs.select_related(*places, *extra).defer(*(f"{prefix}{b}" for b in PLACE_BOUNDARIES))


def cases_visible(actor: Actor) -> QuerySet[Case]:
    return Case.objects.filter(scope_q(actor))


def case_get(actor: Actor, case_id: int) -> Case | None:
    return (
        with_places(cases_visible(actor), "category__parent", "reporter", "merged_into")
        .filter(id=case_id)
        .first()
    )


def live(qs: QuerySet[Case]) -> QuerySet[Case]:
    return qs.exclude(status__in=FINAL_STATUSES)


@dataclass(frozen=True)
class ActionSpec:
    action: str
    label: str
    required: list[str]
    optional: list[str]
    target_status: str | None


def available_actions(actor: Actor, case: Case) -> list[ActionSpec]:
    """What this actor may do to this case now, with the inputs each action needs."""
    assignment = Assignment.objects.filter(case=case, active=True).first()
    pending = assignment.pending_request if assignment else ""
    dept = assignment.department_id if assignment else None
    return [
        ActionSpec(
            t.action,
            str(t.label),
            sorted(f.value for f in t.required),
            sorted(f.value for f in t.optional),
            t.target.value if t.target else None,
        )
        for t in TRANSITIONS
        if t.allows_state(case, pending) and may_act(actor, t, case, dept)
    ]


def dispatch_targets(case: Case) -> QuerySet[Department]:
    """Departments the case may be dispatched to at its current level, default first."""
    qs = Department.objects.filter(active=True)
    if case.handling_level == "street" and case.street_id:
        qs = qs.filter(level=Department.Level.STREET, region_id=case.street_id)
    else:
        qs = qs.filter(level=Department.Level.DISTRICT)
    return qs.order_by("name")


def default_department(case: Case) -> Department | None:
    """The routing rule: the policy's department kind at the case's level."""
    kind = case.sla_policy.get("department_kind")
    if not kind:
        return None
    return dispatch_targets(case).filter(kind=kind).first()


# Live cases of the same category within the category's radius (on the sphere, as the
# radius is entered) and time window. The box test (&&, in degrees, a little larger than the
# circle) is cheap and can use the location index, so the distance on the sphere is
# computed for the few cases nearby, not for every case of the category in the window,
# however busy the street. Raw SQL because every report asks it.
_DUPLICATES_SQL = """
SELECT id, number, status, address FROM cases_case
 WHERE category_id = %(category)s AND created_at BETWEEN %(since)s AND %(until)s
   AND id <> %(id)s AND NOT (status = ANY(%(final)s))
   AND location && ST_Expand(ST_SetSRID(ST_MakePoint(%(lng)s, %(lat)s), 4326), %(degrees)s)
   AND ST_DWithin(location::geography, ST_SetSRID(ST_MakePoint(%(lng)s, %(lat)s), 4326)::geography,
                  %(radius)s, false)
 ORDER BY created_at, id LIMIT %(limit)s
"""
EARTH_RADIUS_M = 6_371_008.8  # the sphere of ST_DWithin(geography, ..., false)


def box_degrees(lng: float, lat: float, radius_m: float) -> float:
    """Half-width in degrees of a lng/lat box around the point that holds the whole circle
    of `radius_m` on the sphere (with a 1 % margin): the circle's reach in latitude, or in
    longitude, asin(sin δ / cos φ), whichever is larger. A circle that reaches a pole or
    crosses the ±180° meridian gets a box over everything."""
    delta = radius_m * 1.01 / EARTH_RADIUS_M
    dlat = math.degrees(delta)
    cos_lat = math.cos(math.radians(lat))
    if abs(lat) + dlat >= 90 or math.sin(delta) >= cos_lat:
        return 360.0
    half = max(dlat, math.degrees(math.asin(math.sin(delta) / cos_lat)))
    return 360.0 if abs(lng) + half >= 180 else half


@dataclass(frozen=True)
class DuplicateRow:
    id: int
    number: str
    status: str
    address: str


def duplicate_rows(case: Case, limit: int = 10) -> list[DuplicateRow]:
    """Possible duplicates of a case, oldest first: what an intake answer lists."""
    if case.location is None:
        return []
    category = case.category
    window = timedelta(hours=category.duplicate_window_hours)
    params: dict[str, Any] = {
        "category": category.id,
        "since": case.created_at - window,
        "until": case.created_at + window,
        "id": case.id,
        "final": [str(s) for s in FINAL_STATUSES],
        "lng": case.location.x,
        "lat": case.location.y,
        "radius": category.duplicate_radius_m,
        # The box's half-width: the radius in degrees of longitude there (the larger of
        # the two), with a margin for rounding.
        "degrees": box_degrees(case.location.x, case.location.y, category.duplicate_radius_m),
        "limit": limit,
    }
    # Not prepared: a generic plan can't know whether the category's window or the box is
    # the narrower, and picked the wrong index as cases piled up.
    with connection.cursor() as cur:
        cur.execute(_DUPLICATES_SQL, params)
        return [DuplicateRow(*row) for row in cur.fetchall()]


def duplicate_candidates(case: Case, limit: int = 10) -> QuerySet[Case]:
    """The same suggestions as cases, for pages that show more of them."""
    ids = [row.id for row in duplicate_rows(case, limit)]
    return Case.objects.filter(id__in=ids).order_by("created_at", "id")


def changes_since(actor: Actor, since: datetime) -> QuerySet[Case]:
    """Cases changed after `since`, for live pages that poll."""
    return cases_visible(actor).filter(updated_at__gt=since).order_by("updated_at")
