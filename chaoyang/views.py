"""Project-level pages: home and health."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chaoyang.health import run_checks
from dispatch.views.field_common import landing_url


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each user to the page of their main job; the map stays in the navigation."""
    return redirect(landing_url(request.user))  # type: ignore[arg-type]


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    results = run_checks()
    healthy = all(v == "ok" for v in results.values())
    return JsonResponse(results, status=200 if healthy else 503)
