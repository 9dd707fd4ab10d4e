"""Project-level pages: home and health."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chaoyang.health import run_checks


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("grids:map")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    results = run_checks()
    healthy = all(v == "ok" for v in results.values())
    return JsonResponse(results, status=200 if healthy else 503)
