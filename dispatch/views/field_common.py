"""Pieces shared by the field pages (grid worker, department inbox, hotline form).

The pages stay thin: they parse a form, call a service (case_intake, case_act) and show
what the service says. Everything here is presentation: which cases the actor sees, the
category tree for the two-level select, where each user starts. The case page itself
(actions, timeline, photos) is dispatch/views/case_view.py, shared with the centre.
"""

from collections import Counter
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.urls import reverse

from cases.models import Case, Category, Urgency
from core.roles import Role
from dispatch import selectors
from dispatch.actors import CENTRE_ROLES, Actor, actor_for
from grids.scope import TerritorialScope

# Who may register a report outside the district, and which channels each role reports
# through, are the intake rule of dispatch/workflow.py (OUTSIDE_ROLES, intake_channels).


def grid_codes(actor: Actor) -> list[str]:
    return sorted(actor.regions.get(Role.GRID_WORKER, frozenset()))


def in_my_grids(actor: Actor) -> Q:
    """Cases in the regions where the actor works as a grid worker (the territorial scope
    of those memberships alone)."""
    return TerritorialScope.from_codes(grid_codes(actor), actor.region_ids).q()


def visible_case(actor: Actor, case_id: int) -> Case | None:
    return selectors.case_get(actor, case_id)


def visible_cases(actor: Actor) -> QuerySet[Case]:
    return selectors.cases_visible(actor)


@dataclass(frozen=True)
class CategoryGroup:
    code: str
    name: str
    children: list[Category]


def category_tree() -> list[CategoryGroup]:
    """Active 大类 with their active 小类, in catalogue order; empty groups left out."""
    groups: dict[int, CategoryGroup] = {}
    parents = list(
        Category.objects.filter(active=True, parent__isnull=True).order_by("sort", "code")
    )
    names = Counter(p.name for p in parents)
    for cat in parents:
        # 市容环境 is both an event and a component group: name the kind to tell them apart.
        label = cat.name if names[cat.name] == 1 else f"{cat.name}({cat.get_kind_display()})"
        groups[cat.id] = CategoryGroup(cat.code, label, [])
    for cat in (
        Category.objects.filter(active=True, parent__isnull=False)
        .select_related("parent")
        .order_by("parent__sort", "parent__code", "sort", "code")
    ):
        if cat.parent_id in groups:
            groups[cat.parent_id].children.append(cat)
    return [g for g in groups.values() if g.children]


def urgency_choices() -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in Urgency.choices]


def centre_url() -> str:
    """The command centre's page."""
    return reverse("dispatch:centre")


def centre_case_url(case_id: int) -> str:
    """The case in the command centre's panel."""
    return reverse("dispatch:centre-case", args=[case_id])


def landing_url(user: User) -> str:
    """Where a user starts after login: the page of their main job."""
    actor = actor_for(user)
    roles = actor.roles
    if roles & CENTRE_ROLES:
        return centre_url()
    if Role.HANDLER in roles:
        return reverse("dispatch:field-inbox")
    if Role.GRID_WORKER in roles:
        return reverse("dispatch:field-tasks")
    return reverse("grids:map")
