"""Organisations: credit code checked (GB 32100), duplicates refused by code, placed in
their grid by their point, the contact phone protected."""

from dataclasses import dataclass

from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils.translation import gettext as _

from ..models import Organisation
from ..protect import protect_phone
from ..validators import ValidationFailure, normalise_phone, normalise_text, parse_credit_code
from .errors import Duplicate, Invalid, field_error
from .places import place_of, point_of


@dataclass(frozen=True)
class OrganisationInput:
    name: str
    credit_code: str
    kind: str
    address: str = ""
    location: Point | None = None
    contact_name: str = ""
    contact_phone: str = ""


def _organisation_fields(data: OrganisationInput) -> dict[str, object]:
    name = normalise_text(data.name)
    if not name:
        raise Invalid(_("名称不能为空"), "name")
    try:
        code = parse_credit_code(data.credit_code)
    except ValidationFailure as exc:
        raise field_error("credit_code", exc) from exc
    if data.kind not in Organisation.Kind.values:
        raise Invalid(_("未知组织类型 %(kind)s") % {"kind": data.kind}, "kind")
    location = point_of(data.location, None)
    placed = place_of(location)
    fields: dict[str, object] = {
        "name": name,
        "credit_code": code,
        "kind": data.kind,
        "address": normalise_text(data.address),
        "location": location,
        "grid_id": placed.grid_id,
        "community_id": placed.community_id,
        "street_id": placed.street_id,
        "contact_name": normalise_text(data.contact_name),
        "contact_phone_enc": None,
        "contact_phone_index": "",
        "contact_phone_masked": "",
    }
    if data.contact_phone.strip():
        try:
            phone = protect_phone(normalise_phone(data.contact_phone))
        except ValidationFailure as exc:
            raise field_error("contact_phone", exc) from exc
        fields.update(
            contact_phone_enc=phone.enc,
            contact_phone_index=phone.index,
            contact_phone_masked=phone.masked,
        )
    return fields


def _checked(data: OrganisationInput, pk: int | None) -> dict[str, object]:
    fields = _organisation_fields(data)
    clash = Organisation.objects.filter(credit_code=fields["credit_code"])
    if pk is not None:
        clash = clash.exclude(pk=pk)
    if found := clash.values_list("id", flat=True).first():
        raise Duplicate(
            _("该统一社会信用代码已登记"),
            "credit_code",
            found,
        )
    return fields


def organisation_validate(
    *, data: OrganisationInput, organisation: Organisation | None = None
) -> None:
    """Raise Invalid (or Duplicate) if `data` would be refused; writes nothing (for forms)."""
    _checked(data, organisation.pk if organisation else None)


@transaction.atomic
def organisation_create(*, data: OrganisationInput) -> Organisation:
    org = Organisation(**_checked(data, None))
    org.save()
    return org


@transaction.atomic
def organisation_update(*, organisation: Organisation, data: OrganisationInput) -> Organisation:
    for name, value in _checked(data, organisation.pk).items():
        setattr(organisation, name, value)
    organisation.save()
    return organisation
