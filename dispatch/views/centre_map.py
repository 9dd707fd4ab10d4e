"""The command centre's map endpoints: open-case vector tiles and the case under a click.

The tiles are built by dispatch.case_tiles from the same scoped queryset the lists use.
"""

import hashlib

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import condition, require_safe

from cases.models import Case
from dispatch import case_tiles

from .centre import Ctx, centre_view, live_cases

TAP_PX = 14  # how far from a marker a click still picks it


# --- the map ------------------------------------------------------------------------------


def _scope_key(scope: QuerySet[Case]) -> str:
    """Names a scope by its SQL: two users share cached tiles only if they see the same."""
    sql, params = scope.query.sql_with_params()
    return hashlib.sha256(f"{sql}|{params!r}".encode()).hexdigest()[:24]


def _tile_etag(request: HttpRequest, ctx: Ctx, z: int, x: int, y: int) -> str | None:
    try:
        case_tiles.validate(z, x, y)
    except case_tiles.InvalidTile:
        return None  # the view answers 400
    return case_tiles.tile_etag(_scope_key(live_cases(ctx.actor)), z, x, y)


@centre_view
@require_safe
@gzip_page
@condition(etag_func=_tile_etag)
def case_tile(request: HttpRequest, ctx: Ctx, z: int, x: int, y: int) -> HttpResponse:
    scope = live_cases(ctx.actor)
    try:
        data = case_tiles.cached_case_tile(scope, _scope_key(scope), z, x, y)
    except case_tiles.InvalidTile as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type="application/vnd.mapbox-vector-tile")
    # Revalidated on every use (a cheap 304 until any case changes): lights change.
    response["Cache-Control"] = "private, no-cache"
    return response


@centre_view
@require_safe
def nearest(request: HttpRequest, ctx: Ctx) -> JsonResponse:
    """The case under a map click (VectorGrid's own hit-testing is broken in Leaflet ≥1.8)."""
    try:
        lng = float(request.GET["lng"])
        lat = float(request.GET["lat"])
        zoom = float(request.GET.get("zoom", case_tiles.POINT_MIN_ZOOM))
    except (KeyError, ValueError):
        return JsonResponse({"detail": _("需要 lng、lat 和 zoom 参数")}, status=400)
    if not (-180 <= lng <= 180 and -90 <= lat <= 90 and 0 <= zoom <= case_tiles.MAX_ZOOM):
        return JsonResponse({"detail": _("坐标超出范围")}, status=400)
    radius = TAP_PX * case_tiles.metres_per_pixel(lat, zoom)
    case = case_tiles.case_nearest(live_cases(ctx.actor), lng=lng, lat=lat, radius_m=radius)
    if case is None:
        return JsonResponse({"case": None})
    return JsonResponse(
        {
            "case": {
                "id": case.id,
                "number": case.number,
                "category": case.category.name,
                "status": case.status,
                "status_display": case.get_status_display(),
                "light": case.light,
                "address": case.address,
                "url": reverse("dispatch:centre-case", args=[case.id]),
            }
        }
    )
