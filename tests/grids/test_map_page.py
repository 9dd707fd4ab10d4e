"""The map page: login, the synthetic-boundary note, configuration for map.js, language."""

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

pytestmark = pytest.mark.django_db


@pytest.fixture
def user_client(client: Client) -> Client:
    user = get_user_model().objects.create_user("mapper", password="pw-map-1")
    client.force_login(user)
    return client


def _json_script(html: str, element_id: str) -> dict[str, object]:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html)
    assert match, f"no json_script #{element_id}"
    data = json.loads(match.group(1))
    assert isinstance(data, dict)
    return data


def test_map_requires_login(client: Client) -> None:
    response = client.get("/map/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/map/"


def test_map_page_renders_in_chinese_with_the_synthetic_note(user_client: Client) -> None:
    response = user_client.get("/map/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "合成边界,仅供演示" in html
    assert 'role="note"' in html
    assert '<label for="region-q">' in html and 'id="region-q"' in html
    assert 'role="status"' in html and 'aria-live="polite"' in html
    # Leaflet from django-leaflet, VectorGrid from the pinned vendor copy, then the page.
    assert "leaflet/leaflet" in html
    assert "vendor/Leaflet.VectorGrid.bundled.min.js" in html
    assert html.index("Leaflet.VectorGrid") < html.index("js/map.js")


def test_map_page_hands_urls_and_zooms_to_the_script(user_client: Client) -> None:
    html = user_client.get("/map/").content.decode()
    config = _json_script(html, "map-config")
    assert config["homeCode"] == "110105"
    assert config["tileUrl"] == "/tiles/{layer}/{z}/{x}/{y}.pbf"
    assert config["minZooms"] == {"district": 0, "street": 8, "community": 10, "grid": 11}
    assert config["locateUrl"] == "/api/v1/grids/locate/"
    assert config["searchUrl"] == "/api/v1/grids/regions/"
    assert config["detailUrl"] == "/api/v1/grids/regions/__code__/"
    assert config["outlineUrl"] == "/map/regions/__code__.geojson"
    assert config["basemapUrl"] == ""  # no internet basemap unless configured
    strings = _json_script(html, "map-strings")
    assert strings["loading"] == "加载中…"
    assert strings["synthetic"] == "合成边界,仅供演示"


def test_configured_basemap_reaches_the_script(
    user_client: Client, settings: SettingsWrapper
) -> None:
    settings.MAP_TILE_URL = "https://tiles.example.cn/{z}/{x}/{y}.png"
    settings.MAP_TILE_ATTRIBUTION = "示例底图"
    config = _json_script(user_client.get("/map/").content.decode(), "map-config")
    assert config["basemapUrl"] == "https://tiles.example.cn/{z}/{x}/{y}.png"
    assert config["basemapAttribution"] == "示例底图"


def test_language_cookie_switches_to_english(user_client: Client) -> None:
    user_client.cookies["django_language"] = "en"
    response = user_client.get("/map/")
    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    assert '<html lang="en">' in response.content.decode()


def test_accept_language_switches_to_english(user_client: Client) -> None:
    response = user_client.get("/map/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "en"
    assert '<html lang="en">' in response.content.decode()


def test_default_language_is_chinese_even_for_unknown_accept_language(
    user_client: Client,
) -> None:
    response = user_client.get("/map/", HTTP_ACCEPT_LANGUAGE="fr")
    assert response["Content-Language"] == "zh-hans"
