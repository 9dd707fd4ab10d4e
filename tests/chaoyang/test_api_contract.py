"""One error shape across the API, proven endpoint by endpoint.

The endpoints come from the URL configuration, so a new one fails here until the table
below says how it answers 400, 401, 403, 404 and 405 (or why it cannot). Each answer must
be an RFC 9457 problem body (application/problem+json) with a stable code, in the request's
language.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token

from cases.models import Case
from core.problems import CODES, MEDIA_TYPE
from dispatch.services.intake import IntakeInput, case_intake
from tests.factories import grid_point, module_demo

pytestmark = pytest.mark.django_db

demo = module_demo()
CJK = re.compile(r"[\u4e00-\u9fff]")
NOT_A_CASE, NOT_A_CODE = 987654321, "999999999999"


@dataclass(frozen=True)
class Probe:
    """One request that must end in a given status."""

    method: str
    path: str
    user: str = "jianwai_lead"  # "" = anonymous with a bad token
    data: dict[str, Any] | None = None
    csrf: bool = False  # a session login that must pass CSRF checks


@dataclass(frozen=True)
class Endpoint:
    path: str  # with the demo's ids filled in
    probes: dict[int, Probe | str]  # status -> probe, or why that status cannot occur


def _case_id() -> int:
    """A case of 建外 street, newly reported (made once per test through intake)."""
    existing = Case.objects.filter(street__code="110105001").order_by("id").first()
    if existing is not None:
        return existing.id
    lng, lat = grid_point()
    data = IntakeInput("0601", "楼门口堆放垃圾", "grid_worker", lng=lng, lat=lat)
    return case_intake(user=User.objects.get(username="jianwai_grid1"), data=data).case.id


def endpoints() -> dict[str, Endpoint]:
    """How each named API route answers each error, keyed by route name."""
    case = _case_id()
    lng, lat = grid_point()
    nul = "?x=%00"
    get_only = "GET only"
    no_params = "no parameters: nothing to refuse with 400 but a NUL (probed)"
    anyone = "every signed-in user may read it; what they see is scoped instead"
    hotline = {
        "category": "0601",
        "description": "市民来电:楼下垃圾无人清运",
        "source": "hotline",
        "lng": lng,
        "lat": lat,
        "citizen_phone": "13800001111",
    }
    return {
        "api-token": Endpoint(
            "/api/v1/auth/token/",
            {
                400: Probe("post", "/api/v1/auth/token/", data={}),
                401: Probe("post", "/api/v1/auth/token/", data={"username": "x", "password": "y"}),
                403: "open to anyone (throttled)",
                404: "no path parameters",
                405: Probe("get", "/api/v1/auth/token/"),
            },
        ),
        "grids-locate": Endpoint(
            "/api/v1/grids/locate/",
            {
                400: Probe("get", f"/api/v1/grids/locate/?lng={lng}&lat=91"),
                401: Probe("get", f"/api/v1/grids/locate/?lng={lng}&lat={lat}", user=""),
                403: anyone,
                404: Probe("get", "/api/v1/grids/locate/?lng=116.3975&lat=39.9087"),
                405: Probe("post", "/api/v1/grids/locate/", data={}),
            },
        ),
        "grids-regions": Endpoint(
            "/api/v1/grids/regions/",
            {
                400: Probe("get", "/api/v1/grids/regions/?level=9"),
                401: Probe("get", "/api/v1/grids/regions/", user=""),
                403: anyone,
                404: Probe("get", "/api/v1/grids/regions/?page=99999"),
                405: Probe("delete", "/api/v1/grids/regions/"),
            },
        ),
        "grids-region-detail": Endpoint(
            "/api/v1/grids/regions/110105001/",
            {
                400: Probe("get", "/api/v1/grids/regions/110105001/" + nul),
                401: Probe("get", "/api/v1/grids/regions/110105001/", user=""),
                403: anyone,
                404: Probe("get", f"/api/v1/grids/regions/{NOT_A_CODE}/"),
                405: Probe("put", "/api/v1/grids/regions/110105001/", data={}),
            },
        ),
        "cases": Endpoint(
            "/api/v1/cases/",
            {
                400: Probe("get", "/api/v1/cases/?open=maybe"),
                401: Probe("get", "/api/v1/cases/", user=""),
                403: Probe("post", "/api/v1/cases/", user="jianwai_cg", data=hotline),
                404: Probe("get", "/api/v1/cases/?page=99999"),
                405: Probe("put", "/api/v1/cases/", data={}),
            },
        ),
        "case-queues": Endpoint(
            "/api/v1/cases/queues/",
            {
                400: Probe("get", "/api/v1/cases/queues/" + nul),
                401: Probe("get", "/api/v1/cases/queues/", user=""),
                403: anyone,
                404: no_params,
                405: Probe("post", "/api/v1/cases/queues/", data={}),
            },
        ),
        "case-changes": Endpoint(
            "/api/v1/cases/changes/",
            {
                400: Probe("get", "/api/v1/cases/changes/?since=yesterday"),
                401: Probe("get", "/api/v1/cases/changes/?since=2026-01-01T00:00Z", user=""),
                403: anyone,
                404: no_params,
                405: Probe("post", "/api/v1/cases/changes/", data={}),
            },
        ),
        "case-detail": Endpoint(
            f"/api/v1/cases/{case}/",
            {
                400: Probe("get", f"/api/v1/cases/{case}/" + nul),
                401: Probe("get", f"/api/v1/cases/{case}/", user=""),
                403: "a case outside one's jurisdiction is a 404: its existence is not told",
                404: Probe("get", f"/api/v1/cases/{NOT_A_CASE}/"),
                405: Probe("delete", f"/api/v1/cases/{case}/"),
            },
        ),
        "case-available-actions": Endpoint(
            f"/api/v1/cases/{case}/available-actions/",
            {
                400: Probe("get", f"/api/v1/cases/{case}/available-actions/" + nul),
                401: Probe("get", f"/api/v1/cases/{case}/available-actions/", user=""),
                403: "what one may not do is simply not listed",
                404: Probe("get", f"/api/v1/cases/{case}/available-actions/", user="wangjing_lead"),
                405: Probe("post", f"/api/v1/cases/{case}/available-actions/", data={}),
            },
        ),
        "case-actions": Endpoint(
            f"/api/v1/cases/{case}/actions/",
            {
                400: Probe("post", f"/api/v1/cases/{case}/actions/", data={"action": "fly"}),
                401: Probe("post", f"/api/v1/cases/{case}/actions/", user="", data={}),
                403: Probe(
                    "post",
                    f"/api/v1/cases/{case}/actions/",
                    user="jianwai_leader",
                    data={"action": "open"},
                ),
                404: Probe("post", f"/api/v1/cases/{NOT_A_CASE}/actions/", data={"action": "open"}),
                405: Probe("get", f"/api/v1/cases/{case}/actions/"),
            },
        ),
        "case-events": Endpoint(
            f"/api/v1/cases/{case}/events/",
            {
                400: Probe("get", f"/api/v1/cases/{case}/events/" + nul),
                401: Probe("get", f"/api/v1/cases/{case}/events/", user=""),
                403: "a case outside one's jurisdiction is a 404",
                404: Probe("get", f"/api/v1/cases/{case}/events/", user="jianwai_hw"),
                405: Probe("post", f"/api/v1/cases/{case}/events/", data={}),
            },
        ),
        "categories": Endpoint(
            "/api/v1/categories/",
            {
                400: Probe("get", "/api/v1/categories/?leaf=maybe"),
                401: Probe("get", "/api/v1/categories/", user=""),
                403: anyone,
                404: "one page, no path parameters",
                405: Probe("post", "/api/v1/categories/", data={}),
            },
        ),
        "category-detail": Endpoint(
            "/api/v1/categories/0601/",
            {
                400: Probe("get", "/api/v1/categories/0601/" + nul),
                401: Probe("get", "/api/v1/categories/0601/", user=""),
                403: anyone,
                404: Probe("get", "/api/v1/categories/9999/"),
                405: Probe("patch", "/api/v1/categories/0601/", data={}),
            },
        ),
        "departments": Endpoint(
            "/api/v1/departments/",
            {
                400: Probe("get", "/api/v1/departments/?level=county"),
                401: Probe("get", "/api/v1/departments/", user=""),
                403: anyone,
                404: Probe("get", "/api/v1/departments/?page=99999"),
                405: Probe("post", "/api/v1/departments/", data={}),
            },
        ),
        "schema": Endpoint(
            "/api/schema/",
            {
                400: Probe("get", "/api/schema/" + nul),
                401: Probe("get", "/api/schema/", user=""),
                403: "open to anyone",
                404: no_params,
                405: Probe("post", "/api/schema/", data={}),
            },
        ),
        "api-docs": Endpoint(
            "/api/docs/",
            {
                400: Probe("get", "/api/docs/" + nul),
                401: Probe("get", "/api/docs/", user=""),
                403: "open to anyone",
                404: no_params,
                405: Probe("post", "/api/docs/", data={}),
            },
        ),
    } | {
        # A POST through a browser session without its CSRF token.
        "cases-csrf": Endpoint(
            "/api/v1/cases/",
            {403: Probe("post", "/api/v1/cases/", data={}, csrf=True)}
            | {s: get_only for s in (400, 401, 404, 405)},
        )
    }


def _api_routes() -> Iterator[str]:
    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, str | None]]:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p.name

    for route, name in walk(get_resolver().url_patterns, ""):
        if route.startswith("api/") and name:
            yield name


def test_every_api_route_is_in_the_table(demo: None) -> None:
    routes = set(_api_routes())
    table = set(endpoints()) - {"cases-csrf"}
    assert routes == table, {"untested": routes - table, "gone": table - routes}


def _send(probe: Probe, language: str) -> Any:
    client = Client(enforce_csrf_checks=probe.csrf, HTTP_ACCEPT_LANGUAGE=language)
    headers: dict[str, str] = {}
    if probe.csrf:
        client.force_login(User.objects.get(username=probe.user))
    elif probe.user:
        token, _ = Token.objects.get_or_create(user=User.objects.get(username=probe.user))
        headers["HTTP_AUTHORIZATION"] = f"Token {token.key}"
    else:
        headers["HTTP_AUTHORIZATION"] = "Token not-a-real-token"
    send = getattr(client, probe.method)
    if probe.data is not None:
        return send(probe.path, probe.data, content_type="application/json", **headers)
    return send(probe.path, **headers)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_error_of_every_endpoint_is_one_problem_shape(demo: None, language: str) -> None:
    seen: list[tuple[str, int]] = []
    for name, endpoint in endpoints().items():
        for status, probe in endpoint.probes.items():
            if isinstance(probe, str):
                continue
            response = _send(probe, language)
            where = f"{name} {status} {probe.method.upper()} {probe.path}"
            assert response.status_code == status, (where, response.content[:300])
            assert response["Content-Type"] == MEDIA_TYPE, where
            body = response.json()
            assert {"type", "title", "status", "code", "detail"} <= set(body), (where, body)
            assert body["status"] == status, where
            assert body["code"] in CODES and body["type"] == f"urn:chaoyang:problem:{body['code']}"
            assert isinstance(body["detail"], str) and body["detail"], where
            if body["code"] == "invalid":
                assert isinstance(body["fields"], dict), where
            # The request's language: Chinese titles in Chinese, none in English.
            assert bool(CJK.search(body["title"])) == (language == "zh-hans"), (where, body)
            assert response["Content-Language"] == language, where
            if status == 401:
                assert response["WWW-Authenticate"] == "Token", where
            if status == 405:
                assert response["Allow"], where
            seen.append((name, status))
    assert len(seen) >= 60


def test_field_errors_speak_the_request_language(demo: None) -> None:
    """A latitude of 91 asked in English is refused in English, field message included."""
    lng, _lat = grid_point()
    probe = Probe("get", f"/api/v1/grids/locate/?lng={lng}&lat=91")
    english = _send(probe, "en").json()
    chinese = _send(probe, "zh-hans").json()
    assert not CJK.search(english["detail"] + "".join(english["fields"]["lat"]))
    assert CJK.search(chinese["detail"]) and CJK.search(chinese["fields"]["lat"][0])
    case = _case_id()
    action = Probe("post", f"/api/v1/cases/{case}/actions/", data={"action": "dispatch"})
    english = _send(action, "en").json()
    # Well-formed, refused by the rules (dispatch needs a department): 422.
    assert english["code"] == "validation_failed", english
    assert english["fields"]["department"] == ["Choose a department."]
    assert not CJK.search(english["detail"])


def test_an_unknown_api_url_is_a_json_404_in_any_method(demo: None) -> None:
    for method in ("get", "post", "put", "delete"):
        response = getattr(Client(), method)("/api/v1/cases/abc/")
        assert response.status_code == 404
        assert response["Content-Type"] == MEDIA_TYPE
        assert response.json()["code"] == "not_found"
    response = Client().get("/api/v2/whatever")
    assert response.status_code == 404 and response.json()["instance"] == "/api/v2/whatever"


def test_the_schema_is_valid_openapi_and_documents_problem_bodies(tmp_path: Any) -> None:
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    # --fail-on-warn: a view the generator cannot read is an error, not a guess.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "application/problem+json" in text and "Problem:" in text
    token = text[text.index("/api/v1/auth/token/:") :]
    token = token[: token.index("\n  /api/")]
    assert "'429':" in token and "'400':" in token  # its throttle and its field errors
