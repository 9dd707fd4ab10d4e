"""The command centres' queues: one definition that the queue lists, their counts (pages and
API) and the case list's `queue` filter all read, so a badge never counts a case its list
does not show.

A street centre works through the loop's steps for its street; the district centre works on
what streets escalated, what it dispatched itself, and what is supervised.
"""

from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases.models import Light, Status
from dispatch.actors import CENTRE_ROLES, Actor
from dispatch.models import Assignment
from dispatch.selectors import cases_visible, live
from grids.models import Region

AT_STREET = Q(handling_level="street")
AT_DISTRICT = Q(handling_level="district")
PENDING_REQUEST = Q(
    Exists(Assignment.objects.filter(case=OuterRef("pk"), active=True).exclude(pending_request=""))
)


@dataclass(frozen=True)
class Queue:
    key: str
    label: Promise
    q: Q


STREET_QUEUES = (
    Queue("new", _("新上报"), Q(status=Status.REPORTED)),
    Queue("verifying", _("待核实"), Q(status=Status.VERIFYING)),
    Queue("unconfirmed", _("核实未发现"), Q(status=Status.UNCONFIRMED)),
    Queue(
        "to_open",
        _("待立案"),
        Q(status=Status.VERIFIED) | Q(status=Status.REPORTED, verification_required=False),
    ),
    # Escalated cases are the district's to dispatch.
    Queue("to_dispatch", _("待派遣"), Q(status=Status.OPEN) & AT_STREET),
    Queue("returned", _("已回退"), Q(status=Status.RETURNED) & AT_STREET),
    Queue("to_check", _("待核查"), Q(status=Status.DONE)),
    Queue("to_close", _("待结案"), Q(status=Status.CHECKED)),
    Queue("requests", _("延期/挂账申请"), PENDING_REQUEST & AT_STREET),
    Queue("overdue", _("超期(红灯)"), Q(light=Light.RED)),
    Queue("supervised", _("督办"), Q(supervised=True)),
)
# Returns and requests count only where the district handles the case.
DISTRICT_QUEUES = (
    Queue(
        "escalated",
        _("街道上报待派遣"),
        Q(status=Status.ESCALATED) | (Q(status=Status.OPEN) & AT_DISTRICT),
    ),
    Queue("supervised", _("督办"), Q(supervised=True)),
    Queue("overdue", _("超期(红灯)"), Q(light=Light.RED)),
    Queue("returned", _("区级部门回退"), Q(status=Status.RETURNED) & AT_DISTRICT),
    Queue("requests", _("延期/挂账申请"), PENDING_REQUEST & AT_DISTRICT),
    Queue(
        "in_progress",
        _("区级在办"),
        AT_DISTRICT & Q(status__in=[Status.DISPATCHED, Status.ACCEPTED, Status.DONE]),
    ),
)
QUEUE_KEYS = tuple(dict.fromkeys(q.key for q in (*STREET_QUEUES, *DISTRICT_QUEUES)))


@dataclass(frozen=True)
class Centre:
    level: Literal["street", "district"]
    region: Region
    queues: tuple[Queue, ...]

    def queue(self, key: str) -> Queue | None:
        return next((q for q in self.queues if q.key == key), None)


def centre_for(actor: Actor) -> Centre | None:
    """The centre a user works in: the district's if they hold a centre role there, else
    their street's; None without a centre role."""
    home = settings.HOME_DISTRICT_CODE
    codes = {c for role in CENTRE_ROLES for c in actor.regions.get(role, frozenset())}
    if home in codes:
        region = Region.objects.only("id", "code", "name").get(code=home)
        return Centre("district", region, DISTRICT_QUEUES)
    streets = sorted(c for c in codes if len(c) == 9)
    if not streets:
        return None
    region = Region.objects.only("id", "code", "name").get(code=streets[0])
    return Centre("street", region, STREET_QUEUES)


def queue_counts(actor: Actor, centre: Centre) -> dict[str, int]:
    """Live cases in each of the centre's queues, and all live cases ("total"): one query."""
    aggregates = {q.key: Count("id", filter=q.q) for q in centre.queues}
    return live(cases_visible(actor)).aggregate(total=Count("id"), **aggregates)
