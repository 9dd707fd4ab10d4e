"""The API's exception handler and its answers outside DRF: every error is a problem body
(core.problems describes the shape and the codes)."""

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.problems import MEDIA_TYPE, TITLES, Problem, problem_body
from dispatch.errors import ActionError

API_PREFIX = "/api/"


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field": [...], "photos.0": [...], "": [non-field]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "__all__") else str(key)
            for k, v in _flatten(
                value, f"{prefix}.{name}" if prefix and name else prefix or name
            ).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            out.setdefault(prefix, []).extend(str(item) for item in detail)
        else:
            for i, item in enumerate(detail):
                for k, v in _flatten(item, f"{prefix}.{i}" if prefix else str(i)).items():
                    out.setdefault(k, []).extend(v)
    else:
        out.setdefault(prefix, []).append(str(detail))
    return out


def _validation_problem(exc: exceptions.ValidationError) -> Problem:
    flat = _flatten(exc.detail)
    general = flat.pop("", [])
    if general:
        detail = " ".join(general)
    elif flat:
        detail = gettext("请检查以下字段:%(fields)s") % {"fields": ", ".join(flat)}
    else:
        detail = gettext("输入有误")
    return Problem(detail, status=400, code="invalid", fields=flat)


def _as_problem(exc: Exception) -> Problem | None:
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, ActionError):
        return Problem(
            exc.message, status=exc.status, code=exc.code, fields=exc.fields or None, **exc.extra
        )
    if isinstance(exc, exceptions.ValidationError):
        return _validation_problem(exc)
    if isinstance(exc, exceptions.APIException):
        code = exc.default_code if exc.default_code in TITLES else "invalid"
        extra: dict[str, Any] = {}
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            extra["retry_after"] = int(wait)
        problem = Problem(str(exc.detail), status=exc.status_code, code=code, **extra)
        problem.auth_header = getattr(exc, "auth_header", None)
        problem.wait = wait
        return problem
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: DRF's own handling (headers, rollback), then one body."""
    problem = _as_problem(exc)
    if problem is None:
        # Http404 and Django's PermissionDenied: DRF turns them into its exceptions.
        response = drf_exception_handler(exc, context)
        if response is None:
            return None  # a real bug: Django's handler500 answers (see server_error)
        code = "not_found" if response.status_code == 404 else "permission_denied"
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        problem = Problem(str(detail), status=response.status_code, code=code)
    response = drf_exception_handler(problem, context)
    assert response is not None
    request = context.get("request")
    response.data = problem_body(
        status=problem.status_code,
        code=problem.problem_code,
        detail=str(problem.detail),
        instance=request.path if request is not None else "",
        fields=problem.fields or None,
        **problem.extensions,
    )
    response.content_type = MEDIA_TYPE
    if request is not None:
        # Errors are JSON whatever the view renders (the schema's YAML, the docs' HTML).
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = MEDIA_TYPE
    return response


def problem_response(request: HttpRequest, *, status: int, code: str, detail: str) -> HttpResponse:
    """A problem answered outside DRF (URLs that match no view, server errors)."""
    body = problem_body(status=status, code=code, detail=detail, instance=request.path)
    return JsonResponse(body, status=status, content_type=MEDIA_TYPE)


@csrf_exempt  # nothing to protect, and a CSRF page would hide the 404
def api_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Every API URL that matches no endpoint, in any method: a 404 problem, not a page."""
    return problem_response(
        request, status=404, code="not_found", detail=gettext("没有这个接口地址")
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a problem body under /api/, Django's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return problem_response(
            request,
            status=403,
            code="permission_denied",
            detail=gettext("浏览器会话的请求缺少 CSRF 令牌;接口客户端请使用令牌认证"),
        )
    return csrf.csrf_failure(request, reason)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a problem body under /api/, Django's page elsewhere. Never a traceback."""
    if request.path.startswith(API_PREFIX):
        return problem_response(
            request,
            status=500,
            code="server_error",
            detail=gettext("服务器出错,已记录;请稍后重试"),
        )
    return defaults.server_error(request)
