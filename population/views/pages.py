"""Pages of the base databases: search, person and organisation details, reveal, export.

Thin: parse the request, call a selector or a service, render. Every read starts from the
user's territorial scope (grids.scope); every clear value goes through population.reveal
(permission, reason, audit row).
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    QueryDict,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from grids.models import Region
from grids.scope import TerritorialScope, scope_for_user

from .. import export as exports
from .. import selectors as sel
from ..forms import ReasonForm, SearchForm
from ..protect import open_text, seal_text
from ..reveal import (
    FIELD_LABELS,
    Field,
    NotVisible,
    RevealRefused,
    may_reveal,
    reveal_organisation_phone,
    reveal_person,
)
from ..stats import buildings_geojson
from ..validators import ValidationFailure, birth_date_of

logger = logging.getLogger(__name__)

PAGE_SIZE = 50


def page_scope(request: HttpRequest) -> TerritorialScope:
    """The user's scope, loaded once per request."""
    cached = getattr(request, "_population_scope", None)
    if cached is None:
        cached = scope_for_user(request.user)
        request._population_scope = cached  # type: ignore[attr-defined]
    return cached


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: a forwarded header is whatever the client says unless a trusted
    # proxy sets it, and the audit must not record a value the client chose.
    return request.META.get("REMOTE_ADDR") or None


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _no_scope(request: HttpRequest) -> HttpResponseBase:
    return render(request, "population/pages/no_scope.html", status=403)


@dataclass
class Found:
    kind: str
    qs: QuerySet[Any]
    query: sel.PersonQuery | None = None
    region: Region | None = None
    problems: tuple[str, ...] = ()


def _find(scope: TerritorialScope, data: Any) -> tuple[SearchForm, Found]:
    """Run the search a form describes; the same for the page and for its export."""
    form, found = _search(scope, data)
    refused = form.cleaned_data.get("region") and found.region is None
    if refused or "region" in form.errors:
        # A region outside the scope narrows to nothing, never widens to everything.
        found.qs = found.qs.none()
    return form, found


def _search(scope: TerritorialScope, data: Any) -> tuple[SearchForm, Found]:
    form = SearchForm(data)
    form.is_valid()  # invalid filters are dropped one by one, the rest still applies
    cd = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
    kind = cd.get("kind", "persons")
    problems: list[str] = []
    region = None
    if code := cd.get("region"):
        region = sel.region_in_scope(scope, code)
        if region is None:
            problems.append(_("辖区 %(code)s 不存在或不在您的管辖范围内。") % {"code": code})
    q = cd.get("q", "")
    if kind == "housing":
        return form, Found(
            kind, sel.housing_search(scope, q, use=cd.get("use", ""), region=region), None,
            region, tuple(problems),
        )  # fmt: skip
    if kind == "organisations":
        qs = sel.organisation_search(scope, q, kind=cd.get("org_kind", ""), region=region)
        return form, Found(kind, qs, None, region, tuple(problems))
    query = sel.classify_person_query(q)
    if query.error:
        problems.append(query.error)
    filters = sel.PersonFilters(
        hukou=cd.get("hukou", ""), status=cd.get("status", ""), care_tag=cd.get("care", ""),
        region=region,
    )  # fmt: skip
    return form, Found("persons", sel.person_search(scope, query, filters), query, region,
                       tuple(problems))  # fmt: skip


# A full identity number or phone typed into the search box must not end up in a URL
# (access logs, browser history, Referer headers). The form posts; a sensitive query is
# kept in the session under a short token and the page redirects to a URL with the token.
# Sessions live in the database, so the query is kept there encrypted (protect.seal_text).
QUERY_TOKEN = "qt"
_STASH = "population_queries"
_STASH_SIZE = 20
_SENSITIVE = (sel.Mode.ID_NUMBER, sel.Mode.ID_FRAGMENT, sel.Mode.PHONE, sel.Mode.INVALID)


def _stash_query(request: HttpRequest, q: str) -> str:
    token = secrets.token_urlsafe(6)
    stash = dict(request.session.get(_STASH, {}))
    stash[token] = seal_text(q)
    while len(stash) > _STASH_SIZE:
        stash.pop(next(iter(stash)))
    request.session[_STASH] = stash
    return token


def identifier_search_allowed(user: Any) -> bool:
    """Searches by identity number, its fragment or a phone, per user and day, are capped.

    Each answers "is there someone with this number here?": enough of them (a hundred
    fragments for a person's last four digits, then the few dozen numbers those leave)
    would rebuild a number that the pages never show. The cap makes that take weeks, not
    minutes; every search is also logged with the user.
    """
    key = f"population:id-search:{user.pk}:{timezone.localdate():%Y%m%d}"
    cache.add(key, 0, timeout=2 * 24 * 3600)
    used = cache.incr(key)
    logger.info("identifier search by user %s (%s today)", user.pk, used)
    return used <= settings.POPULATION_IDENTIFIER_SEARCHES_PER_DAY


def with_query(request: HttpRequest, data: QueryDict) -> QueryDict:
    """Search parameters with a stashed query put back in place of its token."""
    data = data.copy()
    if token := data.get(QUERY_TOKEN):
        del data[QUERY_TOKEN]
        sealed = request.session.get(_STASH, {}).get(token, "")
        data["q"] = open_text(sealed) if sealed else ""
    return data


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def search(request: HttpRequest) -> HttpResponseBase:
    scope = page_scope(request)
    if scope.empty:
        return _no_scope(request)
    if request.method == "POST":
        params = request.POST.copy()
        for key in ("csrfmiddlewaretoken", "page"):
            params.pop(key, None)
        q = params.get("q", "")
        if sel.classify_person_query(q).mode in _SENSITIVE:
            del params["q"]
            if identifier_search_allowed(request.user):
                params[QUERY_TOKEN] = _stash_query(request, q)
            else:
                messages.error(request, _("今日按身份证号或电话查询的次数已达上限,请明日再查。"))
        return redirect(f"{reverse('population:search')}?{params.urlencode()}")
    data: QueryDict = request.GET.copy()
    typed = data.get("q", "")
    # Typed into the address bar rather than the form: counted the same.
    sensitive = bool(typed) and sel.classify_person_query(typed).mode in _SENSITIVE
    if sensitive and not identifier_search_allowed(request.user):
        del data["q"]
        messages.error(request, _("今日按身份证号或电话查询的次数已达上限,请明日再查。"))
    form, found = _find(scope, with_query(request, data))
    page = Paginator(found.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "population/pages/search.html",
        {
            "form": form,
            "found": found,
            "page": page,
            "querystring": params.urlencode(),
            "export_url": reverse("population:export", args=[found.kind]),
            "may_reveal": may_reveal(request.user),
            "reason_form": ReasonForm(),
        },
    )


@login_required
@require_safe
def person_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    person = sel.person_get(page_scope(request), pk)
    if person is None:
        raise Http404(_("没有该人员,或不在您的管辖范围内。"))
    return _person_page(request, person)


def _person_page(
    request: HttpRequest, person: Any, *, revealed: dict[str, str] | None = None,
    form: ReasonForm | None = None, status: int = 200,
) -> HttpResponseBase:  # fmt: skip
    response = render(
        request,
        "population/pages/person.html",
        {
            "person": person,
            "residences": person.residences.all(),
            "care_tags": person.care_tags.all(),
            "may_reveal": may_reveal(request.user),
            "revealed": revealed or {},
            "revealed_birth_date": _birth_date(revealed),
            "reason_form": form or ReasonForm(),
            "field_labels": {f.value: label for f, label in FIELD_LABELS.items()},
        },
        status=status,
    )
    if revealed:
        response["Cache-Control"] = "no-store"
    return response


def _birth_date(revealed: dict[str, str] | None) -> date | None:
    """The birth date read from a revealed identity number: shown only beside it."""
    number = (revealed or {}).get(Field.ID_NUMBER.value)
    return birth_date_of(number) if number else None


def _refusal(request: HttpRequest, status: int, message: str) -> HttpResponseBase:
    if wants_json(request):
        return JsonResponse({"error": message}, status=status)
    if status == 403:
        raise PermissionDenied(message)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


@login_required
@require_POST
@never_cache
def person_reveal(request: HttpRequest, pk: int) -> HttpResponseBase:
    try:
        field = Field(request.POST.get("field") or Field.ID_NUMBER)
    except ValueError:
        return _refusal(request, 400, _("不能查看该字段。"))
    try:
        revealed = reveal_person(
            user=request.user, person_id=pk, field=field,
            reason=request.POST.get("reason", ""), ip=client_ip(request),
        )  # fmt: skip
    except PermissionDenied:
        return _refusal(request, 403, _("您没有查看完整个人信息的权限。"))
    except NotVisible as exc:
        raise Http404(_("没有该人员,或不在您的管辖范围内。")) from exc
    except RevealRefused as exc:
        if wants_json(request):
            return JsonResponse({"error": str(exc)}, status=400)
        person = sel.person_get(page_scope(request), pk)
        form = ReasonForm(request.POST)
        form.is_valid()
        if not form.errors:
            form.add_error("reason", str(exc))
        return _person_page(request, person, form=form, status=400)
    if wants_json(request):
        answer = {"field": field.value, "value": revealed.value}
        if born := _birth_date({field.value: revealed.value}):
            answer["birth_date"] = born.isoformat()
        response = JsonResponse(answer)
        response["Cache-Control"] = "no-store"
        return response
    person = sel.person_get(page_scope(request), pk)
    return _person_page(request, person, revealed={field.value: revealed.value})


@login_required
@require_safe
def organisation_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    org = sel.organisation_get(page_scope(request), pk)
    if org is None:
        raise Http404(_("没有该组织,或不在您的管辖范围内。"))
    return render(
        request,
        "population/pages/organisation.html",
        {"org": org, "may_reveal": may_reveal(request.user), "reason_form": ReasonForm()},
    )


@login_required
@require_POST
@never_cache
def organisation_reveal(request: HttpRequest, pk: int) -> HttpResponseBase:
    try:
        revealed = reveal_organisation_phone(
            user=request.user, organisation_id=pk, reason=request.POST.get("reason", ""),
            ip=client_ip(request),
        )  # fmt: skip
    except PermissionDenied:
        return _refusal(request, 403, _("您没有查看完整个人信息的权限。"))
    except NotVisible as exc:
        raise Http404(_("没有该组织,或不在您的管辖范围内。")) from exc
    except RevealRefused as exc:
        return _refusal(request, 400, str(exc))
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse({"field": Field.CONTACT_PHONE.value, "value": revealed.value})
    else:
        org = sel.organisation_get(page_scope(request), pk)
        response = render(
            request,
            "population/pages/organisation.html",
            {"org": org, "may_reveal": True, "reason_form": ReasonForm(),
             "revealed_phone": revealed.value},
        )  # fmt: skip
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def export(request: HttpRequest, kind: str) -> HttpResponseBase:
    """The current search as .xlsx: GET masked; POST with a reason, in clear (audited)."""
    scope = page_scope(request)
    if scope.empty:
        return _no_scope(request)
    if kind not in ("persons", "housing", "organisations"):
        raise Http404()
    raw = request.POST if request.method == "POST" else request.GET
    back = f"{reverse('population:search')}?{_search_params(raw)}"
    data = with_query(request, raw)
    data["kind"] = kind
    _form, found = _find(scope, data)
    clear = request.method == "POST"
    try:
        if kind == "persons":
            out = exports.export_persons(
                user=request.user, qs=found.qs, clear=clear,
                reason=data.get("reason", ""), ip=client_ip(request),
            )  # fmt: skip
        elif kind == "organisations":
            out = exports.export_organisations(
                user=request.user, qs=found.qs, clear=clear,
                reason=data.get("reason", ""), ip=client_ip(request),
            )  # fmt: skip
        else:
            out = exports.export_housing(qs=found.qs)
    except PermissionDenied:
        raise PermissionDenied(_("您没有导出明文的权限。")) from None
    except ValidationFailure as exc:
        messages.error(request, str(exc))
        return redirect(back)
    response = FileResponse(
        out.file,
        as_attachment=True,
        filename=out.filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["X-Export-Rows"] = str(out.rows)
    response["X-Export-Truncated"] = "1" if out.truncated else "0"
    response["Cache-Control"] = "no-store"
    return response


def _search_params(data: Any) -> str:
    keep = data.copy()
    for key in ("reason", "csrfmiddlewaretoken", "page"):
        keep.pop(key, None)
    return str(keep.urlencode())


@login_required
@require_safe
def region_buildings(request: HttpRequest, code: str) -> HttpResponseBase:
    """The buildings of one region in the user's scope, as GeoJSON for the profile map."""
    region = sel.region_in_scope(page_scope(request), code)
    if region is None:
        raise Http404(_("没有该辖区,或不在您的管辖范围内。"))
    response = HttpResponse(buildings_geojson(region), content_type="application/geo+json")
    response["Cache-Control"] = "private, max-age=60"
    return response
