"""Categories and policies as intake reads them: cached per process, never stale after an
edit in this process, and refreshed from others through the shared version."""

import time
from typing import Any

import pytest
from django.test import override_settings

from cases.models import Category
from core import shared_cache
from dispatch import reference
from dispatch.models import CategoryPolicy
from dispatch.services.intake import IntakeInput, case_intake
from dispatch.services.sla import policy_snapshot
from tests.factories import grid_point, module_demo, user

pytestmark = pytest.mark.django_db
demo = module_demo()


def report(category: str = "0601") -> Any:
    lng, lat = grid_point()
    data = IntakeInput(category, "暴露垃圾", "grid_worker", "normal", lng, lat)
    return case_intake(user=user("jianwai_grid1"), data=data).case


def test_lookups_need_no_query_once_loaded(demo: None, django_assert_num_queries: Any) -> None:
    leaf = reference.active_leaf("0601")
    assert leaf is not None and leaf.name == "暴露垃圾"
    with django_assert_num_queries(0):
        for _ in range(100):
            assert reference.active_leaf("0601") == leaf
            assert reference.category_policy(leaf.id, "normal") is not None
    assert reference.active_leaf("06") is None  # a main category is not a subcategory
    assert reference.active_leaf("9999") is None


def test_an_edited_policy_applies_to_the_next_case_at_once(demo: None) -> None:
    assert report().sla_policy["limits"]["dispatch"] != [3, "work_days"]
    policy = CategoryPolicy.objects.get(category__code="0601", urgency="normal")
    policy.limits["dispatch"] = [3, "work_days"]
    policy.save()
    case = report()
    assert case.sla_policy["limits"]["dispatch"] == [3, "work_days"]
    assert policy_snapshot(category_id=policy.category_id, urgency="normal")["limits"][
        "dispatch"
    ] == [3, "work_days"]


def test_a_deactivated_subcategory_is_refused_at_once(demo: None) -> None:
    report()  # loads the catalog
    category = Category.objects.get(code="0601")
    category.active = False
    category.save()
    assert reference.active_leaf("0601") is None


def test_other_processes_edits_arrive_through_the_version(
    demo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = CategoryPolicy.objects.get(category__code="0601", urgency="normal")
    with override_settings(SLA_CALENDAR_REFRESH_SECONDS=3600):
        before = reference.category_policy(policy.category_id, "normal")
        assert before is not None
        # As another process would: no signal here, only its version bump after commit.
        CategoryPolicy.objects.filter(pk=policy.pk).update(principle="owner", department_kind="x")
        reference.bump_version()
        assert reference.category_policy(policy.category_id, "normal") == before
        assert before.department_kind != "x"  # not looked at again before the interval
        later = time.monotonic() + 3601
        monkeypatch.setattr(shared_cache, "monotonic", lambda: later)
        reloaded = reference.category_policy(policy.category_id, "normal")
        assert reloaded is not None and reloaded.department_kind == "x"


def test_a_change_rolled_back_is_never_cached(demo: None) -> None:
    from django.db import transaction

    assert reference.active_leaf("0601") is not None
    with pytest.raises(RuntimeError), transaction.atomic():
        category = Category.objects.get(code="0601")
        category.active = False
        category.save()
        assert reference.active_leaf("0601") is None  # this transaction's own view
        raise RuntimeError("roll back")
    leaf = reference.active_leaf("0601")
    assert leaf is not None and leaf.active
