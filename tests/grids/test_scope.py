"""grids.scope, the one territorial scope: a street member sees their street's rows, a
community member their community's, a grid member their grid's, the district everything,
someone without a region membership nothing — for rows that store their community (cases,
buildings) and rows that don't (people, through their grids)."""

from itertools import count

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q

from cases.models import Case, Category, Source, Status
from core.roles import Role
from grids.models import Level, Membership, Region
from grids.scope import EVERYTHING, NOTHING, TerritorialScope, scope_for_user
from population.models import Building, Person, Residence
from tests.factories import grid_point, person_in

pytestmark = pytest.mark.django_db

STREET = "110105001"
OTHER_STREET = "110105021"
_numbers = count(1)


@pytest.fixture
def world(territory: None) -> dict[str, Region]:
    """Four grids: two of one community, one of another community of the same street, one
    of another street; a case and a person in each, and a case outside the district."""
    street = Region.objects.get(code=STREET)
    community = Region.objects.filter(parent=street).order_by("code").first()
    assert community is not None
    g1, g2 = Region.objects.filter(parent=community).order_by("code")[:2]
    g3 = Region.objects.filter(parent__parent=street).exclude(parent=community).first()
    g4 = Region.objects.filter(level=Level.GRID, code__startswith=OTHER_STREET).first()
    assert g3 is not None and g4 is not None
    grids = {"g1": g1, "g2": g2, "g3": g3, "g4": g4}
    category = Category.objects.create(code="T01", name="测试", kind=Category.Kind.EVENT)
    for key, grid in grids.items():
        _case(category, key, grid)
        person_in(grid.code, name=key)
    _case(category, "outside", None)
    return {"street": street, "community": community, **grids}


def _case(category: Category, key: str, grid: Region | None) -> None:
    placed = {}
    if grid is not None:
        community = grid.parent
        assert community is not None
        placed = {"grid": grid, "community": community, "street_id": community.parent_id}
    Case.objects.create(
        number=f"T{next(_numbers):06d}",
        category=category,
        description=key,
        status=Status.REPORTED,
        source=Source.HOTLINE,
        location=grid_point(grid.code) if grid else None,
        outside_jurisdiction=grid is None,
        **placed,
    )


def _member(name: str, *regions: Region) -> User:
    user = get_user_model().objects.create_user(name, password="x")
    for region in regions:
        Membership.objects.create(user=user, region=region, role=Role.LEADER)
    return user


def _cases(scope: TerritorialScope) -> set[str]:
    return set(Case.objects.filter(scope.q()).values_list("description", flat=True))


def _people(scope: TerritorialScope) -> set[str]:
    return set(Person.objects.filter(scope.q(community=False)).values_list("name", flat=True))


ALL_GRIDS = {"g1", "g2", "g3", "g4"}


def test_each_member_sees_their_region_only(world: dict[str, Region]) -> None:
    district = Region.objects.get(code=settings.HOME_DISTRICT_CODE)
    expected = {
        _member("street", world["street"]): {"g1", "g2", "g3"},
        _member("community", world["community"]): {"g1", "g2"},
        _member("grid", world["g1"]): {"g1"},
        _member("two_grids", world["g2"], world["g4"]): {"g2", "g4"},
        _member("street_and_grid", world["street"], world["g4"]): {"g1", "g2", "g3", "g4"},
        _member("district", district): ALL_GRIDS | {"outside"},
        _member("nobody"): set(),
    }
    for user, cases in expected.items():
        scope = scope_for_user(user)
        assert _cases(scope) == cases, user.username
        assert _people(scope) == cases - {"outside"}, user.username
        assert scope.empty is (not cases), user.username


def test_superuser_and_anonymous(world: dict[str, Region]) -> None:
    boss = get_user_model().objects.create_superuser("boss", password="x")
    assert scope_for_user(boss) == EVERYTHING
    assert scope_for_user(AnonymousUser()) == NOTHING
    assert _cases(EVERYTHING) == ALL_GRIDS | {"outside"}
    assert _cases(NOTHING) == set() and _people(NOTHING) == set()


def test_rows_without_a_community_column_follow_the_community_grids(
    world: dict[str, Region],
) -> None:
    """Looked up beforehand (a user's scope) or through a semi-join (built from codes),
    the grids of a community give the same people."""
    community = world["community"]
    looked_up = scope_for_user(_member("community", community))
    assert looked_up.community_grid_ids == frozenset(
        Region.objects.filter(parent=community).values_list("id", flat=True)
    )
    from_codes = TerritorialScope.of_region(community)
    assert from_codes.community_grid_ids is None
    assert _people(looked_up) == _people(from_codes) == {"g1", "g2"}
    assert from_codes.with_community_grids() == TerritorialScope(
        community_ids=frozenset({community.id}),
        codes=frozenset({community.code}),
        community_grid_ids=looked_up.community_grid_ids,
    )


def test_a_prefix_reaches_the_place_through_a_relation(world: dict[str, Region]) -> None:
    scope = TerritorialScope.of_region(world["street"])
    units = Residence.objects.filter(scope.q("unit__", community=False))
    assert set(units.values_list("person__name", flat=True)) == {"g1", "g2", "g3"}
    buildings = Building.objects.filter(scope.q())
    assert buildings.count() == 3


def test_from_codes_classifies_codes_by_length(world: dict[str, Region]) -> None:
    street, community, g1 = world["street"], world["community"], world["g1"]
    ids = {r.code: r.id for r in (street, community, g1)}
    scope = TerritorialScope.from_codes([*ids, "110105999999999"], ids)  # no id: ignored
    assert scope == TerritorialScope(
        street_ids=frozenset({street.id}),
        community_ids=frozenset({community.id}),
        grid_ids=frozenset({g1.id}),
        codes=frozenset(ids),
    )
    # The home district, or everything=True, is everything; another district nothing.
    assert TerritorialScope.from_codes([settings.HOME_DISTRICT_CODE], {}).everything
    assert TerritorialScope.from_codes([g1.code], ids, everything=True).everything
    dongcheng = Region.objects.get(code="110101")
    assert TerritorialScope.from_codes([dongcheng.code], {dongcheng.code: dongcheng.id}).empty
    assert TerritorialScope.of_region(dongcheng).empty
    assert TerritorialScope.of_region(
        Region.objects.get(code=settings.HOME_DISTRICT_CODE)
    ).everything


def test_covers(world: dict[str, Region]) -> None:
    scope = TerritorialScope.of_region(world["community"])
    assert scope.covers(world["g1"].code) and scope.covers(world["community"].code)
    assert not scope.covers(world["street"].code) and not scope.covers(world["g4"].code)
    assert EVERYTHING.covers(world["g4"].code) and EVERYTHING.covers(settings.HOME_DISTRICT_CODE)
    assert not EVERYTHING.covers("110101")  # a neighbouring district holds none of our rows
    assert not NOTHING.covers(world["g1"].code)


def test_widening_a_scope_with_an_or(world: dict[str, Region]) -> None:
    """How a caller adds rows of its own (dispatch: a department's tasks) to a scope."""
    g4_case = Case.objects.get(description="g4")
    for scope, expected in (
        (TerritorialScope.of_region(world["g1"]), {"g1", "g4"}),
        (NOTHING, {"g4"}),
    ):
        q = scope.q() | Q(pk=g4_case.pk)
        assert set(Case.objects.filter(q).values_list("description", flat=True)) == expected
