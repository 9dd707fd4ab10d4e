"""seed_demo and demo_users: idempotent, one account per role, scripts can log in."""

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from core.roles import Role
from dispatch.models import Department
from grids.models import Membership

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_covers_every_role(territory: None) -> None:
    call_command("seed_demo", stdout=StringIO())
    counts = (
        get_user_model().objects.count(),
        Membership.objects.count(),
        Department.objects.count(),
    )
    call_command("seed_demo", stdout=StringIO())
    assert counts == (
        get_user_model().objects.count(),
        Membership.objects.count(),
        Department.objects.count(),
    )

    out = StringIO()
    call_command("demo_users", "--json", stdout=out)
    users = json.loads(out.getvalue())
    roles_by_street: dict[str, set[str]] = {}
    for u in users:
        roles_by_street.setdefault(u["jurisdiction_code"][:9], set()).add(u["role"])
    street_roles = {
        Role.INTAKE_OPERATOR,
        Role.SHIFT_LEAD,
        Role.DISPATCHER,
        Role.LEADER,
        Role.GRID_WORKER,
        Role.HANDLER,
    }
    streets = [code for code in roles_by_street if len(code) == 9]
    assert len(streets) >= 2
    for code in streets:
        assert roles_by_street[code] >= {r.value for r in street_roles}, code
    grid_workers = [u for u in users if u["role"] == Role.GRID_WORKER]
    assert all(len(u["jurisdiction_code"]) == 15 for u in grid_workers)
    district_roles = {u["role"] for u in users if u["jurisdiction_code"] == "110105"}
    assert {Role.LEADER, Role.DISPATCHER, Role.DATA_ADMIN, Role.HANDLER} <= district_roles
    assert Department.objects.filter(level="district").count() >= 2
    # Every street can route: it has a department of each street-level kind.
    from dispatch.policies import DEPARTMENT_KINDS

    street_kinds = {k for k, (_n, level) in DEPARTMENT_KINDS.items() if level == "street"}
    assert Department.objects.filter(level="street").count() == 43 * len(street_kinds)


def test_demo_logins_work_through_the_api(territory: None) -> None:
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()
    call_command("demo_users", "--json", stdout=out)
    for u in json.loads(out.getvalue()):
        response = APIClient().post(
            "/api/v1/auth/token/", {"username": u["username"], "password": u["password"]}
        )
        assert response.status_code == 200, u["username"]


def test_demo_users_without_seed_says_what_to_do() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="seed_demo"):
        call_command("demo_users", stdout=StringIO())


def test_memberships_scope_each_demo_user_to_their_region(territory: None) -> None:
    from grids.models import Region

    call_command("seed_demo", stdout=StringIO())
    users = get_user_model().objects

    def regions(username: str) -> list[Region]:
        user = users.get(username=username)
        return list(Region.objects.filter(memberships__user=user).distinct().order_by("code"))

    worker_regions = regions("jianwai_grid1")
    assert len(worker_regions) == 1
    assert worker_regions[0].level == 4
    assert worker_regions[0].code.startswith("110105001")
    assert [r.code for r in regions("wangjing_lead")] == ["110105021"]
    # Department handlers hold no territorial membership: departments scope them.
    assert not regions("jianwai_cg")
