"""Department inbox: the active tasks of the handler's departments, grouped by what the
handler has to do next. A handler sees their own departments' tasks and nothing else."""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from cases.models import Attachment, Status
from core.roles import Role
from dispatch import selectors
from dispatch.actors import request_actor
from dispatch.models import Assignment
from dispatch.views.field import forbidden

GROUP_LIMIT = 200


@dataclass
class Group:
    key: str
    title: Promise
    hint: Promise
    items: list[Assignment]

    @property
    def count(self) -> int:
        return len(self.items)


def _group_of(a: Assignment) -> str:
    case = a.case
    if a.pending_request:
        return "requests"
    if case.status == Status.DISPATCHED:
        return "new"
    if case.status == Status.ACCEPTED:
        return "rework" if case.rework_count else "progress"
    if case.status == Status.DONE:
        return "done"
    if case.status == Status.PARKED:
        return "parked"
    return "other"


GROUPS = [
    ("new", gettext_lazy("待签收"), gettext_lazy("已派遣到本部门,请尽快签收")),
    ("progress", gettext_lazy("处置中"), gettext_lazy("已签收,处置完成后上传照片反馈")),
    ("rework", gettext_lazy("返工"), gettext_lazy("网格员核查未通过,需重新处置")),
    ("requests", gettext_lazy("待审批申请"), gettext_lazy("延期或挂账申请,等待派遣员审批")),
    ("done", gettext_lazy("已反馈待核查"), gettext_lazy("等待网格员现场核查")),
    ("parked", gettext_lazy("已挂账"), gettext_lazy("长期问题,时限已暂停")),
]


@login_required
@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    if Role.HANDLER not in actor.roles:
        return forbidden(request, _("仅部门处置人员有部门待办。"))
    # Starts from the scoped case selector, then narrows to the active assignment of one of
    # the actor's departments: a case once handled by the department but now elsewhere
    # stays visible in the case page's history, not in the inbox.
    rows = (
        Assignment.objects.filter(
            active=True,
            department_id__in=list(actor.departments),
            case__in=selectors.live(selectors.cases_visible(actor)),
        )
        .select_related("case__category__parent", "case__grid", "case__street", "department")
        .defer("case__grid__boundary", "case__street__boundary")
        .prefetch_related(
            Prefetch(
                "case__attachments",
                queryset=Attachment.objects.order_by("created_at", "id"),
                to_attr="photo_list",
            )
        )
        .order_by("case__deadline", "id")
    )
    buckets: dict[str, list[Assignment]] = {key: [] for key, _t, _h in GROUPS}
    for a in rows[: GROUP_LIMIT * len(GROUPS)]:
        buckets.setdefault(_group_of(a), []).append(a)
    groups = [Group(key, title, hint, buckets[key]) for key, title, hint in GROUPS]
    return render(
        request,
        "dispatch/field/inbox.html",
        {
            "groups": groups,
            "departments": sorted(actor.departments.values()),
            "total": sum(g.count for g in groups),
        },
    )
