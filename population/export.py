"""Filtered lists to .xlsx: masked, unless the user may reveal and asks to, with a reason.

A clear export writes one audit row per person (or organisation) and field, in the same
transaction as the decryption: a failed export leaves neither a file nor audit rows. The
workbook is written in openpyxl's write-only mode to a temporary file, so memory stays
flat however long the list; the row count is capped all the same, since a spreadsheet of
a whole district is nobody's working document.
"""

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from .models import CareTag, HousingUnit, Organisation, Person, RevealAudit
from .protect import reveal_id_number, reveal_phone
from .reveal import Field, audit_bulk, clean_reason, may_reveal
from .validators import birth_date_of

EXPORT_MAX_ROWS = 100_000
CHUNK = 2000


@dataclass
class ExportFile:
    file: IO[bytes]
    filename: str
    rows: int
    truncated: bool


class _Batches:
    """The rows of a queryset in chunks, at most `limit` of them; `truncated` tells,
    once iterated, whether there were more."""

    def __init__(self, qs: QuerySet[Any], limit: int) -> None:
        self.qs, self.limit, self.truncated = qs, limit, False

    def __iter__(self) -> Iterator[list[Any]]:
        batch: list[Any] = []
        # limit + 1 rows: the one past the cap only says that the list was cut.
        for seen, obj in enumerate(self.qs[: self.limit + 1].iterator(chunk_size=CHUNK)):
            if seen == self.limit:
                self.truncated = True
                break
            batch.append(obj)
            if len(batch) == CHUNK:
                yield batch
                batch = []
        if batch:
            yield batch


def _write(
    title: str, header: list[Any], rows: Iterable[list[Any]], batches: _Batches
) -> tuple[IO[bytes], int]:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    bold = Font(bold=True)
    cells = []
    for text in header:
        cell = WriteOnlyCell(ws, value=str(text))
        cell.font = bold
        cells.append(cell)
    ws.append(cells)
    count = 0
    for row in rows:
        ws.append(row)
        count += 1
    if batches.truncated:
        ws.append([_("仅导出前 %(n)s 行,请缩小筛选范围。") % {"n": batches.limit}])
    out = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (handed to the response)
    wb.save(out)
    out.seek(0)
    return out, count


def _export(
    kind: str,
    title: str,
    header: list[Any],
    rows: Iterator[list[Any]],
    batches: _Batches,
    *,
    clear: bool,
) -> ExportFile:
    if clear:
        # The audit rows and the clear file stand or fall together.
        with transaction.atomic():
            out, count = _write(title, header, rows, batches)
    else:
        out, count = _write(title, header, rows, batches)
    stamp = f"{timezone.localtime():%Y%m%d-%H%M%S}"
    return ExportFile(
        out, f"{kind}{'-clear' if clear else ''}-{stamp}.xlsx", count, batches.truncated
    )


def _name(region: Any) -> str:
    return region.name if region is not None else ""


def _check_clear(user: User | AnonymousUser, reason: str) -> tuple[User, str]:
    if not may_reveal(user) or not isinstance(user, User):
        raise PermissionDenied(_("没有导出明文的权限"))
    return user, clean_reason(reason)


# A masked export shows the age (the birth year alone is kept); a clear one, whose numbers
# are revealed and audited anyway, the birth date read from each number.
AGE_COLUMN = 3


def person_header(*, clear: bool) -> list[Any]:
    header = list(PERSON_HEADER)
    header[AGE_COLUMN] = gettext_lazy("出生日期") if clear else gettext_lazy("年龄")
    return header


PERSON_HEADER = [
    gettext_lazy("姓名"),
    gettext_lazy("身份证号"),
    gettext_lazy("性别"),
    gettext_lazy("年龄"),
    gettext_lazy("电话"),
    gettext_lazy("户籍类型"),
    gettext_lazy("状态"),
    gettext_lazy("登记日期"),
    gettext_lazy("居住证到期"),
    gettext_lazy("街道"),
    gettext_lazy("网格"),
    gettext_lazy("关怀标签"),
]


def export_persons(
    *,
    user: User | AnonymousUser,
    qs: QuerySet[Person],
    clear: bool = False,
    reason: str = "",
    ip: str | None = None,
    limit: int = EXPORT_MAX_ROWS,
) -> ExportFile:
    """The persons of a (scoped, filtered) queryset; clear values only with a reason."""
    staff = None
    if clear:
        staff, reason = _check_clear(user, reason)
    batches = _Batches(
        qs.select_related("grid", "street").prefetch_related(
            Prefetch("care_tags", queryset=CareTag.objects.filter(until__isnull=True))
        ),
        limit,
    )

    today = timezone.localdate()

    def rows() -> Iterator[list[Any]]:
        for batch in batches:
            if staff is not None:
                audit_bulk(
                    user=staff,
                    persons=batch,
                    fields=(Field.ID_NUMBER, Field.PHONE),
                    reason=reason,
                    ip=ip,
                )
            for p in batch:
                phone = p.phone_masked
                number = p.id_number_masked
                born: int | date = p.age_on(today)
                if clear:
                    number = reveal_id_number(bytes(p.id_number_enc))
                    born = birth_date_of(number)
                    if p.phone_enc:
                        phone = reveal_phone(bytes(p.phone_enc))
                yield [
                    p.name,
                    number,
                    p.get_sex_display(),
                    born,
                    phone,
                    p.get_hukou_display(),
                    p.get_status_display(),
                    p.registered_on,
                    p.permit_expires_on,
                    _name(p.street),
                    _name(p.grid),
                    "、".join(str(t.get_tag_display()) for t in p.care_tags.all()),
                ]

    header = person_header(clear=clear)
    return _export("persons", _("人口"), header, rows(), batches, clear=clear)


HOUSING_HEADER = [
    gettext_lazy("地址"),
    gettext_lazy("楼栋"),
    gettext_lazy("单元"),
    gettext_lazy("楼层"),
    gettext_lazy("房号"),
    gettext_lazy("面积(平方米)"),
    gettext_lazy("用途"),
    gettext_lazy("产权人"),
    gettext_lazy("街道"),
    gettext_lazy("网格"),
]


def export_housing(*, qs: QuerySet[HousingUnit], limit: int = EXPORT_MAX_ROWS) -> ExportFile:
    """Housing units; an owner appears by name and masked number only."""
    batches = _Batches(qs.select_related("building", "owner", "grid", "street"), limit)

    def rows() -> Iterator[list[Any]]:
        for batch in batches:
            for h in batch:
                yield [
                    h.address,
                    h.building.address,
                    h.unit,
                    h.floor,
                    h.room,
                    h.area_m2,
                    h.get_use_display(),
                    str(h.owner) if h.owner else "",
                    _name(h.street),
                    _name(h.grid),
                ]

    return _export("housing", _("房屋"), HOUSING_HEADER, rows(), batches, clear=False)


ORG_HEADER = [
    gettext_lazy("名称"),
    gettext_lazy("统一社会信用代码"),
    gettext_lazy("类型"),
    gettext_lazy("地址"),
    gettext_lazy("联系人"),
    gettext_lazy("联系电话"),
    gettext_lazy("街道"),
    gettext_lazy("网格"),
]


def export_organisations(
    *,
    user: User | AnonymousUser,
    qs: QuerySet[Organisation],
    clear: bool = False,
    reason: str = "",
    ip: str | None = None,
    limit: int = EXPORT_MAX_ROWS,
) -> ExportFile:
    staff = None
    if clear:
        staff, reason = _check_clear(user, reason)
    batches = _Batches(qs.select_related("grid", "street"), limit)

    def rows() -> Iterator[list[Any]]:
        for batch in batches:
            if staff is not None:
                RevealAudit.objects.bulk_create(
                    [
                        RevealAudit(
                            user=staff,
                            organisation=o,
                            field=Field.CONTACT_PHONE.value,
                            reason=reason,
                            ip=ip or None,
                        )
                        for o in batch
                        if o.contact_phone_enc
                    ]
                )
            for o in batch:
                phone = o.contact_phone_masked
                if clear and o.contact_phone_enc:
                    phone = reveal_phone(bytes(o.contact_phone_enc))
                yield [
                    o.name,
                    o.credit_code,
                    o.get_kind_display(),
                    o.address,
                    o.contact_name,
                    phone,
                    _name(o.street),
                    _name(o.grid),
                ]

    return _export("organisations", _("组织"), ORG_HEADER, rows(), batches, clear=clear)
