"""The grid profile page (网格画像): /population/profile/<code>/ for a grid, community,
street or the district, within the user's jurisdiction."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from chaoyang.profile import region_profile
from grids.scope import scope_for_user
from population.models import CareTag, HousingUse, Organisation
from population.selectors import region_in_scope
from population.stats import stats_as_dict


@login_required
@require_safe
def profile_home(request: HttpRequest) -> HttpResponse:
    """The profile of the widest region the user works in."""
    scope = scope_for_user(request.user)
    if scope.empty:
        return render(request, "population/pages/no_scope.html", status=403)
    code = settings.HOME_DISTRICT_CODE if scope.everything else min(scope.codes, key=len)
    return redirect("region-profile", code=code)


@login_required
@require_safe
def profile(request: HttpRequest, code: str) -> HttpResponse:
    scope = scope_for_user(request.user)
    if scope.empty:
        return render(request, "population/pages/no_scope.html", status=403)
    region = region_in_scope(scope, code)
    if region is None:
        raise Http404(_("没有该辖区,或不在您的管辖范围内。"))
    data = region_profile(region, scope)
    stats = data.stats
    care = [(label, stats.care.get(tag, 0)) for tag, label in CareTag.Tag.choices]
    housing = [(label, stats.housing.get(use, 0)) for use, label in HousingUse.choices]
    orgs = [(label, stats.organisations.get(k, 0)) for k, label in Organisation.Kind.choices]
    chart = stats_as_dict(stats) | {
        "housingLabels": [str(label) for label, _n in housing],
        "housingCounts": [n for _label, n in housing],
        "orgLabels": [str(label) for label, _n in orgs],
        "orgCounts": [n for _label, n in orgs],
        "outlineUrl": reverse("grids:region-outline", args=[region.code]),
        "buildingsUrl": reverse("population:region-buildings", args=[region.code]),
        "basemapUrl": settings.MAP_TILE_URL,
        "basemapAttribution": settings.MAP_TILE_ATTRIBUTION,
        "strings": {
            "men": _("男"),
            "women": _("女"),
            "people": _("人"),
            "units": _("套"),
            "count": _("数量"),
            "mapFailed": _("地图数据加载失败,请稍后重试。"),
            "residents": _("在住人数"),
            "housingUnits": _("房屋套数"),
        },
    }
    return render(
        request,
        "population/pages/profile.html",
        {
            "profile": data,
            "stats": stats,
            "care": care,
            "care_total": sum(n for _label, n in care),
            "housing": housing,
            "orgs": orgs,
            "org_total": sum(stats.organisations.values()),
            "floating_pct": _pct(stats.floating, stats.total),
            "rented_pct": _pct(stats.housing.get(HousingUse.RENTED, 0), stats.housing_total),
            "chart": chart,
            "ancestors": [(a, scope.covers(a.code)) for a in data.ancestors],
        },
    )


def _pct(part: int, whole: int) -> str | None:
    return f"{100 * part / whole:.1f}%" if whole else None
