"""The navigation offers each role its own pages, and nothing it cannot use."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

LINKS = {
    "centre": "/centre/",
    "hotline": "/field/hotline/",
    "tasks": "/field/tasks/",
    "report": "/field/report/",
    "inbox": "/field/inbox/",
    "population": "/population/",
}


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("jianwai_operator", {"centre", "hotline", "population"}),
        ("jianwai_dispatcher", {"centre", "population"}),
        ("jianwai_grid1", {"tasks", "report", "population"}),
        ("jianwai_cg", {"inbox"}),
        ("district_leader", {"centre", "population"}),
    ],
)
def test_nav_links_follow_roles(territory: None, username: str, expected: set[str]) -> None:
    call_command("seed_demo", stdout=StringIO())
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    html = client.get("/map/").content.decode()
    nav = html.split('<nav aria-label="主导航">', 1)[1].split("</nav>", 1)[0]
    shown = {name for name, href in LINKS.items() if f'href="{href}"' in nav}
    assert shown == expected
