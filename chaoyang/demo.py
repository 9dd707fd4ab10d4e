"""The demo: territory, departments and one account per role, loaded idempotently.

Lives in the project package because it spans apps (grids, dispatch, later cases and
population); no app imports it.
"""

from dataclasses import asdict, dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from core.roles import Role
from dispatch.models import Department, DepartmentMembership
from dispatch.policies import DEPARTMENT_KINDS, seed_policies
from grids.models import Level, Membership, Region
from grids.territory import ensure_demo_territory

# Street codes are synthetic (001–043 in the order of the streets file): 建外 and 望京.
DEMO_STREETS = {"110105001": "jianwai", "110105021": "wangjing"}
# (username slug, name, kind): kinds are the routing kinds of dispatch.policies.
STREET_DEPARTMENTS = [("cg", "城管执法队", "enforcement"), ("hw", "环卫所", "sanitation")]
DISTRICT_DEPARTMENTS = [
    ("cgw", "区城市管理委员会", "city"),
    ("zjw", "区住房和城乡建设委员会", "housing"),
]
DATA_ADMIN_GROUP = "数据管理员"


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    role_display: str
    full_name: str
    jurisdiction_code: str
    jurisdiction_name: str
    department: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def demo_password() -> str:
    return str(settings.DEMO_PASSWORD)


def _street_roles(street: Region) -> list[tuple[str, Role, Region, str]]:
    slug = DEMO_STREETS[street.code]
    first_community = street.children.order_by("code").first()
    assert first_community is not None, f"street {street.code} has no communities"
    grids = list(first_community.children.order_by("code")[:2])
    accounts: list[tuple[str, Role, Region, str]] = [
        (f"{slug}_operator", Role.INTAKE_OPERATOR, street, "受理员"),
        (f"{slug}_lead", Role.SHIFT_LEAD, street, "值班长"),
        (f"{slug}_dispatcher", Role.DISPATCHER, street, "派遣员"),
        (f"{slug}_leader", Role.LEADER, street, "街道领导"),
    ]
    for n, grid in enumerate(grids, start=1):
        accounts.append((f"{slug}_grid{n}", Role.GRID_WORKER, grid, f"网格员{n}"))
    return accounts


def _user(username: str, full_name: str, *, staff: bool = False):
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=username, defaults={"first_name": full_name, "is_staff": staff}
    )
    if created or not user.check_password(demo_password()):
        user.set_password(demo_password())
    user.first_name = full_name
    user.is_staff = staff or user.is_superuser
    user.save()
    return user


def _data_admin_group() -> Group:
    group, _ = Group.objects.get_or_create(name=DATA_ADMIN_GROUP)
    perms = Permission.objects.filter(
        content_type__app_label__in=["grids", "dispatch", "population"]
    )
    group.permissions.set(perms)
    return group


def _all_departments(district: Region) -> None:
    """Every street gets a department of each street-level kind, the district one of each
    district kind, so any case in the demo territory can be routed and dispatched."""
    streets = list(Region.objects.filter(level=Level.STREET))
    existing = set(Department.objects.values_list("code", flat=True))
    rows = []
    for kind, (name, level) in DEPARTMENT_KINDS.items():
        places = streets if level == Department.Level.STREET else [district]
        for region in places:
            code = f"{region.code}-{kind}"
            if (
                code in existing
                or any(region.code in DEMO_STREETS and k == kind for _, _, k in STREET_DEPARTMENTS)
                or (region == district and kind in {k for _, _, k in DISTRICT_DEPARTMENTS})
            ):
                continue
            label = name if level == Department.Level.DISTRICT else f"{region.name}{name}"
            rows.append(Department(code=code, name=label, level=level, kind=kind, region=region))
    Department.objects.bulk_create(rows, ignore_conflicts=True)


@transaction.atomic
def seed_demo() -> list[DemoUser]:
    """Load (or bring up to date) the demo; returns the demo accounts."""
    ensure_demo_territory()
    seed_policies()  # the category tree and its time limits
    district = Region.objects.get(code=settings.HOME_DISTRICT_CODE)
    out: list[DemoUser] = []

    def member(username: str, role: Role, region: Region, label: str) -> None:
        user = _user(username, f"{region.name}{label}")
        Membership.objects.get_or_create(user=user, region=region, role=role)
        out.append(
            DemoUser(
                username,
                demo_password(),
                role.value,
                str(role.label),
                user.first_name,
                region.code,
                region.name,
            )
        )

    def department_handler(dept: Department, username: str) -> None:
        user = _user(username, f"{dept.name}处置员")
        DepartmentMembership.objects.get_or_create(user=user, department=dept)
        out.append(
            DemoUser(
                username,
                demo_password(),
                Role.HANDLER.value,
                str(Role.HANDLER.label),
                user.first_name,
                dept.region.code,
                dept.region.name,
                dept.name,
            )
        )

    for code, slug in DEMO_STREETS.items():
        street = Region.objects.get(code=code, level=Level.STREET)
        for username, role, region, label in _street_roles(street):
            member(username, role, region, label)
        for dslug, dname, kind in STREET_DEPARTMENTS:
            dept, _ = Department.objects.update_or_create(
                code=f"{code}-{kind}",
                defaults={
                    "name": f"{street.name}{dname}",
                    "level": Department.Level.STREET,
                    "kind": kind,
                    "region": street,
                },
            )
            department_handler(dept, f"{slug}_{dslug}")

    member("district_leader", Role.LEADER, district, "区领导")
    member("district_dispatcher", Role.DISPATCHER, district, "区派遣员")
    # The district centre opens, closes and calls back the cases it handles (escalated, or
    # registered outside any street) just as a street centre does.
    member("district_lead", Role.SHIFT_LEAD, district, "区值班长")
    member("district_operator", Role.INTAKE_OPERATOR, district, "区受理员")
    for dslug, dname, kind in DISTRICT_DEPARTMENTS:
        dept, _ = Department.objects.update_or_create(
            code=f"{district.code}-{kind}",
            defaults={
                "name": dname,
                "level": Department.Level.DISTRICT,
                "kind": kind,
                "region": district,
            },
        )
        department_handler(dept, f"district_{dslug}")

    _all_departments(district)
    admin = _user("data_admin", "数据管理员", staff=True)
    admin.groups.add(_data_admin_group())
    Membership.objects.get_or_create(user=admin, region=district, role=Role.DATA_ADMIN)
    out.append(
        DemoUser(
            "data_admin",
            demo_password(),
            Role.DATA_ADMIN.value,
            str(Role.DATA_ADMIN.label),
            admin.first_name,
            district.code,
            district.name,
        )
    )
    return out


def demo_users() -> list[DemoUser]:
    """The demo accounts as they are in the database now (without changing anything)."""
    out: list[DemoUser] = []
    usernames = _demo_usernames()
    for m in (
        Membership.objects.filter(user__username__in=usernames)
        .select_related("user", "region")
        .order_by("user__username")
    ):
        out.append(
            DemoUser(
                m.user.username,
                demo_password(),
                m.role,
                str(Role(m.role).label),
                m.user.first_name,
                m.region.code,
                m.region.name,
            )
        )
    for dm in (
        DepartmentMembership.objects.filter(user__username__in=usernames)
        .select_related("user", "department__region")
        .order_by("user__username")
    ):
        out.append(
            DemoUser(
                dm.user.username,
                demo_password(),
                Role.HANDLER.value,
                str(Role.HANDLER.label),
                dm.user.first_name,
                dm.department.region.code,
                dm.department.region.name,
                dm.department.name,
            )
        )
    return out


def _demo_usernames() -> list[str]:
    names = ["district_leader", "district_dispatcher", "district_lead", "district_operator"]
    names.append("data_admin")
    names += [f"district_{d[0]}" for d in DISTRICT_DEPARTMENTS]
    for slug in DEMO_STREETS.values():
        names += [f"{slug}_{r}" for r in ("operator", "lead", "dispatcher", "leader")]
        names += [f"{slug}_grid{n}" for n in (1, 2)]
        names += [f"{slug}_{d[0]}" for d in STREET_DEPARTMENTS]
    return names
