"""Pieces shared by the field pages (grid worker, department inbox, hotline form).

The pages stay thin: they parse a form, call a service (case_intake, case_act) and show
what the service says. Everything here is presentation: who the actor is, the category
tree for the two-level select, turning service errors into per-field messages, the case
timeline and the photo files, each served only to someone who may see the case.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from cases.models import Attachment, Case, CaseEvent, Category, Urgency
from core.roles import Role
from dispatch import selectors
from dispatch.actors import CENTRE_ROLES, Actor, actor_for
from dispatch.errors import ActionError

from .labels import (
    VERIFY_RESULT_LABELS,
    event_label,
    role_label,
    service_field_errors,
    short,
    status_label,
)

# Event actions that are not transitions of the table, with their timeline labels.
# Roles that may register a hotline call (the intake service's rule) and register a point
# outside the district for transfer.
HOTLINE_ROLES = frozenset({Role.INTAKE_OPERATOR, Role.SHIFT_LEAD, Role.DISPATCHER})
OUTSIDE_ROLES = frozenset({Role.INTAKE_OPERATOR, Role.SHIFT_LEAD})


def service_errors(exc: ActionError) -> dict[str, list[str]]:
    """Per-field messages of a service error; the general message under "__all__"."""
    errors = service_field_errors(exc)
    if not errors:
        errors["__all__"] = [short(exc.message)]
    return errors


def form_errors(form_errors: Any) -> dict[str, list[str]]:
    return {name: [str(m) for m in msgs] for name, msgs in form_errors.items()}


def grid_codes(actor: Actor) -> list[str]:
    return sorted(actor.regions.get(Role.GRID_WORKER, frozenset()))


def in_my_grids(actor: Actor) -> Q:
    """Cases in the regions where the actor works as a grid worker."""
    q = Q(pk__in=[])
    for code in grid_codes(actor):
        q |= Q(grid__code__startswith=code)
    return q


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


def roles_nav(actor: Actor) -> dict[str, object]:
    """Which field pages this user has a use for; drives the page's own navigation."""
    roles = actor.roles
    return {
        "worker": Role.GRID_WORKER in roles,
        "handler": Role.HANDLER in roles,
        "hotline": bool(roles & HOTLINE_ROLES),
        "centre": bool(roles & CENTRE_ROLES),
        "centre_url": centre_url(),
    }


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


# --- the case page: photos and timeline -------------------------------------------------


@dataclass
class TimelineEntry:
    event: CaseEvent
    label: str
    from_label: str
    to_label: str
    role_label: str
    details: list[str] = field(default_factory=list)
    photos: list[Attachment] = field(default_factory=list)


def timeline(case: Case) -> list[TimelineEntry]:
    events = (
        case.events.select_related("actor").prefetch_related("attachments").order_by("at", "id")
    )
    out: list[TimelineEntry] = []
    for ev in events:
        details: list[str] = []
        data = ev.data or {}
        if data.get("department"):
            details.append(f"{_('派遣至')}:{data['department']}")
        if data.get("result"):
            details.append(f"{_('核实结果')}:{VERIFY_RESULT_LABELS.get(data['result'], '')}")
        if data.get("merged_into"):
            details.append(f"{_('合并至')}:{data['merged_into']}")
        if data.get("requested_deadline"):
            details.append(f"{_('申请时限')}:{str(data['requested_deadline'])[:16]}")
        changed = ev.from_status != ev.to_status
        out.append(
            TimelineEntry(
                event=ev,
                label=event_label(ev.action),
                from_label=status_label(ev.from_status) if changed and ev.from_status else "",
                to_label=status_label(ev.to_status) if changed else "",
                role_label=role_label(ev.actor_role),
                details=details,
                photos=list(ev.attachments.all()),
            )
        )
    return out


def photo_groups(case: Case) -> list[tuple[str, list[Attachment]]]:
    """The case's photos by kind: before, after, check, other."""
    groups: dict[str, list[Attachment]] = {}
    for att in case.attachments.all():
        groups.setdefault(att.kind, []).append(att)
    return [(str(label), groups[kind]) for kind, label in Attachment.Kind.choices if kind in groups]
