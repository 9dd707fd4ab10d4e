"""The demo category catalogue and its default policies."""

import pytest

from cases.catalog import GROUPS, SUB_BY_CODE, SUBCATEGORIES, seed_categories
from cases.models import Category, Urgency
from dispatch.models import CategoryPolicy, Stage, TimeUnit
from dispatch.policies import (
    DEPARTMENT_KINDS,
    RULES,
    department_kind_for,
    hours,
    limits_for,
    seed_policies,
)

pytestmark = pytest.mark.django_db

ORIGIN_GROUPS = {"人口状况", "市政管理", "城市秩序", "社会稳定", "治安秩序", "为民服务", "扶贫帮困"}
EVENT_GROUPS = {"市容环境", "宣传广告", "施工管理", "街面秩序", "突发事件"}
COMPONENT_GROUPS = {"公用设施", "道路交通", "市容环境", "园林绿化", "房屋土地"}
STREET_KINDS = {k for k, (_, level) in DEPARTMENT_KINDS.items() if level == "street"}
DISTRICT_KINDS = {k for k, (_, level) in DEPARTMENT_KINDS.items() if level == "district"}


@pytest.fixture
def seeded() -> int:
    return seed_policies()


def subcategories() -> list[Category]:
    return list(Category.objects.filter(parent__isnull=False).select_related("parent"))


def policy(name: str, urgency: str) -> CategoryPolicy:
    return CategoryPolicy.objects.get(category__name=name, urgency=urgency)


def test_seeding_twice_changes_nothing() -> None:
    first = seed_policies()
    counts = (Category.objects.count(), CategoryPolicy.objects.count())
    snapshot = sorted(CategoryPolicy.objects.values_list("category__code", "urgency", "limits"))
    assert seed_policies() == first
    assert seed_categories() == len(SUBCATEGORIES)
    assert (Category.objects.count(), CategoryPolicy.objects.count()) == counts
    assert counts == (len(GROUPS) + len(SUBCATEGORIES), len(SUBCATEGORIES) * len(Urgency))
    again = sorted(CategoryPolicy.objects.values_list("category__code", "urgency", "limits"))
    assert again == snapshot


def test_seeding_restores_defaults_but_keeps_deactivation(seeded: int) -> None:
    Category.objects.filter(name="暴露垃圾").update(active=False, name_en="changed")
    CategoryPolicy.objects.filter(category__name="暴露垃圾").update(limits={})
    seed_policies()
    garbage = Category.objects.get(name="暴露垃圾")
    assert (garbage.active, garbage.name_en) == (False, "Exposed garbage")
    assert policy("暴露垃圾", Urgency.NORMAL).limits["handle"] == [4, "work_hours"]


def test_tree_shape(seeded: int) -> None:
    subs = subcategories()
    assert len(subs) >= 55
    assert seeded == len(subs) * len(Urgency)
    for sub in subs:
        assert sub.parent is not None and sub.parent.parent_id is None
        assert len(sub.parent.code) == 2 and sub.parent.code.isdigit()
        assert len(sub.code) == 4 and sub.code.isdigit()
        assert sub.code.startswith(sub.parent.code)
        assert sub.kind == sub.parent.kind
        assert sub.name_en and sub.examples
        assert sub.duplicate_radius_m > 0 and sub.duplicate_window_hours > 0
    assert all(group.children.exists() for group in Category.objects.filter(parent=None))


def test_groups_from_the_origin_document_and_city_management(seeded: int) -> None:
    groups = set(Category.objects.filter(parent=None).values_list("name", "kind"))
    names = {name for name, _ in groups}
    assert names >= ORIGIN_GROUPS
    assert {(n, "event") for n in EVENT_GROUPS} <= groups
    assert {(n, "component") for n in COMPONENT_GROUPS} <= groups
    shared = Category.objects.filter(parent=None, name="市容环境")
    assert sorted(shared.values_list("kind", flat=True)) == ["component", "event"]


def test_named_examples_and_their_duplicate_settings(seeded: int) -> None:
    expected = {
        "暴露垃圾": (50, 24),
        "占道经营": (100, 12),
        "井盖缺失": (20, 72),
        "违法建设": (100, 720),
        "噪声扰民": (200, 12),
        "邻里纠纷": (30, 168),
    }
    found = {
        c.name: (c.duplicate_radius_m, c.duplicate_window_hours)
        for c in Category.objects.filter(name__in=expected, parent__isnull=False)
    }
    assert found == expected
    assert Category.objects.get(name="井盖缺失").kind == "component"
    assert Category.objects.get(name="暴露垃圾").kind == "event"
    assert Category.objects.get(name="邻里纠纷").kind == "service"


def test_every_subcategory_has_a_complete_policy_per_urgency(seeded: int) -> None:
    policies = CategoryPolicy.objects.select_related("category")
    by_category: dict[str, set[str]] = {}
    for p in policies:
        by_category.setdefault(p.category.code, set()).add(p.urgency)
        assert set(p.limits) == set(Stage.values)  # jsonb keeps no key order
        for amount, unit in p.limits.values():
            assert isinstance(amount, int) and amount > 0
            assert unit in TimeUnit.values
    assert by_category == {sub.code: set(Urgency.values) for sub in subcategories()}


def test_components_go_to_the_owner_and_events_to_the_locality(seeded: int) -> None:
    for p in CategoryPolicy.objects.select_related("category"):
        assert p.department_kind in DEPARTMENT_KINDS
        if p.category.kind == Category.Kind.COMPONENT:
            assert (p.principle, p.department_kind in DISTRICT_KINDS) == ("owner", True)
        else:
            assert (p.principle, p.department_kind in STREET_KINDS) == ("locality", True)
        assert (p.principle, p.department_kind) == department_kind_for(p.category.code, p.urgency)


def test_more_urgent_is_never_slower(seeded: int) -> None:
    for p in CategoryPolicy.objects.filter(urgency=Urgency.NORMAL).select_related("category"):
        urgent = policy(p.category.name, Urgency.URGENT).limits
        critical = policy(p.category.name, Urgency.CRITICAL).limits
        for stage in Stage.values:
            normal_h, urgent_h = hours(tuple(p.limits[stage])), hours(tuple(urgent[stage]))
            assert hours(tuple(critical[stage])) <= urgent_h <= normal_h, (p, stage)
        assert critical["handle"][1] == TimeUnit.NATURAL_HOURS


def test_limits_from_practice(seeded: int) -> None:
    assert policy("暴露垃圾", Urgency.NORMAL).limits["handle"] == [4, "work_hours"]
    assert policy("违法建设", Urgency.NORMAL).limits["handle"] == [4, "work_hours"]
    assert policy("井盖缺失", Urgency.URGENT).limits["handle"] == [2, "natural_hours"]
    assert policy("井盖缺失", Urgency.CRITICAL).limits["handle"] == [1, "natural_hours"]
    assert policy("暴露垃圾", Urgency.URGENT).limits["handle"] == [2, "work_hours"]
    normal = policy("邻里纠纷", Urgency.NORMAL).limits
    assert {k: v for k, v in normal.items() if k != "handle"} == {
        "verify": [1, "work_hours"],
        "open": [1, "work_hours"],
        "dispatch": [1, "work_hours"],
        "accept": [2, "work_hours"],
        "check": [4, "work_hours"],
        "close": [1, "work_days"],
    }


def test_tables_agree_without_the_database() -> None:
    assert set(RULES) == set(SUB_BY_CODE)
    assert len(SUB_BY_CODE) == len(SUBCATEGORIES)
    assert {g.code for g in GROUPS} == {s.code[:2] for s in SUBCATEGORIES}
    assert len({(g.name, g.kind) for g in GROUPS}) == len(GROUPS)
    assert all(len(slug) <= 16 for slug in DEPARTMENT_KINDS)
    assert department_kind_for("0101", "urgent") == ("owner", "city")
    assert department_kind_for("0601", "normal") == ("locality", "sanitation")
    assert department_kind_for("1401", "critical") == ("locality", "mediation")
    assert limits_for("0803", "normal")["handle"] == [4, "work_hours"]
    with pytest.raises(KeyError):
        department_kind_for("01", "normal")
    with pytest.raises(ValueError):
        department_kind_for("0601", "whenever")
