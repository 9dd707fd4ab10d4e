"""Street and district command centres: the map of open cases, the queues, the case panel.

Thin views: every read starts from dispatch.selectors (scoped to the actor), every change
goes through transitions.case_act. The page works without JavaScript (queue and case
links are plain URLs); centre.js loads the same URLs as fragments, draws the map and
polls for changes.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.gis.db.models.functions import Envelope
from django.core.paginator import Paginator
from django.db import models
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from cases.models import Case, Light
from dispatch import calendar, case_tiles, queues, selectors
from dispatch.actors import Actor, request_actor
from dispatch.errors import Conflict, Forbidden, Invalid, NotFound
from dispatch.queues import Centre, Queue, centre_for
from dispatch.services.transitions import case_act
from dispatch.workflow import BY_ACTION
from grids.models import Region

from .case_view import UNKNOWN_ACTION, ActionForm, kept_values
from .centre_panel import panel_context
from .labels import form_errors, service_errors

POLL_MS = 3000
PAGE_SIZE = 25


STALE_MESSAGE = gettext_lazy("案件已被他人处理,以下是最新状态,请核对后再操作。")


@dataclass(frozen=True)
class Ctx:
    actor: Actor
    centre: Centre


View = Callable[..., HttpResponseBase]


def centre_view(view: View) -> View:
    """Login required; users without a command-centre role get a page that says so."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        actor = request_actor(request)
        centre = centre_for(actor)
        if centre is None:
            return render(request, "dispatch/centre/no_role.html", status=403)
        return view(request, Ctx(actor, centre), *args, **kwargs)

    return wrapper


def live_cases(actor: Actor) -> QuerySet[Case]:
    return selectors.live(selectors.cases_visible(actor))


def queue_counts(ctx: Ctx) -> dict[str, int]:
    return queues.queue_counts(ctx.actor, ctx.centre)


def is_fragment(request: HttpRequest) -> bool:
    """centre.js asks for fragments; a plain link or form post gets a whole page."""
    return request.headers.get("X-Requested-With") == "fetch"


# --- the page ---------------------------------------------------------------------------


def _bbox(region: Region) -> list[float] | None:
    env = Region.objects.filter(id=region.id).annotate(e=Envelope("boundary")).first()
    if env is None or env.e is None:
        return None
    w, s, e, n = env.e.extent
    return [w, s, e, n]


def _queue_page(ctx: Ctx, queue: Queue, page: str | None) -> dict[str, Any]:
    # The most urgent first: red, then yellow, then by deadline.
    rank = models.Case(
        models.When(light=Light.RED, then=0), models.When(light=Light.YELLOW, then=1), default=2
    )
    qs = (
        live_cases(ctx.actor)
        .filter(queue.q)
        .select_related("category", "street")
        .defer("street__boundary")
        .annotate(rank=rank)
        .order_by("rank", models.F("deadline").asc(nulls_last=True), "id")
    )
    paginator = Paginator(qs, PAGE_SIZE)
    return {"queue": queue, "page": paginator.get_page(page), "now": timezone.now()}


def _config(request: HttpRequest, ctx: Ctx) -> dict[str, Any]:
    slot = "999999"
    tile = reverse("dispatch:centre-tile", args=[0, 0, 0]).replace("0/0/0", "{z}/{x}/{y}")
    grid_tile = reverse("grids:tile", args=["LAYER", 0, 0, 0]).replace(
        "LAYER/0/0/0", "{layer}/{z}/{x}/{y}"
    )
    return {
        "level": ctx.centre.level,
        "regionCode": ctx.centre.region.code,
        "bbox": _bbox(ctx.centre.region),
        "caseTileUrl": tile,
        "gridTileUrl": grid_tile,
        "outlineUrl": reverse("grids:region-outline", args=[ctx.centre.region.code]),
        "nearestUrl": reverse("dispatch:centre-nearest"),
        "countsUrl": reverse("dispatch:centre-counts"),
        "changesUrl": reverse("case-changes"),
        "queueUrl": reverse("dispatch:centre-queue", args=["__q__"]),
        "panelUrl": reverse("dispatch:centre-case", args=[int(slot)]).replace(slot, "__id__"),
        "pointMinZoom": case_tiles.POINT_MIN_ZOOM,
        "pollMs": POLL_MS,
        "since": timezone.now().isoformat(),
        "basemapUrl": settings.MAP_TILE_URL,
        "basemapAttribution": settings.MAP_TILE_ATTRIBUTION,
        "center": settings.LEAFLET_CONFIG["DEFAULT_CENTER"],
        "zoom": settings.LEAFLET_CONFIG["DEFAULT_ZOOM"],
        "minZoom": settings.LEAFLET_CONFIG["MIN_ZOOM"],
        "maxZoom": settings.LEAFLET_CONFIG["MAX_ZOOM"],
    }


STRINGS = {
    "loading": gettext_lazy("加载中…"),
    "loadFailed": gettext_lazy("加载失败,请稍后重试。"),
    "networkError": gettext_lazy("网络错误,正在重试…"),
    "sessionExpired": gettext_lazy("登录已过期,请刷新页面重新登录。"),
    "noCaseHere": gettext_lazy("该位置附近没有案件。"),
    "zoomForCases": gettext_lazy("放大地图可点选单个案件"),
    "updated": gettext_lazy("案件已更新"),
    "changedWhileEditing": gettext_lazy("该案件刚刚发生变化。提交时将以最新状态为准。"),
    "reloadPanel": gettext_lazy("刷新案件"),
    "synthetic": gettext_lazy("合成边界,仅供演示"),
    "live": gettext_lazy("实时更新中"),
    "lastUpdate": gettext_lazy("最后更新 %(t)s"),
}


@centre_view
@require_safe
def centre(request: HttpRequest, ctx: Ctx) -> HttpResponse:
    counts = queue_counts(ctx)
    queue = ctx.centre.queue(request.GET.get("queue", "")) or ctx.centre.queues[0]
    case = None
    if (raw := request.GET.get("case", "")).isdigit():
        case = selectors.case_get(ctx.actor, int(raw))
    context = {
        "centre": ctx.centre,
        "queues": [(q, counts.get(q.key, 0)) for q in ctx.centre.queues],
        "total": counts["total"],
        "config": _config(request, ctx),
        "strings": STRINGS,
        "calendar_until": calendar.coverage_notice(timezone.localdate()),
        **_queue_page(ctx, queue, request.GET.get("page")),
    }
    if case is not None:
        context["panel"] = panel_context(ctx.actor, case)
    return render(request, "dispatch/centre/page.html", context)


@centre_view
@require_safe
def counts(request: HttpRequest, ctx: Ctx) -> JsonResponse:
    response = JsonResponse(queue_counts(ctx))
    response["Cache-Control"] = "no-store"
    return response


@centre_view
@require_safe
def queue_cases(request: HttpRequest, ctx: Ctx, key: str) -> HttpResponse:
    queue = ctx.centre.queue(key)
    if queue is None:
        raise Http404(_("没有这个队列"))
    context = {"centre": ctx.centre, **_queue_page(ctx, queue, request.GET.get("page"))}
    return render(request, "dispatch/centre/_queue_table.html", context)


# --- the case panel -----------------------------------------------------------------------


def _visible(ctx: Ctx, pk: int) -> Case:
    case = selectors.case_get(ctx.actor, pk)
    if case is None:
        raise Http404(_("案件不存在或不在您的辖区"))
    return case


def _panel(
    request: HttpRequest, ctx: Ctx, case: Case, status: int = 200, **kw: Any
) -> HttpResponse:
    context = {"centre": ctx.centre, "panel": panel_context(ctx.actor, case, **kw)}
    template = "_case_panel.html" if is_fragment(request) else "case_page.html"
    response = render(request, f"dispatch/centre/{template}", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@centre_view
@require_safe
@vary_on_headers("X-Requested-With")
def case_panel(request: HttpRequest, ctx: Ctx, pk: int) -> HttpResponse:
    return _panel(request, ctx, _visible(ctx, pk))


@centre_view
@require_POST
@vary_on_headers("X-Requested-With")
def case_action(request: HttpRequest, ctx: Ctx, pk: int) -> HttpResponse:
    case = _visible(ctx, pk)
    form = ActionForm.posted(request)
    action = request.POST.get("action", "")
    keep = {"open_action": action, "submitted": kept_values(request), "message_kind": "error"}
    if form is None or not form.is_valid():
        errors = form_errors(form.errors) if form else {"action": [str(UNKNOWN_ACTION)]}
        message = _("请检查填写的内容。")
        return _panel(request, ctx, case, 400, message=message, errors=errors, **keep)
    try:
        case = case_act(
            case_id=pk, user=ctx.actor.user, action=action, data=form.to_input(), actor=ctx.actor
        )
    except Invalid as exc:
        errors = service_errors(exc)
        errors.pop("__all__", None)  # the message says it
        return _panel(request, ctx, case, 400, message=exc.message, errors=errors, **keep)
    except (Conflict, Forbidden, NotFound) as exc:
        fresh = _visible(ctx, pk)
        # The page's copy was stale: whatever the service objected to (a state or a
        # jurisdiction that no longer fits), the reason is that someone else acted first.
        if form.cleaned_data["version"] != fresh.version:
            message, status, kind = str(STALE_MESSAGE), 409, "conflict"
        else:
            message, status = exc.message, exc.status
            kind = "conflict" if isinstance(exc, Conflict) else "error"
        return _panel(request, ctx, fresh, status, message=message, message_kind=kind)
    label = BY_ACTION[action].label
    after = selectors.case_get(ctx.actor, case.id)
    if after is None:  # e.g. it moved out of this actor's sight
        return HttpResponse(_("操作已完成。"), content_type="text/plain; charset=utf-8")
    return _panel(
        request, ctx, after, message=_("已完成“%(a)s”。") % {"a": label}, message_kind="success"
    )
