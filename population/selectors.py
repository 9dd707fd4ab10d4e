"""Every read of the base databases, already scoped to what the user may see.

The scope is the territory's one (grids.scope.TerritorialScope, from the user's region
memberships): a district role sees everything, a street role its street, a community role
its community, a grid worker their grids — judged by the street, community and grid stored
on each row at write time, so every filter is a plain index. People and housing units
store no community: a community's are those of its grids.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db.models import F, Lookup, QuerySet, Value
from django.utils.translation import gettext_lazy as _

from grids.models import Region
from grids.scope import TerritorialScope

from .models import Building, HousingUnit, Organisation, Person
from .protect import id_index, id_tail_index, phone_index
from .validators import (
    ValidationFailure,
    normalise_address,
    normalise_phone,
    normalise_text,
    parse_credit_code,
    parse_identity_number,
)


def region_in_scope(scope: TerritorialScope, code: str) -> Region | None:
    """The region with this code if the scope covers it, else None."""
    if not scope.covers(code):
        return None
    return Region.objects.filter(code=code).select_related("parent__parent__parent").first()


# --- lists ---------------------------------------------------------------------------------


def persons_visible(scope: TerritorialScope) -> QuerySet[Person]:
    return Person.objects.filter(scope.q(community=False))


def person_get(scope: TerritorialScope, person_id: int) -> Person | None:
    return (
        persons_visible(scope)
        .select_related("grid__parent", "street")
        .prefetch_related("care_tags", "residences__unit__building")
        .filter(id=person_id)
        .first()
    )


def buildings_visible(scope: TerritorialScope) -> QuerySet[Building]:
    return Building.objects.filter(scope.q())


def housing_visible(scope: TerritorialScope) -> QuerySet[HousingUnit]:
    return HousingUnit.objects.filter(scope.q(community=False))


def organisations_visible(scope: TerritorialScope) -> QuerySet[Organisation]:
    return Organisation.objects.filter(scope.q())


def organisation_get(scope: TerritorialScope, org_id: int) -> Organisation | None:
    return (
        organisations_visible(scope)
        .select_related("grid", "community", "street")
        .filter(id=org_id)
        .first()
    )


# --- search --------------------------------------------------------------------------------


class Mode(StrEnum):
    ALL = "all"
    NAME = "name"
    ID_NUMBER = "id_number"
    ID_FRAGMENT = "id_fragment"
    PHONE = "phone"
    INVALID = "invalid"


MODE_LABELS = {
    Mode.ALL: _("全部"),
    Mode.NAME: _("按姓名"),
    Mode.ID_NUMBER: _("按完整身份证号"),
    Mode.ID_FRAGMENT: _("按身份证号前6位和后4位"),
    Mode.PHONE: _("按电话"),
    Mode.INVALID: _("无法识别"),
}


@dataclass(frozen=True)
class PersonQuery:
    mode: Mode
    text: str = ""
    head: str = ""
    tail: str = ""
    error: str = ""

    @property
    def label(self) -> str:
        return str(MODE_LABELS[self.mode])


# 110105********1234, 110105*1234, 110105…1234, 110105 1234: a head, masking, a tail.
_FRAGMENT = re.compile(r"^(\d{6})[\s*＊·.…_-]+(\d{3}[\dX])$")
_TAIL_ONLY = re.compile(r"^[*＊…]+(\d{3}[\dX])$")


def classify_person_query(raw: str) -> PersonQuery:
    """What a search box entry is: a full number, a masked fragment, a phone or a name."""
    text = normalise_text(raw).upper()
    if not text:
        return PersonQuery(Mode.ALL)
    compact = text.replace(" ", "")
    if re.fullmatch(r"\d{17}[\dX]", compact):
        try:
            info = parse_identity_number(compact)
        except ValidationFailure as exc:
            return PersonQuery(Mode.INVALID, compact, error=str(exc))
        return PersonQuery(Mode.ID_NUMBER, info.number)
    if m := _FRAGMENT.match(text):
        return PersonQuery(Mode.ID_FRAGMENT, text, head=m.group(1), tail=m.group(2))
    if m := _TAIL_ONLY.match(compact):
        return PersonQuery(Mode.ID_FRAGMENT, text, tail=m.group(1))
    if re.fullmatch(r"[\d\s()+\-]{7,}", text):
        try:
            return PersonQuery(Mode.PHONE, normalise_phone(text))
        except ValidationFailure as exc:
            return PersonQuery(Mode.INVALID, text, error=str(exc))
    return PersonQuery(Mode.NAME, text)


class ILike(Lookup):
    """`lhs ILIKE rhs`. Django's icontains compiles to UPPER(name) LIKE UPPER(…), which a
    trigram index on `name` cannot answer; ILIKE it can."""

    lookup_name = "trgm_ilike"

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} ILIKE {rhs}", (*lhs_params, *rhs_params)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def name_filter(field: str, text: str) -> ILike:
    """A name search the trigram GIN index can answer.

    One or two characters give no trigram inside '%…%', so a short entry is a prefix
    search (its leading trigrams are anchored); longer ones match anywhere.
    """
    pattern = _like_escape(text)
    pattern = f"{pattern}%" if len(text) <= 2 else f"%{pattern}%"
    return ILike(F(field), Value(pattern))


@dataclass(frozen=True)
class PersonFilters:
    hukou: str = ""
    status: str = ""
    care_tag: str = ""
    region: Region | None = None


def person_search(
    scope: TerritorialScope, query: PersonQuery, filters: PersonFilters | None = None
) -> QuerySet[Person]:
    qs = persons_visible(scope)
    if query.mode is Mode.INVALID:
        return qs.none()
    if query.mode is Mode.ID_NUMBER:
        qs = qs.filter(id_number_index=id_index(query.text))
    elif query.mode is Mode.ID_FRAGMENT:
        qs = qs.filter(id_tail_index=id_tail_index(query.tail))
        if query.head:
            qs = qs.filter(id_area=query.head)
    elif query.mode is Mode.PHONE:
        qs = qs.filter(phone_index=phone_index(query.text))
    elif query.mode is Mode.NAME:
        qs = qs.filter(name_filter("name", query.text))
    f = filters or PersonFilters()
    if f.hukou:
        qs = qs.filter(hukou=f.hukou)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.care_tag:
        qs = qs.filter(care_tags__tag=f.care_tag, care_tags__until__isnull=True)
    if f.region is not None:
        qs = qs.filter(TerritorialScope.of_region(f.region).q(community=False))
    if query.mode is Mode.NAME or not scope.everything:
        # Within a street or grid, by name. Not newest first: the street's rows are
        # scattered through the primary key, and the planner, reading ORDER BY id DESC
        # LIMIT 50, would walk the whole key backwards looking for them.
        order: tuple[str, ...] = ("name", "id")
    else:
        order = ("-id",)
    return qs.select_related("grid", "street").order_by(*order)


def housing_search(
    scope: TerritorialScope, raw: str, *, use: str = "", region: Region | None = None
) -> QuerySet[HousingUnit]:
    """Housing units by address: the entry is normalised like stored addresses, so
    "建国路８８号楼２单元" finds "建国路88号2单元301"."""
    qs = housing_visible(scope)
    key = normalise_address(raw) if raw.strip() else ""
    if key:
        # The start of an address is answered by the unique index's pattern-ops twin;
        # only when nothing starts so is the whole column searched (a scan, scoped).
        prefixed = qs.filter(address_norm__startswith=key)
        qs = prefixed if prefixed.exists() else qs.filter(address_norm__contains=key)
    if use:
        qs = qs.filter(use=use)
    if region is not None:
        qs = qs.filter(TerritorialScope.of_region(region).q(community=False))
    # Scoped, by the address text (no index): ordering by the indexed key would have the
    # planner walk that index through every other street's units.
    order = ("address_norm", "id") if scope.everything else ("address", "id")
    return qs.select_related("building", "grid", "street", "owner").order_by(*order)


def organisation_search(
    scope: TerritorialScope, raw: str, *, kind: str = "", region: Region | None = None
) -> QuerySet[Organisation]:
    """Organisations by name, or by credit code (whole, or its first characters)."""
    qs = organisations_visible(scope)
    text = normalise_text(raw)
    compact = text.replace(" ", "").upper()
    if len(compact) == 18 and re.fullmatch(r"[0-9A-Z]{18}", compact):
        try:
            qs = qs.filter(credit_code=parse_credit_code(compact))
        except ValidationFailure:
            qs = qs.none()
    elif len(compact) >= 6 and re.fullmatch(r"[0-9A-Z]+", compact):
        qs = qs.filter(credit_code__startswith=compact)
    elif text:
        qs = qs.filter(name_filter("name", text))
    if kind:
        qs = qs.filter(kind=kind)
    if region is not None:
        qs = qs.filter(TerritorialScope.of_region(region).q())
    return qs.select_related("grid", "street").order_by("name", "id")
