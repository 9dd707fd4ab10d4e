"""The navigation offers each role its own pages, and nothing it cannot use."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from cases.models import Source
from dispatch.actors import actor_for
from dispatch.workflow import intake_channels

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


def _top_bar(html: str) -> str:
    return html.split('<nav aria-label="主导航">', 1)[1].split("</nav>", 1)[0]


@pytest.mark.parametrize(
    ("username", "page", "shown", "hidden"),
    [
        ("jianwai_grid1", "/field/tasks/", {"tasks", "report"}, {"inbox", "centre"}),
        ("jianwai_cg", "/field/inbox/", {"inbox"}, {"tasks", "report", "centre"}),
        ("jianwai_operator", "/field/hotline/", {"centre", "hotline"}, {"tasks", "inbox"}),
    ],
)
def test_field_pages_keep_the_top_bar_and_field_users_see_no_api_docs(
    territory: None, username: str, page: str, shown: set[str], hidden: set[str]
) -> None:
    call_command("seed_demo", stdout=StringIO())
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    response = client.get(page)
    assert response.status_code == 200
    nav = _top_bar(response.content.decode())
    links = {name for name, href in LINKS.items() if f'href="{href}"' in nav}
    assert shown <= links and not hidden & links
    assert ('href="/api/docs/"' in nav) is ("centre" in shown)


@pytest.mark.parametrize(
    ("username", "docs"),
    [("jianwai_grid1", False), ("jianwai_cg", False), ("jianwai_dispatcher", True)],
)
def test_api_docs_link_is_for_the_centre(territory: None, username: str, docs: bool) -> None:
    call_command("seed_demo", stdout=StringIO())
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    nav = _top_bar(client.get("/map/").content.decode())
    assert ('href="/api/docs/"' in nav) is docs


def test_a_superuser_without_roles_sees_api_docs_and_population(territory: None) -> None:
    admin = get_user_model().objects.create_superuser("root_nav", "root@example.org", "x")
    client = Client()
    client.force_login(admin)
    nav = _top_bar(client.get("/map/").content.decode())
    assert 'href="/api/docs/"' in nav and 'href="/population/"' in nav
    assert 'href="/field/tasks/"' not in nav and 'href="/field/inbox/"' not in nav


@pytest.mark.parametrize(
    ("username", "status"),
    [("jianwai_operator", 200), ("jianwai_lead", 200), ("jianwai_dispatcher", 403)],
)
def test_the_hotline_page_follows_the_intake_rule(
    territory: None, username: str, status: int
) -> None:
    """Only roles the intake rule lets report through the hotline get the form (a
    dispatcher's call would be refused by intake, so the page does not offer it)."""
    call_command("seed_demo", stdout=StringIO())
    user = get_user_model().objects.get(username=username)
    assert (Source.HOTLINE in intake_channels(actor_for(user).roles)) is (status == 200)
    client = Client()
    client.force_login(user)
    assert client.get("/field/hotline/").status_code == status
