"""Fixtures for the territory's own tests."""

from collections.abc import Iterator

import pytest
from django.db import connection
from pytest_django import DjangoDbBlocker


@pytest.fixture(scope="module")
def committed_territory(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker
) -> Iterator[None]:
    """The demo territory committed to the test database for one module, then removed.

    The shared ``territory`` fixture builds inside the test's transaction, which the
    rollback discards, so a module using it in every test would rebuild the territory
    (seconds) each time. Built here once, ``territory`` finds it and does nothing, and each
    test's own changes still roll back. Removing it at the end keeps modules that make a
    small territory of their own, with the same codes, unaffected.
    """
    from grids.territory import ensure_demo_territory, expected_codes

    with django_db_blocker.unblock():
        stats = ensure_demo_territory()
    yield
    if stats["built"]:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            # One statement: the parent foreign key is checked at commit, when the
            # children are gone too.
            cursor.execute("DELETE FROM grids_region WHERE code = ANY(%s)", [expected_codes()])
