"""Categories and their policies as intake reads them: kept per process, not per request.

Every report looks up its subcategory and the policy it is opened under; both change a
few times a year in admin. A save or delete anywhere reaches this process within
SLA_CALENDAR_REFRESH_SECONDS (the same interval as the work calendar's overrides).
"""

from dataclasses import dataclass

from cases.models import Category
from core.shared_cache import SharedVersionCache

from . import calendar
from .models import CategoryPolicy


@dataclass(frozen=True)
class _Catalog:
    leaves: dict[str, Category]  # code → active subcategory
    policies: dict[tuple[int, str], CategoryPolicy]  # (category id, urgency) → policy


def _load() -> _Catalog:
    leaves = Category.objects.filter(active=True, parent__isnull=False)
    return _Catalog(
        leaves={c.code: c for c in leaves},
        policies={(p.category_id, p.urgency): p for p in CategoryPolicy.objects.all()},
    )


_catalog = SharedVersionCache("dispatch:catalog", _load, calendar.refresh_seconds)


def active_leaf(code: str) -> Category | None:
    """The active subcategory with this code (what a report may be filed under)."""
    return _catalog.get().leaves.get(code)


def category_policy(category_id: int, urgency: str) -> CategoryPolicy | None:
    return _catalog.get().policies.get((category_id, urgency))


def reset_cache() -> None:
    _catalog.reset()


def bump_version() -> None:
    """After changing categories or policies without signals (update(), bulk_create())."""
    _catalog.bump_version()


def connect_signals() -> None:
    _catalog.connect(Category, CategoryPolicy)
