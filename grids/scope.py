"""The territorial scope: which rows placed in the territory someone may see.

A member of the home district sees everything, of a street its street, of a community its
community, of a unit grid that grid; several memberships add up. The scope is judged by
the street, community and grid ids stored on each row at write time (grids.models.Placed),
so every filter is a plain indexed column. It is one value, built from a user's
memberships (`scope_for_user`), from region codes and ids someone has already loaded
(`TerritorialScope.from_codes`), or for one region (`TerritorialScope.of_region`), and
turned into a filter by `q()`.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q

from .models import CODE_LENGTH, Level, Membership, Region

LEVEL_OF_LENGTH = {length: level for level, length in CODE_LENGTH.items()}


@dataclass(frozen=True)
class TerritorialScope:
    """Everything, or some streets, communities and grids (by id)."""

    everything: bool = False
    street_ids: frozenset[int] = frozenset()
    community_ids: frozenset[int] = frozenset()
    grid_ids: frozenset[int] = frozenset()
    # The codes of those regions (all the codes given, for everything), for `covers`.
    codes: frozenset[str] = frozenset()
    # The unit grids of `community_ids`, when already looked up: for rows that store their
    # grid and street but no community (people, housing units). None: not looked up.
    community_grid_ids: frozenset[int] | None = None

    @classmethod
    def from_codes(
        cls, codes: Iterable[str], ids: Mapping[str, int], *, everything: bool = False
    ) -> "TerritorialScope":
        """The scope of memberships given by region code, with `ids[code]` the region's id.

        The level of a code is its length (DB11/T 2157: street 9, community 12, grid 15).
        The home district's code, or `everything=True` (a superuser), gives everything;
        another district's code, or a code without an id, gives nothing of its own.
        """
        codes = frozenset(codes)
        if everything or settings.HOME_DISTRICT_CODE in codes:
            return cls(everything=True, codes=codes)
        found: dict[Level, set[int]] = {
            level: set() for level in (Level.STREET, Level.COMMUNITY, Level.GRID)
        }
        used = set()
        for code in codes:
            level = LEVEL_OF_LENGTH.get(len(code))
            if level in found and code in ids:
                found[level].add(ids[code])
                used.add(code)
        return cls(
            street_ids=frozenset(found[Level.STREET]),
            community_ids=frozenset(found[Level.COMMUNITY]),
            grid_ids=frozenset(found[Level.GRID]),
            codes=frozenset(used),
        )

    @classmethod
    def of_region(cls, region: Region) -> "TerritorialScope":
        """The rows inside one region (any level), e.g. to narrow a list to it."""
        return cls.from_codes([region.code], {region.code: region.id})

    @property
    def empty(self) -> bool:
        """Nothing at all in scope."""
        return not (self.everything or self.street_ids or self.community_ids or self.grid_ids)

    def q(self, prefix: str = "", *, community: bool = True) -> Q:
        """The rows in scope, as a filter on their stored street_id, community_id, grid_id.

        `prefix` reaches the columns through a relation ("person__" filters care tags by
        their person's place). `community=False` is for rows that store no community: a
        community's rows are then those of its unit grids, looked up beforehand
        (`with_community_grids`) or, if not, by a semi-join on the grids' parent.

        Everything is `Q()`, and `Q() | other` is `other`: test `everything` before
        widening the filter with an OR. Nothing is a filter that matches no row.
        """
        if self.everything:
            return Q()
        q = Q(pk__in=[])
        if self.street_ids:
            q |= Q(**{f"{prefix}street_id__in": sorted(self.street_ids)})
        grids = set(self.grid_ids)
        if self.community_ids and community:
            q |= Q(**{f"{prefix}community_id__in": sorted(self.community_ids)})
        elif self.community_ids and self.community_grid_ids is not None:
            grids |= self.community_grid_ids
        elif self.community_ids:
            q |= Q(
                **{
                    f"{prefix}grid_id__in": Region.objects.filter(
                        parent_id__in=sorted(self.community_ids), level=Level.GRID
                    ).values("id")
                }
            )
        if grids:
            q |= Q(**{f"{prefix}grid_id__in": sorted(grids)})
        return q

    def with_community_grids(self) -> "TerritorialScope":
        """The same scope with the unit grids of its communities looked up (one query), so
        `q(community=False)` filters by a list of grid ids the planner estimates well."""
        if not self.community_ids or self.community_grid_ids is not None:
            return self
        grids = Region.objects.filter(
            parent_id__in=sorted(self.community_ids), level=Level.GRID
        ).values_list("id", flat=True)
        return replace(self, community_grid_ids=frozenset(grids))

    def covers(self, code: str) -> bool:
        """Whether a region (by code) lies wholly inside the scope. Everything is the home
        district's territory: a neighbouring district holds none of its rows."""
        if self.everything:
            return code.startswith(settings.HOME_DISTRICT_CODE)
        return any(code.startswith(c) for c in self.codes)


EVERYTHING = TerritorialScope(everything=True)
NOTHING = TerritorialScope()


def scope_for_user(user: AbstractBaseUser | AnonymousUser) -> TerritorialScope:
    """The scope of a user's region memberships (any role), with the grids of their
    communities looked up; a superuser sees everything, an anonymous user nothing.

    Department handlers have no region membership: their scope is empty (what they act
    on comes from their departments, outside the territory).
    """
    if not user.is_authenticated:
        return NOTHING
    if getattr(user, "is_superuser", False):
        return EVERYTHING
    ids = dict(Membership.objects.filter(user_id=user.pk).values_list("region__code", "region_id"))
    return TerritorialScope.from_codes(ids, ids).with_community_grids()
