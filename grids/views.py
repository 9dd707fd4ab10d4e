"""Thin page views for the territory: the map page, its vector tiles and region outlines."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import condition, require_safe

from . import tiles

# Browsers keep a tile a minute, then revalidate with If-None-Match (a cheap 304 until the
# territory changes). "private": tiles are behind a login, shared caches must not keep them.
MAP_CACHE_CONTROL = "private, max-age=60"

# Every string map.js shows, translated here so the script carries no language of its own.
MAP_STRINGS = {
    "loading": _("加载中…"),
    "loadFailed": _("加载失败,请稍后重试。"),
    "networkError": _("网络错误,请检查连接后重试。"),
    "outside": _("该点不在朝阳区范围内。"),
    "notFound": _("没有找到该辖区。"),
    "noResults": _("没有匹配的辖区。"),
    "resultsCount": _("共 %(count)s 个结果"),
    "resultsMore": _("仅显示前 %(shown)s 个,请输入更具体的名称或编码。"),
    "emptyQuery": _("请输入名称或编码。"),
    "code": _("编码"),
    "level": _("层级"),
    "kind": _("类型"),
    "area": _("面积"),
    "areaUnit": _("平方公里"),
    "responsible": _("责任主体"),
    "responsibleDefault": _("属地兜底"),
    "synthetic": _("合成边界,仅供演示"),
    "children": {
        "1": _("下辖街道/乡(%(count)s)"),
        "2": _("下辖社区/村(%(count)s)"),
        "3": _("下辖网格(%(count)s)"),
    },
    "noChildren": _("没有下级辖区。"),
    "selected": _("已选择:%(name)s"),
    "breadcrumb": _("上级辖区"),
    "zoomIn": _("放大地图可查看网格"),
}


CODE_SLOT = "__code__"  # replaced by a region code in map.js


@login_required
def map_page(request: HttpRequest) -> HttpResponse:
    # URLs come from reverse() so the page keeps working under a path prefix.
    tile_url = reverse("grids:tile", args=["LAYER", 0, 0, 0]).replace(
        "LAYER/0/0/0", "{layer}/{z}/{x}/{y}"
    )
    config = {
        "homeCode": settings.HOME_DISTRICT_CODE,
        "tileUrl": tile_url,
        "minZooms": {name: layer.min_zoom for name, layer in tiles.LAYERS.items()},
        "locateUrl": reverse("grids-locate"),
        "searchUrl": reverse("grids-regions"),
        "detailUrl": reverse("grids-region-detail", args=[CODE_SLOT]),
        "outlineUrl": reverse("grids:region-outline", args=[CODE_SLOT]),
        "codeSlot": CODE_SLOT,
        "basemapUrl": settings.MAP_TILE_URL,
        "basemapAttribution": settings.MAP_TILE_ATTRIBUTION,
        "center": settings.LEAFLET_CONFIG["DEFAULT_CENTER"],
        "zoom": settings.LEAFLET_CONFIG["DEFAULT_ZOOM"],
        "minZoom": settings.LEAFLET_CONFIG["MIN_ZOOM"],
        "maxZoom": settings.LEAFLET_CONFIG["MAX_ZOOM"],
    }
    return render(request, "grids/map.html", {"map_config": config, "map_strings": MAP_STRINGS})


def _tile_etag(request: HttpRequest, layer: str, z: int, x: int, y: int) -> str | None:
    try:
        tiles.validate(layer, z, x, y)
    except tiles.InvalidTile:
        return None  # the view answers 400
    return tiles.tile_etag(layer, z, x, y)


@login_required
@require_safe
# The densest z11 grid tile is ~170 kB raw, ~60 kB gzipped, for ~6 ms of CPU: worth it for
# street offices on slow links. Revalidation still matches: If-None-Match compares weakly.
@gzip_page
@condition(etag_func=_tile_etag)
def tile(request: HttpRequest, layer: str, z: int, x: int, y: int) -> HttpResponse:
    try:
        data = tiles.cached_tile(layer, z, x, y)
    except tiles.InvalidTile as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type="application/vnd.mapbox-vector-tile")
    response["Cache-Control"] = MAP_CACHE_CONTROL
    return response


def _outline_etag(request: HttpRequest, code: str) -> str:
    return f"{tiles.territory_version()}-outline-{code}"


@login_required
@require_safe
@condition(etag_func=_outline_etag)
def region_outline(request: HttpRequest, code: str) -> HttpResponse:
    feature = tiles.region_outline_geojson(code)
    if feature is None:
        return HttpResponseNotFound(
            gettext("没有该编码的辖区"), content_type="text/plain; charset=utf-8"
        )
    response = HttpResponse(feature, content_type="application/geo+json")
    response["Cache-Control"] = MAP_CACHE_CONTROL
    return response
