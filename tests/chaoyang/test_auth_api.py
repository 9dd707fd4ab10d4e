"""Token login, session login, the schema and the docs."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return get_user_model().objects.create_user("wang", password="s3cret-pass")


def test_token_for_valid_credentials_authenticates_api(user) -> None:
    api = APIClient()
    response = api.post("/api/v1/auth/token/", {"username": "wang", "password": "s3cret-pass"})
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/grids/regions/").status_code == 200
    # The same user gets the same token back.
    again = APIClient().post("/api/v1/auth/token/", {"username": "wang", "password": "s3cret-pass"})
    assert again.json()["token"] == token


def test_a_wrong_or_revoked_token_is_refused_with_a_message(user) -> None:
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}x")
    response = api.get("/api/v1/grids/regions/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/grids/regions/").status_code == 200
    token.delete()  # revoked: the next request is refused at once
    assert api.get("/api/v1/grids/regions/").status_code == 401


def test_a_token_of_a_deactivated_user_is_refused(user) -> None:
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=user)
    user.is_active = False
    user.save()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.get("/api/v1/grids/regions/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response.json()["detail"] == "User inactive or deleted."


def test_token_refused_for_wrong_password(user) -> None:
    """Well-formed credentials of no account: 401, not a field error (nothing in the form
    is wrong, the account is)."""
    response = APIClient().post("/api/v1/auth/token/", {"username": "wang", "password": "x"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"]
    body = response.json()
    assert body["code"] == "authentication_failed" and "fields" not in body
    assert body["detail"] == "用户名或密码不正确"


def test_token_requires_fields() -> None:
    response = APIClient().post("/api/v1/auth/token/", {})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"username", "password"}


def test_api_refuses_anonymous() -> None:
    response = APIClient().get("/api/v1/grids/regions/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


def test_pages_need_login(client: Client) -> None:
    response = client.get("/map/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_session_login_page(client: Client, user) -> None:
    page = client.get("/accounts/login/")
    assert "登录" in page.content.decode()
    response = client.post("/accounts/login/", {"username": "wang", "password": "s3cret-pass"})
    assert response.status_code == 302
    bad = client.post("/accounts/login/", {"username": "wang", "password": "nope"})
    assert "用户名或密码不正确" in bad.content.decode()


def test_schema_lists_every_api_endpoint(client: Client) -> None:
    from django.urls import get_resolver

    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    # Parameter names may differ ({pk} in a route is {id} in the schema): compare shapes.
    paths = {re.sub(r"\{[^}]+\}", "{}", p) for p in response.json()["paths"]}
    api_patterns: list[str] = []

    def walk(patterns, prefix: str = "") -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if hasattr(p, "url_patterns"):
                walk(p.url_patterns, route)
            elif route.startswith("api/v1/"):
                api_patterns.append(route)

    walk(get_resolver().url_patterns)
    assert api_patterns, "no API routes found"
    for route in api_patterns:
        openapi = "/" + re.sub(r"<[^>]+>", "{}", route)
        assert openapi in paths, f"{openapi} missing from the OpenAPI schema"


def test_docs_page_served_without_cdn(client: Client) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assert "cdn" not in html.lower()
