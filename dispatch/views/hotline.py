"""Hotline intake (96105 / 12345 calls): an operator registers the caller's report.

The point comes from a map click (WGS 84, the frame the map draws in); a point outside
the district is refused by intake unless the operator ticks "register as outside the
jurisdiction", which the page offers as soon as the server has said the point is outside.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from cases.models import Source
from dispatch.actors import request_actor
from dispatch.errors import ActionError
from dispatch.services.intake import case_intake
from dispatch.views.field import CODE_SLOT, duplicate_rows, forbidden, outline_url, used_key
from dispatch.views.field_common import (
    category_tree,
    centre_case_url,
    urgency_choices,
    visible_case,
)
from dispatch.views.field_forms import LOCATION_FIELDS, HotlineForm, photo_count_error
from dispatch.views.labels import form_errors, page_status, service_errors
from dispatch.workflow import INTAKE_CHANNELS, OUTSIDE_ROLES, intake_channels
from grids import selectors as grid_selectors
from grids import tiles

# The roles that take calls, as the intake rule says (their streets start the map).
HOTLINE_TAKERS = frozenset(r for r, ch in INTAKE_CHANNELS.items() if Source.HOTLINE in ch)


def _context(
    request: HttpRequest, form: HotlineForm, errors: dict[str, list[str]]
) -> dict[str, object]:
    actor = request_actor(request)
    location_errors = [m for f in LOCATION_FIELDS for m in errors.get(f, [])]
    tile_url = reverse("grids:tile", args=["LAYER", 0, 0, 0]).replace(
        "LAYER/0/0/0", "{layer}/{z}/{x}/{y}"
    )
    return {
        "form": form,
        "values": form.data if form.is_bound else {},
        "errors": errors,
        "location_errors": location_errors,
        "show_outside": bool(form.data.get("register_outside"))
        or (bool(location_errors) and _point_outside(form)),
        "may_register_outside": bool(actor.roles & OUTSIDE_ROLES),
        "photos_lost": bool(request.FILES),
        "categories": category_tree(),
        "urgencies": urgency_choices(),
        "map_config": {
            "outlineUrl": outline_url(),
            "codeSlot": CODE_SLOT,
            # The operator's own street(s) to start with; the street layer shows the rest.
            "codes": sorted({c for r in HOTLINE_TAKERS for c in actor.regions.get(r, frozenset())})[
                :5
            ]
            or [settings.HOME_DISTRICT_CODE],
            "tileUrl": tile_url,
            "homeCode": settings.HOME_DISTRICT_CODE,
            "streetMinZoom": tiles.LAYERS["street"].min_zoom,
            "gridMinZoom": tiles.LAYERS["grid"].min_zoom,
            "locateUrl": reverse("grids-locate"),
            "center": settings.LEAFLET_CONFIG["DEFAULT_CENTER"],
            "zoom": settings.LEAFLET_CONFIG["DEFAULT_ZOOM"],
            "basemapUrl": settings.MAP_TILE_URL,
            "basemapAttribution": settings.MAP_TILE_ATTRIBUTION,
        },
    }


def _point_outside(form: HotlineForm) -> bool:
    """The form carried a point and no grid covers it: intake refused it as outside."""
    data = getattr(form, "cleaned_data", {})
    lng, lat = data.get("lng"), data.get("lat")
    return lng is not None and lat is not None and grid_selectors.locate(lng=lng, lat=lat) is None


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def hotline(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    if Source.HOTLINE not in intake_channels(actor.roles):
        return forbidden(request, _("您的岗位不受理热线来电。"))
    template = "dispatch/field/hotline.html"
    if request.method != "POST":
        return render(request, template, _context(request, HotlineForm(), {}))
    form = HotlineForm(request.POST)
    errors = photo_count_error(request)
    if not form.is_valid() or errors:
        errors.update(form_errors(form.errors))
        return render(request, template, _context(request, form, errors), status=400)
    try:
        result = case_intake(user=actor.user, data=form.intake_input(request), actor=actor)
    except ActionError as exc:
        return render(
            request, template, _context(request, form, service_errors(exc)), status=page_status(exc)
        )
    url = reverse("dispatch:field-hotline-done", args=[result.case.id])
    return redirect(url if result.created else f"{url}?repeat=1")


@login_required
@require_safe
def hotline_done(request: HttpRequest, case_id: int) -> HttpResponse:
    actor = request_actor(request)
    case = visible_case(actor, case_id)
    if case is None:
        raise Http404(_("案件不存在或不在您的辖区"))
    return render(
        request,
        "dispatch/field/hotline_done.html",
        {
            "case": case,
            "duplicates": duplicate_rows(actor, case),
            "repeat": request.GET.get("repeat") == "1",
            "used_key": used_key(actor, case),
            "centre_url": centre_case_url(case.id),
        },
    )
