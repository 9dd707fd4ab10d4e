"""Who is acting: a user's roles by region and their departments, loaded once per request,
and what they may see: `scope_q`, the one visibility rule every case list, page, tile, API
and count starts from. What they may do is the transition table's `may_act`
(dispatch/workflow.py), read from the same Actor.
"""

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import Exists, OuterRef, Q

from core.roles import Role
from grids.scope import TerritorialScope

from .models import Assignment

CENTRE_ROLES = frozenset({Role.INTAKE_OPERATOR, Role.SHIFT_LEAD, Role.DISPATCHER, Role.LEADER})


@dataclass(frozen=True)
class Actor:
    user: User
    # role → region codes where the user holds it (district 6, street 9, community 12, grid 15)
    regions: dict[str, frozenset[str]] = field(default_factory=dict)
    departments: dict[int, str] = field(default_factory=dict)  # id → name
    region_ids: dict[str, int] = field(default_factory=dict)  # code → id, for plain filters
    department_levels: dict[int, str] = field(default_factory=dict)

    @property
    def roles(self) -> frozenset[str]:
        roles = set(self.regions)
        if self.departments:
            roles.add(Role.HANDLER)
        return frozenset(roles)

    @cached_property
    def territory(self) -> TerritorialScope:
        """The regions where the actor holds any role (grids/scope.py: the same rule every
        app scopes placed rows by)."""
        return TerritorialScope.from_codes(
            self.all_region_codes(), self.region_ids, everything=self.user.is_superuser
        )

    def all_region_codes(self) -> frozenset[str]:
        return frozenset(code for codes in self.regions.values() for code in codes)

    def role_at(self, role: str, code: str) -> bool:
        return code in self.regions.get(role, frozenset())

    def role_covering(self, role: str, code: str | None) -> bool:
        """Holds the role at this region or at any region containing it."""
        if code is None:
            return False
        return any(code.startswith(c) for c in self.regions.get(role, frozenset()))

    def unit_label(self, role: str) -> str:
        if role == Role.HANDLER:
            return ", ".join(sorted(self.departments.values()))
        return ""


# Every request that acts or reads cases needs the actor: region roles and active
# department memberships in one round trip. Plain SQL through Django's cursor: composing
# the same UNION with the ORM cost more than the database spends answering it.
_ACTOR_SQL = """
SELECT 'region', m.role, r.code, m.region_id, ''
  FROM grids_membership m JOIN grids_region r ON r.id = m.region_id
 WHERE m.user_id = %(user)s
UNION ALL
SELECT 'department', '', d.name, d.id, d.level
  FROM dispatch_departmentmembership dm JOIN dispatch_department d ON d.id = dm.department_id
 WHERE dm.user_id = %(user)s AND d.active
"""


def _memberships(user_id: int) -> list[tuple[str, str, str, int, str]]:
    with connection.cursor() as cur:
        cur.execute(_ACTOR_SQL, {"user": user_id})
        return cur.fetchall()


def actor_for(user: User | AnonymousUser) -> Actor:
    if not user.is_authenticated:
        raise PermissionError("anonymous users cannot act")
    assert isinstance(user, User)
    regions: dict[str, set[str]] = {}
    region_ids: dict[str, int] = {}
    departments: dict[int, str] = {}
    levels: dict[int, str] = {}
    for kind, role, name, pk, level in _memberships(user.pk):
        if kind == "region":
            regions.setdefault(role, set()).add(name)
            region_ids[name] = pk
        else:
            departments[pk] = name
            levels[pk] = level
    return Actor(
        user=user,
        regions={r: frozenset(c) for r, c in regions.items()},
        departments=departments,
        department_levels=levels,
        region_ids=region_ids,
    )


def request_actor(request: Any) -> Actor:
    """The Actor of this request (a page's or the API's), loaded once per request."""
    cached: Actor | None = getattr(request, "_chaoyang_actor", None)
    if cached is None:
        cached = actor_for(request.user)
        request._chaoyang_actor = cached
    return cached


def scope_q(actor: Actor) -> Q:
    """The cases an actor may see, as a filter: the district everything; a street, community
    or grid member the cases placed there; a department the cases ever dispatched to it (so a
    handler still sees a case after returning it); and anyone the cases they reported (a grid
    worker who reports a problem just outside their grid still follows it — on the pages,
    through the API, on the map, in every count alike)."""
    territory = actor.territory
    if territory.everything:
        return Q()  # `Q() | x` would narrow everything down to x
    q = Q(reporter_id=actor.user.pk) | territory.q()
    if actor.departments:
        q |= Q(
            Exists(
                Assignment.objects.filter(
                    case=OuterRef("pk"), department_id__in=list(actor.departments)
                )
            )
        )
    return q
