"""insert_row: the same row as save(), its statement cached; save() whenever save() would
do more (signal receivers)."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.gis.geos import Point
from django.db.models.signals import post_save
from django.utils import timezone

from cases.models import Case, CaseEvent, Category
from chaoyang.db import insert_row
from tests.dispatch.demo_data import module_demo, user

pytestmark = pytest.mark.django_db
demo = module_demo()


DEADLINE = timezone.now() + timedelta(hours=4)


def new_case(number: str, reporter: User) -> Case:
    return Case(
        number=number,
        category=Category.objects.get(code="0601"),
        urgency="urgent",
        description="暴露垃圾",
        location=Point(116.4612345, 39.9087654, srid=4326),
        address="建国路 88 号",
        source="grid_worker",
        reporter=reporter,
        citizen_name="王先生",
        status="reported",
        idempotency_key=f"k-{number}",
        sla_policy={"limits": {"dispatch": [4, "work_hours"]}, "principle": "locality"},
        deadline=DEADLINE,
    )


def columns(case: Case) -> dict[str, Any]:
    skip = {"id", "number", "idempotency_key", "created_at", "updated_at"}
    row = Case.objects.filter(pk=case.pk).values().get()
    return {k: v for k, v in row.items() if k not in skip}


def test_the_row_is_the_one_save_writes(demo: None) -> None:
    reporter = user("jianwai_grid1")
    saved, inserted = new_case("A-1", reporter), new_case("A-2", reporter)
    saved.save()
    before = timezone.now()
    insert_row(inserted)
    assert inserted.pk is not None and inserted.pk != saved.pk
    assert not inserted._state.adding
    assert columns(inserted) == columns(saved)
    stored = Case.objects.get(pk=inserted.pk)
    assert stored.location is not None and inserted.location is not None
    assert stored.location.equals_exact(inserted.location, 1e-9)
    assert stored.created_at == inserted.created_at and stored.created_at >= before  # auto_now_add
    assert stored.sla_policy == {"limits": {"dispatch": [4, "work_hours"]}, "principle": "locality"}


def test_an_event_gets_its_time_and_data(demo: None) -> None:
    case = new_case("B-1", user("jianwai_grid1"))
    insert_row(case)
    event = CaseEvent(case=case, action="report", to_status="reported", data={"source": "x"})
    insert_row(event)
    stored = CaseEvent.objects.get(pk=event.pk)
    assert (stored.case_id, stored.action, stored.data) == (case.pk, "report", {"source": "x"})
    assert stored.at == event.at and stored.actor_id is None


def test_an_unsaved_related_object_is_refused_as_save_refuses_it(demo: None) -> None:
    case = new_case("C-1", user("jianwai_grid1"))  # never saved
    with pytest.raises(ValueError, match="unsaved related object"):
        insert_row(CaseEvent(case=case, action="report"))


def test_save_signal_receivers_are_not_skipped(demo: None) -> None:
    seen: list[int] = []

    def receiver(sender: Any, instance: CaseEvent, created: bool, **kwargs: Any) -> None:
        seen.append(instance.pk)

    post_save.connect(receiver, sender=CaseEvent, dispatch_uid="test_db_receiver")
    try:
        case = new_case("D-1", user("jianwai_grid1"))
        insert_row(case)
        event = CaseEvent(case=case, action="report")
        insert_row(event)
    finally:
        post_save.disconnect(dispatch_uid="test_db_receiver", sender=CaseEvent)
    assert seen == [event.pk]


def test_prepared_statements_join_the_transaction(demo: None) -> None:
    """fetch_prepared runs on Django's connection: it sees what the current transaction
    wrote, before and after the statement is prepared (the threshold is 5 calls)."""
    from datetime import date

    from django.db import connection, transaction

    from cases.models import CaseNumberCounter
    from chaoyang.db import fetch_prepared

    sql = "SELECT last FROM cases_casenumbercounter WHERE day = %s"
    with transaction.atomic():
        CaseNumberCounter.objects.create(day=date(1999, 1, 1), last=41)
        for i in range(8):
            CaseNumberCounter.objects.filter(day=date(1999, 1, 1)).update(last=41 + i)
            assert fetch_prepared(sql, [date(1999, 1, 1)]) == [(41 + i,)]
        assert connection.in_atomic_block
    assert fetch_prepared(sql, [date(1999, 1, 2)]) == []


def test_an_explicit_primary_key_is_kept(demo: None) -> None:
    case = new_case("E-1", user("jianwai_grid1"))
    case.pk = 987_654_321
    insert_row(case)  # as save(force_insert=True): the given key, not a new one
    assert Case.objects.filter(pk=987_654_321, number="E-1").exists()


def test_a_failed_insert_marks_the_transaction_for_rollback(demo: None) -> None:
    from django.db import IntegrityError, transaction
    from django.db.transaction import TransactionManagementError

    reporter = user("jianwai_grid1")
    insert_row(new_case("F-1", reporter))
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            insert_row(new_case("F-1", reporter))  # the same number and key
        with pytest.raises(TransactionManagementError):
            Case.objects.count()  # Django's own message, not "current transaction is aborted"
