"""The generated staff: every grid its grid worker, every street its operators, shift lead,
dispatcher and leader, the district centre the same, every department a handler.

Usernames are derived from region and department codes (gw_<grid code>, op_<street code>,
h_<department code> …), so two runs give the same accounts and seed_demo's own accounts are
never touched. Passwords are unusable: these are actors in the log, not logins.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from core.roles import Role
from dispatch.models import Department, DepartmentMembership
from grids.models import Level, Membership, Region

UNUSABLE_PASSWORD = "!history"  # Django treats a leading "!" as unusable
CENTRE_ROLES = {
    Role.INTAKE_OPERATOR: "op",
    Role.SHIFT_LEAD: "lead",
    Role.DISPATCHER: "disp",
    Role.LEADER: "leader",
}


@dataclass
class Staff:
    """User ids by place: grid workers by grid id, centre roles by centre code (street code
    or the district's), handlers by department id."""

    grid_worker: dict[int, int] = field(default_factory=dict)
    centre: dict[tuple[str, str], int] = field(default_factory=dict)
    handler: dict[int, int] = field(default_factory=dict)


def _wanted() -> tuple[list[tuple[str, str]], list[tuple[str, int, str]], list[tuple[str, int]]]:
    """(username, full name) rows, region memberships and department memberships."""
    users: list[tuple[str, str]] = []
    regions: list[tuple[str, int, str]] = []
    depts: list[tuple[str, int]] = []
    grids = Region.objects.filter(level=Level.GRID).values_list("id", "code", "name")
    for gid, code, name in grids.order_by("code"):
        users.append((f"gw_{code}", f"{name}网格员"))
        regions.append((f"gw_{code}", gid, Role.GRID_WORKER))
    centres = Region.objects.filter(level=Level.STREET) | Region.objects.filter(
        code=settings.HOME_DISTRICT_CODE
    )
    for rid, code, name in centres.order_by("code").values_list("id", "code", "name"):
        for role, slug in CENTRE_ROLES.items():
            users.append((f"{slug}_{code}", f"{name}{role.label}"))
            regions.append((f"{slug}_{code}", rid, role))
    for did, code, name in Department.objects.order_by("code").values_list("id", "code", "name"):
        users.append((f"h_{code}", f"{name}处置员"))
        depts.append((f"h_{code}", did))
    return users, regions, depts


@transaction.atomic
def ensure_staff() -> Staff:
    """Create the accounts and memberships that are missing (bulk, idempotent)."""
    users, regions, depts = _wanted()
    User.objects.bulk_create(
        [User(username=u, first_name=n[:150], password=UNUSABLE_PASSWORD) for u, n in users],
        ignore_conflicts=True,
        batch_size=2000,
    )
    ids = dict(
        User.objects.filter(username__in=[u for u, _ in users]).values_list("username", "id")
    )
    Membership.objects.bulk_create(
        [Membership(user_id=ids[u], region_id=r, role=role) for u, r, role in regions],
        ignore_conflicts=True,
        batch_size=2000,
    )
    have = set(DepartmentMembership.objects.values_list("user_id", "department_id"))
    DepartmentMembership.objects.bulk_create(
        [
            DepartmentMembership(user_id=ids[u], department_id=d)
            for u, d in depts
            if (ids[u], d) not in have
        ],
        batch_size=2000,
    )
    return load_staff()


def load_staff() -> Staff:
    staff = Staff()
    rows = Membership.objects.filter(user__username__regex=r"^(gw|op|lead|disp|leader)_\d+$")
    for user_id, role, region_id, code in rows.values_list(
        "user_id", "role", "region_id", "region__code"
    ):
        if role == Role.GRID_WORKER:
            staff.grid_worker[region_id] = user_id
        else:
            staff.centre[(code, role)] = user_id
    for user_id, dept_id in DepartmentMembership.objects.filter(
        user__username__startswith="h_"
    ).values_list("user_id", "department_id"):
        staff.handler[dept_id] = user_id
    return staff
