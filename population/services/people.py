"""People and where they live: identity numbers checked (GB 11643) and cross-checked with
sex and birth date, identifiers protected, duplicates refused by the blind index; a
person's grid follows their current residence."""

from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction
from django.utils.translation import gettext as _

from ..models import HousingUnit, Hukou, Person, PersonStatus, Residence
from ..protect import id_index, protect_id_number, protect_phone
from ..validators import (
    ValidationFailure,
    normalise_phone,
    normalise_text,
    parse_identity_number,
)
from .errors import Duplicate, Invalid, field_error


@dataclass(frozen=True)
class PersonInput:
    name: str
    id_number: str
    phone: str = ""
    hukou: str = Hukou.LOCAL
    registered_on: date | None = None
    permit_expires_on: date | None = None
    status: str = PersonStatus.LIVING
    # Optional: when given they must agree with what the identity number says.
    sex: str = ""
    birth_date: date | None = None


def _person_fields(data: PersonInput) -> dict[str, object]:
    name = normalise_text(data.name)
    if not name:
        raise Invalid(_("姓名不能为空"), "name")
    try:
        info = parse_identity_number(data.id_number)
    except ValidationFailure as exc:
        raise field_error("id_number", exc) from exc
    if data.sex and data.sex != info.sex:
        raise Invalid(_("性别与身份证号不符"), "sex")
    if data.birth_date and data.birth_date != info.birth_date:
        raise Invalid(
            _("出生日期与身份证号不符"),
            "birth_date",
        )
    if data.hukou not in Hukou.values:
        raise Invalid(_("未知户籍类型 %(hukou)s") % {"hukou": data.hukou}, "hukou")
    if data.status not in PersonStatus.values:
        raise Invalid(_("未知状态 %(status)s") % {"status": data.status}, "status")
    if (
        data.registered_on
        and data.permit_expires_on
        and data.permit_expires_on < data.registered_on
    ):
        raise Invalid(_("居住证到期日早于登记日期"), "permit_expires_on")
    pid = protect_id_number(info.number)
    fields: dict[str, object] = {
        "name": name,
        "id_number_enc": pid.enc,
        "id_number_index": pid.index,
        "id_number_masked": pid.masked,
        "id_area": pid.area,
        "id_tail_index": pid.tail_index,
        "sex": info.sex,
        "birth_year": info.birth_date.year,
        "hukou": data.hukou,
        "registered_on": data.registered_on,
        "permit_expires_on": data.permit_expires_on if data.hukou == Hukou.FLOATING else None,
        "status": data.status,
        "phone_enc": None,
        "phone_index": "",
        "phone_masked": "",
    }
    if data.phone.strip():
        try:
            phone = protect_phone(normalise_phone(data.phone))
        except ValidationFailure as exc:
            raise field_error("phone", exc) from exc
        fields.update(phone_enc=phone.enc, phone_index=phone.index, phone_masked=phone.masked)
    return fields


def person_find(id_number: str) -> Person | None:
    """The person with this identity number (through the blind index), or None."""
    try:
        number = parse_identity_number(id_number).number
    except ValidationFailure:
        return None
    return Person.objects.filter(id_number_index=id_index(number)).first()


def _checked(data: PersonInput, pk: int | None) -> dict[str, object]:
    fields = _person_fields(data)
    clash = Person.objects.filter(id_number_index=fields["id_number_index"])
    if pk is not None:
        clash = clash.exclude(pk=pk)
    if found := clash.values_list("id", flat=True).first():
        raise Duplicate(_("该身份证号已登记"), "id_number", found)
    return fields


def person_validate(*, data: PersonInput, person: Person | None = None) -> None:
    """Raise Invalid (or Duplicate) if `data` would be refused; writes nothing (for forms)."""
    _checked(data, person.pk if person else None)


@transaction.atomic
def person_create(*, data: PersonInput) -> Person:
    person = Person(**_checked(data, None))
    person.save()
    return person


@transaction.atomic
def person_update(*, person: Person, data: PersonInput) -> Person:
    for name, value in _checked(data, person.pk).items():
        setattr(person, name, value)
    person.save()
    return person


def persons_follow_residence(
    *, person_id: int | None = None, building_id: int | None = None
) -> int:
    """Set persons' grid and street from their current residence (the latest one when
    there are several): one person, the residents of one building, or everybody."""
    where, params = "TRUE", []
    if person_id is not None:
        where, params = "r.person_id = %s", [person_id]
    elif building_id is not None:
        where, params = "u.building_id = %s", [building_id]
    with connection.cursor() as cur:
        cur.execute(
            f"""
            WITH cur AS (
                SELECT DISTINCT ON (r.person_id) r.person_id, u.grid_id, u.street_id
                FROM population_residence r
                JOIN population_housingunit u ON u.id = r.unit_id
                WHERE r.until IS NULL AND {where}
                ORDER BY r.person_id, r.since DESC NULLS LAST, r.id DESC
            )
            UPDATE population_person p SET grid_id = cur.grid_id, street_id = cur.street_id
            FROM cur
            WHERE p.id = cur.person_id
              AND (p.grid_id, p.street_id) IS DISTINCT FROM (cur.grid_id, cur.street_id)
            """,
            params,
        )
        return cur.rowcount


@transaction.atomic
def residence_add(
    *,
    person: Person,
    housing: HousingUnit,
    relation: str,
    since: date | None = None,
) -> Residence:
    """Record that a person lives in a unit; the person's grid becomes the unit's."""
    if relation not in Residence.Relation.values:
        raise Invalid(_("未知居住关系 %(relation)s") % {"relation": relation}, "relation")
    residence, _created = Residence.objects.get_or_create(
        person=person, unit=housing, relation=relation, until=None, defaults={"since": since}
    )
    persons_follow_residence(person_id=person.pk)
    person.refresh_from_db(fields=["grid", "street"])
    return residence


@transaction.atomic
def residence_end(*, residence: Residence, until: date) -> Residence:
    if residence.since and until < residence.since:
        raise Invalid(_("截止日期早于起始日期"), "until")
    residence.until = until
    residence.save(update_fields=["until"])
    # With another current residence the person moves there; with none they keep their
    # last grid, so the street that knew them still finds them (status says moved out).
    persons_follow_residence(person_id=residence.person_id)
    return residence
