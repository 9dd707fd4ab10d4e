"""Rows of the reveal audit for the admin's and the audit page's CSV and .xlsx exports.

An audit row names the person by masked identity number only: the audit itself must not
become a list of clear identifiers.
"""

import tempfile
from collections.abc import Iterable
from typing import IO, Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from .models import RevealAudit

AUDIT_HEADER = [
    _("时间"),
    _("用户名"),
    _("姓名"),
    _("对象"),
    _("身份证号/信用代码"),
    _("字段"),
    _("查看原因"),
    _("IP 地址"),
]


def audit_row(audit: RevealAudit) -> list[Any]:
    if audit.person is not None:
        subject, key = audit.person.name, audit.person.id_number_masked
    elif audit.organisation is not None:
        subject, key = audit.organisation.name, audit.organisation.credit_code
    else:
        subject, key = "", ""
    return [
        timezone.localtime(audit.at).strftime("%Y-%m-%d %H:%M:%S"),
        audit.user.username,
        audit.user.get_full_name(),
        subject,
        key,
        audit.field,
        audit.reason,
        audit.ip or "",
    ]


def audit_xlsx(audits: Iterable[RevealAudit]) -> IO[bytes]:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(str(_("查看明文记录")))
    ws.append([str(h) for h in AUDIT_HEADER])
    for audit in audits:
        ws.append(audit_row(audit))
    out = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (handed to the response)
    wb.save(out)
    out.seek(0)
    return out
