"""Requests no view should see."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.translation import gettext

from chaoyang.api.problems import API_PREFIX, problem_response


class RejectNulMiddleware:
    """A NUL character in the path or the query string is refused with 400.

    PostgreSQL cannot store or compare text containing NUL, so such a value reaching a
    query is a 500 (a fuzzer found it in `?q=`); no legitimate URL carries one. Form and
    JSON fields are checked by their own fields (Django's and DRF's CharField refuse NUL).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            message = gettext("请求地址含有非法字符(NUL)")
            if request.path.startswith(API_PREFIX):
                return problem_response(request, status=400, code="invalid", detail=message)
            return HttpResponseBadRequest(message)
        return self.get_response(request)
