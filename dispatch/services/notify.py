"""Notifications: in-app rows written with the change, email and SMS sent after commit.

External channels are pluggable senders (settings.NOTIFY_SENDERS, dotted paths); each
gets the committed notification rows. In-app rows are the record; a lost email or SMS
never loses the notification itself.
"""

from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.core.signals import setting_changed
from django.db import transaction
from django.utils.module_loading import import_string

from cases.models import Case
from core.roles import Role
from dispatch.models import Assignment, DepartmentMembership, Notification
from dispatch.workflow import Recipients, centre_code
from grids.models import Membership


class Sender(Protocol):
    def send(self, notifications: list[Notification]) -> None: ...


class EmailSender:
    """Mails each notification to its user, when the user has an address."""

    def send(self, notifications: list[Notification]) -> None:
        for n in notifications:
            if n.user.email:
                send_mail("朝阳网格通知", n.message, None, [n.user.email], fail_silently=True)


@lru_cache(maxsize=1)
def senders() -> tuple[Sender, ...]:
    return tuple(import_string(path)() for path in settings.NOTIFY_SENDERS)


def _senders_changed(*, setting: str, **kwargs: object) -> None:
    # Settings change at run time only in tests (override_settings): drop the cached senders.
    if setting == "NOTIFY_SENDERS":
        senders.cache_clear()


setting_changed.connect(_senders_changed, dispatch_uid="dispatch.notify.senders")


def _users_with_role_at(role: str, codes: Iterable[str]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = defaultdict(set)
    for code, user_id in Membership.objects.filter(
        role=role, region__code__in=set(codes)
    ).values_list("region__code", "user_id"):
        out[code].add(user_id)
    return out


def _handlers_of(department_ids: Iterable[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    for dept, user_id in DepartmentMembership.objects.filter(
        department_id__in=set(department_ids)
    ).values_list("department_id", "user_id"):
        out[dept].add(user_id)
    return out


def _write(rows: list[Notification]) -> None:
    if not rows:
        return
    Notification.objects.bulk_create(rows, batch_size=2000)
    if senders():
        ids = [n.id for n in rows if n.id is not None]
        from dispatch.tasks import deliver_notifications

        transaction.on_commit(lambda: deliver_notifications.delay(ids))


def notify_light_changes(*, red_ids: list[int], yellow_ids: list[int]) -> None:
    """Tell the handling centre's dispatchers and the assigned department."""
    ids = red_ids + yellow_ids
    if not ids:
        return
    district = settings.HOME_DISTRICT_CODE
    cases = list(
        Case.objects.filter(id__in=ids).values_list(
            "id", "number", "handling_level", "street__code"
        )
    )
    centre = {
        cid: (code if level == "street" and code else district) for cid, _n, level, code in cases
    }
    dispatchers = _users_with_role_at(Role.DISPATCHER, set(centre.values()))
    assigned = dict(
        Assignment.objects.filter(case_id__in=ids, active=True).values_list(
            "case_id", "department_id"
        )
    )
    handlers = _handlers_of(assigned.values())
    red = set(red_ids)
    rows: list[Notification] = []
    for cid, number, _level, _code in cases:
        kind = "sla_red" if cid in red else "sla_yellow"
        text = f"案件 {number} 已超期" if cid in red else f"案件 {number} 即将超期"
        users = dispatchers.get(centre[cid], set()) | handlers.get(assigned.get(cid, -1), set())
        rows += [Notification(user_id=u, case_id=cid, kind=kind, message=text) for u in users]
    _write(rows)


def notify_users(*, case: Case, user_ids: Iterable[int], kind: str, message: str) -> None:
    _write([Notification(user_id=u, case=case, kind=kind, message=message) for u in set(user_ids)])


def recipients(who: Recipients, case: Case, department_id: int | None) -> set[int]:
    """The users the transition table's `notify` names for this case."""
    if who is Recipients.NONE:
        return set()
    if who is Recipients.DEPARTMENT:
        handlers = _handlers_of([department_id] if department_id else [])
        return handlers.get(department_id or -1, set())
    if who is Recipients.REPORTER:
        return {case.reporter_id} if case.reporter_id else set()
    district = settings.HOME_DISTRICT_CODE
    centre = centre_code(case)
    role, codes = {
        Recipients.GRID_WORKERS: (Role.GRID_WORKER, [case.grid.code] if case.grid else []),
        Recipients.CENTRE_DISPATCHERS: (Role.DISPATCHER, [centre]),
        Recipients.DISTRICT_DISPATCHERS: (Role.DISPATCHER, [district]),
        Recipients.CENTRE_LEADS: (Role.SHIFT_LEAD, [centre]),
    }[who]
    return set().union(*_users_with_role_at(role, codes).values())


def deliver(notification_ids: list[int]) -> int:
    rows = list(Notification.objects.filter(id__in=notification_ids).select_related("user"))
    for sender in senders():
        sender.send(rows)
    return len(rows)
