"""Revealing a full identity number or phone: permission, a reason, an audit row.

The audit row and the decryption happen in one transaction: if the row cannot be written,
nothing is revealed. Scope is checked too — the permission lets a user see clear values
of the people they may already see, not of anyone in the district.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from grids.scope import scope_for_user

from .models import Organisation, Person, RevealAudit
from .protect import reveal_id_number, reveal_phone, scrub
from .selectors import organisations_visible, persons_visible
from .validators import ValidationFailure, normalise_text

REVEAL_PERMISSION = "population.reveal_personal_data"
MIN_REASON = 4
MAX_REASON = 300


class Field(StrEnum):
    ID_NUMBER = "id_number"
    PHONE = "phone"
    CONTACT_PHONE = "contact_phone"


FIELD_LABELS = {
    Field.ID_NUMBER: _("身份证号"),
    Field.PHONE: _("电话"),
    Field.CONTACT_PHONE: _("联系电话"),
}


class RevealRefused(ValidationFailure):
    """The reason is missing or too short, or there is nothing to reveal."""


class NotVisible(LookupError):
    """The record does not exist or lies outside the user's jurisdiction."""


def may_reveal(user: User | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.has_perm(REVEAL_PERMISSION))


def clean_reason(raw: str) -> str:
    # The audit names people by masked number only: a number typed into the reason too.
    reason = scrub(normalise_text(raw))
    if len(reason) < MIN_REASON:
        raise RevealRefused(gettext("请填写查看原因(至少 %(count)s 个字)") % {"count": MIN_REASON})
    return reason[:MAX_REASON]


@dataclass(frozen=True)
class Revealed:
    value: str
    audit_id: int


def _check(user: User | AnonymousUser, reason: str) -> tuple[User, str]:
    # Permission first: a user without it learns nothing, not even whether a reason works.
    if not may_reveal(user) or not isinstance(user, User):
        raise PermissionDenied(gettext("没有查看完整个人信息的权限"))
    return user, clean_reason(reason)


def reveal_person(
    *,
    user: User | AnonymousUser,
    person_id: int,
    field: Field,
    reason: str,
    ip: str | None = None,
) -> Revealed:
    """The clear identity number or phone of a person, audited."""
    staff, reason = _check(user, reason)
    if field not in (Field.ID_NUMBER, Field.PHONE):
        raise RevealRefused(gettext("不能查看该字段 %(field)s") % {"field": field})
    with transaction.atomic():
        person = persons_visible(scope_for_user(user)).filter(id=person_id).first()
        if person is None:
            raise NotVisible(person_id)
        enc = person.id_number_enc if field is Field.ID_NUMBER else person.phone_enc
        if not enc:
            raise RevealRefused(gettext("该人员没有登记电话"))
        value = (
            reveal_id_number(bytes(enc)) if field is Field.ID_NUMBER else reveal_phone(bytes(enc))
        )
        audit = RevealAudit.objects.create(
            user=staff, person=person, field=field.value, reason=reason, ip=ip or None
        )
    return Revealed(value, audit.pk)


def reveal_organisation_phone(
    *, user: User | AnonymousUser, organisation_id: int, reason: str, ip: str | None
) -> Revealed:
    staff, reason = _check(user, reason)
    with transaction.atomic():
        org: Organisation | None = (
            organisations_visible(scope_for_user(user)).filter(id=organisation_id).first()
        )
        if org is None:
            raise NotVisible(organisation_id)
        if not org.contact_phone_enc:
            raise RevealRefused(gettext("该组织没有登记联系电话"))
        value = reveal_phone(bytes(org.contact_phone_enc))
        audit = RevealAudit.objects.create(
            user=staff,
            organisation=org,
            field=Field.CONTACT_PHONE.value,
            reason=reason,
            ip=ip or None,
        )
    return Revealed(value, audit.pk)


def audit_bulk(
    *,
    user: User,
    persons: list[Person],
    fields: tuple[Field, ...],
    reason: str,
    ip: str | None,
) -> None:
    """One audit row per person and field revealed by an export (the caller's transaction)."""
    RevealAudit.objects.bulk_create(
        [
            RevealAudit(user=user, person=p, field=f.value, reason=reason, ip=ip or None)
            for p in persons
            for f in fields
            if f is Field.ID_NUMBER or p.phone_enc
        ],
        batch_size=2000,
    )
