"""The import templates: which columns each kind expects, and how a file's header maps to them.

Government spreadsheets name the same column many ways (身份证号 / 公民身份号码 / 证件号码 …),
so each field lists its Chinese label, the usual variants and an English alias. A mapping is
{field key: column index}; it is found from the header automatically, or chosen on the
preview page and remembered per header signature (ImportTemplate).
"""

import hashlib
import re
import unicodedata
from collections.abc import Mapping as Lookup
from dataclasses import dataclass

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class ImportRefused(ValueError):
    """The file cannot be imported at all: nothing was written. The message says why."""


class UnknownKind(ImportRefused):
    pass


class ConcurrentChange(ImportRefused):
    """A record of the file was created elsewhere while the merge ran; all was rolled back."""

    def __init__(self) -> None:
        super().__init__(
            gettext("导入期间有人同时登记了文件中的同一条记录,本次导入已全部撤销,请重新导入")
        )


class HeaderMismatch(ImportRefused):
    def __init__(self, kind: str, missing: list[str]) -> None:
        self.kind = kind
        self.missing = missing
        super().__init__(
            gettext("表头与模板不符,缺少必填列:%(columns)s") % {"columns": "、".join(missing)}
        )


@dataclass(frozen=True)
class Field:
    key: str
    label: str  # the template's header text, in Chinese
    aliases: tuple[str, ...] = ()
    required: bool = False
    example: str = ""
    help: str = ""


_POINT = (
    Field("lng", "经度", ("lng", "lon", "longitude", "x"), example="116.4603"),
    Field("lat", "纬度", ("lat", "latitude", "y"), example="39.9088"),
    Field(
        "crs",
        "坐标系",
        ("crs", "srs", "coordinate system"),
        example="WGS84",
        help="WGS84(GPS)或 GCJ02(高德、腾讯地图);留空按导入时所选",
    ),
)
_ID = (
    "公民身份号码",
    "身份证号码",
    "身份证",
    "证件号码",
    "id_number",
    "id number",
    "identity number",
)

TEMPLATES: dict[str, tuple[Field, ...]] = {
    "persons": (
        Field("name", "姓名", ("name", "名字"), required=True, example="张三"),
        Field("id_number", "身份证号", _ID, required=True, example="11010519491231002X"),
        Field("sex", "性别", ("sex", "gender"), example="女"),
        Field(
            "birth_date", "出生日期", ("birth_date", "birthday", "出生年月日"), example="1949-12-31"
        ),
        Field(
            "phone",
            "联系电话",
            ("电话", "手机", "手机号", "手机号码", "phone", "mobile"),
            example="13800138000",
        ),
        Field(
            "hukou",
            "户籍类型",
            ("人口类型", "户籍", "hukou"),
            required=True,
            example="户籍",
            help="户籍 或 流动",
        ),
        Field("registered_on", "登记日期", ("registered_on", "登记时间"), example="2024-03-01"),
        Field(
            "permit_expires_on",
            "居住证到期日期",
            ("居住证有效期", "居住证到期", "permit_expires_on"),
            example="",
        ),
        Field("status", "状态", ("人员状态", "status"), example="在住", help="在住、迁出 或 死亡"),
        *_POINT,
    ),
    "housing": (
        Field(
            "building_address",
            "楼栋地址",
            ("楼栋", "building", "building_address"),
            required=True,
            example="建国路88号楼",
        ),
        Field("unit", "单元", ("unit",), example="2"),
        Field("floor", "楼层", ("floor",), example="3"),
        Field("room", "房号", ("室", "门牌号", "room"), example="301"),
        Field(
            "address",
            "房屋地址",
            ("地址", "address"),
            example="建国路88号楼2单元301室",
            help="留空时由楼栋地址、单元和房号组成",
        ),
        Field("area_m2", "建筑面积", ("面积", "area", "area_m2"), example="89.5"),
        Field(
            "use",
            "房屋用途",
            ("用途", "use"),
            example="出租",
            help="自住、出租、空置、商用 或 其他",
        ),
        Field("owner_id_number", "产权人身份证号", ("owner_id_number", "业主身份证号"), example=""),
        Field("building_name", "楼栋名称", ("building_name",), example=""),
        Field("floors", "总层数", ("层数", "floors"), example="18"),
        *_POINT,
    ),
    "organisations": (
        Field(
            "name",
            "名称",
            ("单位名称", "企业名称", "组织名称", "name"),
            required=True,
            example="某某科技有限公司",
        ),
        Field(
            "credit_code",
            "统一社会信用代码",
            ("信用代码", "社会信用代码", "credit_code", "uscc"),
            required=True,
            example="91110000600037341L",
        ),
        Field(
            "kind",
            "类型",
            ("组织类型", "单位类型", "kind"),
            required=True,
            example="企业",
            help="企业、个体工商户、社会组织、学校、机关单位 或 商务楼宇",
        ),
        Field("address", "地址", ("注册地址", "经营地址", "address"), example="建国路88号"),
        Field("contact_name", "联系人", ("contact_name", "contact"), example="李四"),
        Field(
            "contact_phone", "联系电话", ("电话", "contact_phone", "phone"), example="010-65000000"
        ),
        *_POINT,
    ),
    "residences": (
        Field("id_number", "身份证号", _ID, required=True, example="11010519491231002X"),
        Field(
            "address",
            "房屋地址",
            ("地址", "住址", "address"),
            required=True,
            example="建国路88号楼2单元301室",
        ),
        Field(
            "relation",
            "居住关系",
            ("关系", "与房屋关系", "relation"),
            required=True,
            example="租户",
            help="产权人、租户、家庭成员 或 集体户",
        ),
        Field("since", "起始日期", ("入住日期", "since"), example="2023-05-01"),
        Field("until", "截止日期", ("迁出日期", "until"), example=""),
    ),
}

KIND_LABELS = {
    "persons": _("人口"),
    "housing": _("房屋"),
    "organisations": _("组织"),
    "residences": _("居住关系"),
}

Mapping = dict[str, int]  # field key → column index in the file


def fields_of(kind: str) -> tuple[Field, ...]:
    try:
        return TEMPLATES[kind]
    except KeyError:
        raise UnknownKind(
            gettext("未知的导入类型 %(kind)s;可选:%(choices)s")
            % {"kind": repr(kind), "choices": ", ".join(TEMPLATES)}
        ) from None


def _norm(text: str) -> str:
    """Header text as compared: half-width, lower-case, no spaces, no required-marks."""
    text = unicodedata.normalize("NFKC", str(text or "")).lower()
    return re.sub(r"[\s*_\-]+", "", text)


def _names(field: Field) -> list[str]:
    return [_norm(n) for n in (field.label, field.key, *field.aliases)]


def header_signature(header: list[str]) -> str:
    """One hash per header layout, to find the mapping chosen for it last time."""
    joined = "\x1f".join(_norm(h) for h in header).rstrip("\x1f")
    return hashlib.sha256(joined.encode()).hexdigest()


def auto_mapping(kind: str, header: list[str]) -> Mapping:
    """Columns matched by name: the exact text first, then the text without brackets
    ("建筑面积(平方米)" → 建筑面积). Each column serves one field at most."""
    fields = fields_of(kind)
    normalised = [_norm(h) for h in header]
    stripped = [re.sub(r"[((\[【].*?[))\]】]", "", h) for h in normalised]
    mapping: Mapping = {}
    used: set[int] = set()
    for candidates in (normalised, stripped):
        for field in fields:
            if field.key in mapping:
                continue
            for name in _names(field):
                hit = next(
                    (i for i, h in enumerate(candidates) if h and h == name and i not in used), None
                )
                if hit is not None:
                    mapping[field.key] = hit
                    used.add(hit)
                    break
    return mapping


def clean_mapping(kind: str, mapping: Lookup[str, object], width: int) -> Mapping:
    """A mapping from outside (a form, a remembered template) made safe: known fields only,
    column indexes within the header, each column used once."""
    known = {f.key for f in fields_of(kind)}
    out: Mapping = {}
    for key, value in mapping.items():
        if key not in known or value in (None, ""):
            continue
        try:
            index = int(str(value))
        except ValueError:
            continue
        if 0 <= index < width and index not in out.values():
            out[key] = index
    return out


def check_mapping(kind: str, mapping: Mapping) -> None:
    """Refuse (before anything is written) when a required field has no column."""
    missing = [str(f.label) for f in fields_of(kind) if f.required and f.key not in mapping]
    if missing:
        raise HeaderMismatch(kind, missing)
