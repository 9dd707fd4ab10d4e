"""Spreadsheets the import pages hand out: the templates, and the report of a finished job."""

from io import BytesIO

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from population.models import ImportJob

from .columns import KIND_LABELS, fields_of

REQUIRED_FILL = PatternFill("solid", fgColor="FDE68A")
TEXT_COLUMNS = {"id_number", "owner_id_number", "credit_code", "phone", "contact_phone"}
COUNT_LABELS = {
    "rows": "读取行数",
    "created": "新增",
    "updated": "更新",
    "merged": "文件内重复合并",
    "unchanged": "无变化",
    "rejected": "拒绝",
    "buildings_created": "新建楼栋",
    "buildings_updated": "更新楼栋",
    "units_regridded": "随楼栋调整网格的房屋",
    "persons_regridded": "随居住地调整网格的人员",
}


def _bytes(book: Workbook) -> bytes:
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def template_workbook(kind: str) -> bytes:
    """The header row and one example row. Required columns are bold on a yellow ground;
    identity-number and code columns are text-formatted so Excel keeps every digit."""
    fields = fields_of(kind)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = str(KIND_LABELS[kind])
    for col, field in enumerate(fields, start=1):
        head = sheet.cell(row=1, column=col, value=field.label)
        head.font = Font(bold=field.required)
        if field.required:
            head.fill = REQUIRED_FILL
        note = ("必填。" if field.required else "选填。") + field.help
        head.comment = Comment(note, "朝阳网格")
        example = sheet.cell(row=2, column=col, value=field.example or None)
        example.number_format = "@"
        column = sheet.column_dimensions[get_column_letter(col)]
        column.width = max(12, len(field.label) * 2 + 4)
        if field.key in TEXT_COLUMNS:
            column.number_format = "@"  # rows typed in later keep every digit too
    sheet.freeze_panes = "A2"
    return _bytes(book)


def report_workbook(job: ImportJob) -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "汇总"
    summary.append(["文件", job.original_name])
    summary.append(["类型", str(KIND_LABELS.get(job.kind, job.kind))])
    summary.append(["状态", job.get_status_display()])
    finished = job.finished_at.isoformat(" ", "seconds") if job.finished_at else ""
    summary.append(["完成时间", finished])
    for key, value in job.counts.items():
        summary.append([COUNT_LABELS.get(key, key), value])
    summary.column_dimensions["A"].width = 24
    summary.column_dimensions["B"].width = 40
    rejected = book.create_sheet("拒绝的行")
    rejected.append(["行号", "原因"])
    rejected["A1"].font = rejected["B1"].font = Font(bold=True)
    for item in job.rejected:
        rejected.append([item.get("row"), item.get("reason")])
    rejected.column_dimensions["B"].width = 80
    return _bytes(book)
