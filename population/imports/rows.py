"""One file row → one staging row, in Python, before anything reaches the database.

Here the check digits are verified, a birth-date or sex column is cross-checked against the
identity number, coordinates are brought to WGS 84, and identity numbers and phones are
encrypted (population.protect): the staging table only ever sees ciphertext, blind indexes,
the masked form and what a person row keeps in clear (area code, birth year, sex). A row
that fails raises Reject with a reason in Chinese and English; the reason never quotes the
personal value itself, so reports and job rows stay clean.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.utils.translation import gettext as _

from grids.crs import to_wgs84
from population.protect import id_index, protect_id_number, protect_phone
from population.validators import (
    IdentityInfo,
    ValidationFailure,
    normalise_address,
    normalise_phone,
    normalise_text,
    parse_credit_code,
    parse_identity_number,
)

from .columns import Mapping, fields_of
from .values import CRS_NAMES, HUKOU, ORG_KIND, RELATION, SEX, STATUS, USE


class Reject(ValueError):
    """This row is not imported; the message is the reason shown in the report."""


Staged = tuple[object, ...]


class Cells:
    """A row's cells read through the mapping: `get` gives stripped text, '' when absent."""

    __slots__ = ("cells", "crs", "labels", "mapping")

    def __init__(self, mapping: Mapping, labels: dict[str, str], crs: str) -> None:
        self.mapping = mapping
        self.labels = labels
        self.crs = crs
        self.cells: list[str] = []

    def get(self, key: str) -> str:
        i = self.mapping.get(key)
        if i is None or i >= len(self.cells):
            return ""
        return self.cells[i]

    def required(self, key: str) -> str:
        value = self.get(key)
        if not value:
            label = self.labels[key]
            raise Reject(_("缺少必填项:%(label)s") % {"label": label})
        return value


def choice(cells: Cells, key: str, table: dict[str, str], *, required: bool = False) -> str | None:
    raw = cells.required(key) if required else cells.get(key)
    if not raw:
        return None
    value = table.get(raw) or table.get(normalise_text(raw).lower())
    if value is None:
        raise Reject(_("%(label)s的值无法识别") % {"label": cells.labels[key]})
    return value


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?")


def parse_date(cells: Cells, key: str) -> date | None:
    raw = cells.get(key)
    if not raw:
        return None
    text = normalise_text(raw)
    m = _DATE.fullmatch(text) or (re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text))
    try:
        if not m:
            raise ValueError(text)
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise Reject(_("%(label)s日期格式不正确") % {"label": cells.labels[key]}) from None


def parse_int(cells: Cells, key: str, low: int, high: int) -> int | None:
    raw = normalise_text(cells.get(key)).removesuffix("层")
    if not raw:
        return None
    try:
        value = int(float(raw))
    except ValueError:
        raise Reject(_("%(label)s应为整数") % {"label": cells.labels[key]}) from None
    if not low <= value <= high:
        raise Reject(_("%(label)s超出范围") % {"label": cells.labels[key]})
    return value


@lru_cache(maxsize=4096)
def _building_key(address: str) -> str:
    # Every unit of a building repeats its address: normalise each address once.
    return normalise_address(address)


@lru_cache(maxsize=4096)
def _to_wgs84(lng: float, lat: float, crs: str) -> tuple[float, float]:
    # Residents of one building share its geocoded point: convert each point once.
    return to_wgs84(lng, lat, crs)


def parse_point(cells: Cells) -> tuple[float | None, float | None]:
    lng_raw, lat_raw = cells.get("lng"), cells.get("lat")
    if not lng_raw and not lat_raw:
        return None, None
    if not (lng_raw and lat_raw):
        raise Reject(_("经度和纬度须同时填写"))
    try:
        lng, lat = float(normalise_text(lng_raw)), float(normalise_text(lat_raw))
    except ValueError:
        raise Reject(_("经纬度不是数字")) from None
    if not (-180 <= lng <= 180 and -90 <= lat <= 90):
        raise Reject(_("经纬度超出范围"))
    crs = choice(cells, "crs", CRS_NAMES) or cells.crs
    return _to_wgs84(lng, lat, crs)


def text(cells: Cells, key: str, limit: int, *, required: bool = False) -> str | None:
    raw = cells.required(key) if required else cells.get(key)
    value = normalise_text(raw)
    if len(value) > limit:
        raise Reject(
            _("%(label)s过长(最多 %(limit)s 字)") % {"label": cells.labels[key], "limit": limit}
        )
    return value or None


def identity(raw: str, label: str) -> IdentityInfo:
    if "E+" in raw.upper() and "." in raw:
        raise Reject(
            _("%(label)s被 Excel 存成了数字,末位已丢失,请将该列设为文本后重新填写")
            % {"label": label}
        )
    try:
        return parse_identity_number(raw)
    except ValidationFailure as exc:
        raise Reject(_("%(label)s:%(error)s") % {"label": label, "error": exc}) from None


def phone(cells: Cells, key: str) -> tuple[bytes | None, str | None, str | None]:
    raw = cells.get(key)
    if not raw:
        return None, None, None
    try:
        protected = protect_phone(normalise_phone(raw))
    except ValidationFailure as exc:
        raise Reject(
            _("%(label)s:%(error)s") % {"label": cells.labels[key], "error": exc}
        ) from None
    return protected.enc, protected.index, protected.masked


def person(c: Cells) -> Staged:
    name = text(c, "name", 50, required=True)
    info = identity(c.required("id_number"), c.labels["id_number"])
    born = parse_date(c, "birth_date")
    if born is not None and born != info.birth_date:
        raise Reject(_("出生日期与身份证号不符"))
    sex = choice(c, "sex", SEX)
    if sex is not None and sex != info.sex:
        raise Reject(_("性别与身份证号不符"))
    hukou = choice(c, "hukou", HUKOU, required=True)
    registered, expires = parse_date(c, "registered_on"), parse_date(c, "permit_expires_on")
    status = choice(c, "status", STATUS)
    lng, lat = parse_point(c)
    pid = protect_id_number(info.number)
    return (
        name,
        pid.enc,
        pid.index,
        pid.masked,
        pid.area,
        pid.tail_index,
        info.sex,
        info.birth_date.year,
        *phone(c, "phone"),
        hukou,
        registered,
        expires,
        status,
        lng,
        lat,
    )


def _unit_part(unit: str) -> str:
    return unit if not unit or unit.endswith(("单元", "门")) else f"{unit}单元"


def housing(c: Cells) -> Staged:
    building = text(c, "building_address", 200, required=True) or ""
    # "2单元" and "2", "301室" and "301" are the same unit and room: kept bare, so a file
    # spelling them the other way changes nothing.
    unit = re.sub(r"(单元|门)$", "", text(c, "unit", 20) or "")
    room = re.sub(r"(室|号)$", "", text(c, "room", 20) or "")
    address = text(c, "address", 250)
    if address is None:
        room_part = f"{room}室" if room.isdigit() else room
        address = f"{building}{_unit_part(unit)}{room_part}"
        if len(address) > 250:
            raise Reject(_("房屋地址过长"))
    area: Decimal | None = None
    if raw_area := normalise_text(c.get("area_m2")).removesuffix("平方米").removesuffix("㎡"):
        try:
            area = Decimal(raw_area).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise Reject(_("建筑面积应为数字")) from None
        if not 0 < area < Decimal("1000000"):
            raise Reject(_("建筑面积超出范围"))
    owner = c.get("owner_id_number")
    lng, lat = parse_point(c)
    return (
        building,
        _building_key(building),
        text(c, "building_name", 100),
        parse_int(c, "floors", 1, 300),
        unit or None,
        parse_int(c, "floor", -10, 300),
        room or None,
        address,
        normalise_address(address),
        area,
        choice(c, "use", USE),
        id_index(identity(owner, c.labels["owner_id_number"]).number) if owner else None,
        lng,
        lat,
    )


def organisation(c: Cells) -> Staged:
    name = text(c, "name", 200, required=True)
    try:
        code = parse_credit_code(c.required("credit_code"))
    except ValidationFailure as exc:
        raise Reject(str(exc)) from None
    kind = choice(c, "kind", ORG_KIND, required=True)
    address = text(c, "address", 250)
    lng, lat = parse_point(c)
    return (
        name,
        code,
        kind,
        address,
        normalise_address(address) if address else None,
        text(c, "contact_name", 50),
        *phone(c, "contact_phone"),
        lng,
        lat,
    )


def residence(c: Cells) -> Staged:
    number = identity(c.required("id_number"), c.labels["id_number"]).number
    address = text(c, "address", 250, required=True) or ""
    relation = choice(c, "relation", RELATION, required=True)
    since, until = parse_date(c, "since"), parse_date(c, "until")
    if since and until and until < since:
        raise Reject(_("截止日期早于起始日期"))
    return (id_index(number), normalise_address(address), relation, since, until)


@dataclass(frozen=True)
class KindRows:
    parse: Callable[[Cells], Staged]
    columns: tuple[tuple[str, str], ...]  # staging columns after row_no: (name, SQL type)


_PHONE = (("phone_enc", "bytea"), ("phone_index", "text"), ("phone_masked", "text"))
_POINT = (("lng", "float8"), ("lat", "float8"))

KINDS: dict[str, KindRows] = {
    "persons": KindRows(
        person,
        (
            ("name", "text"),
            ("id_enc", "bytea"),
            ("id_index", "text"),
            ("id_masked", "text"),
            ("id_area", "text"),
            ("id_tail_index", "text"),
            ("sex", "text"),
            ("birth_year", "int2"),
            *_PHONE,
            ("hukou", "text"),
            ("registered_on", "date"),
            ("permit_expires_on", "date"),
            ("status", "text"),
            *_POINT,
        ),
    ),
    "housing": KindRows(
        housing,
        (
            ("bld_address", "text"),
            ("bld_norm", "text"),
            ("bld_name", "text"),
            ("floors", "int4"),
            ("unit", "text"),
            ("floor", "int4"),
            ("room", "text"),
            ("address", "text"),
            ("address_norm", "text"),
            ("area_m2", "numeric"),
            ("use", "text"),
            ("owner_index", "text"),
            *_POINT,
        ),
    ),
    "organisations": KindRows(
        organisation,
        (
            ("name", "text"),
            ("credit_code", "text"),
            ("kind", "text"),
            ("address", "text"),
            ("address_norm", "text"),
            ("contact_name", "text"),
            *_PHONE,
            *_POINT,
        ),
    ),
    "residences": KindRows(
        residence,
        (
            ("person_index", "text"),
            ("unit_norm", "text"),
            ("relation", "text"),
            ("since", "date"),
            ("until", "date"),
        ),
    ),
}


def prepare(
    kind: str, mapping: Mapping, crs: str, rows: list[tuple[int, list[str]]]
) -> tuple[list[Staged], list[tuple[int, str]]]:
    """A batch of file rows → (staging rows with their row number first, rejections).

    A plain function of its arguments, so batches can be prepared in worker processes."""
    parse = KINDS[kind].parse
    cells = Cells(mapping, {f.key: str(f.label) for f in fields_of(kind)}, crs)
    staged: list[Staged] = []
    rejected: list[tuple[int, str]] = []
    for number, row in rows:
        cells.cells = row
        try:
            staged.append((number, *parse(cells)))
        except Reject as exc:
            rejected.append((number, str(exc)))
    return staged, rejected
