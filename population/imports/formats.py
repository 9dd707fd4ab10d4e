"""Reading government spreadsheets row by row: .xlsx (openpyxl, read-only, streaming) and
.csv in UTF-8, UTF-8 with BOM or GBK. Nothing holds more than one row at a time.

Row numbers are the ones a person sees in Excel: the header is row 1 (or wherever the first
non-empty row is) and the first data row the one after it. Blank rows are skipped but still
counted, so a reason given for row 57 points at row 57 of the file.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _

from .columns import ImportRefused


class FileFormatError(ImportRefused):
    pass


@dataclass
class Table:
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]  # (row number in the file, cells as text)
    estimated_rows: int  # data rows, from the file's size or dimension; 0 when unknown


def cell_text(value: Any) -> str:
    """A cell as text. Excel keeps numbers as doubles: an 18-digit identity number typed as
    a number has lost its last digits, and is kept in scientific form so it fails loudly."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value) if abs(value) < 1e15 else f"{value:.14E}"
    return str(value).strip()


def _blank(cells: list[str]) -> bool:
    return not any(cells)


@contextmanager
def _xlsx(path: Path) -> Iterator[Table]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise FileFormatError(_("无法读取 Excel 文件:%(error)s") % {"error": exc}) from exc
    try:
        sheet = book.worksheets[0]
        source = enumerate(sheet.iter_rows(values_only=True), start=1)
        header, first = _header(([cell_text(v) for v in row], n) for n, row in source)
        dimension_rows = sheet.max_row or 0

        def rows() -> Iterator[tuple[int, list[str]]]:
            for n, row in source:
                cells = [cell_text(v) for v in row]
                if not _blank(cells):
                    yield n, cells

        yield Table(header, rows(), max(0, dimension_rows - first))
    finally:
        book.close()


def _header(rows: Iterator[tuple[list[str], int]]) -> tuple[list[str], int]:
    for cells, n in rows:
        if not _blank(cells):
            while cells and not cells[-1]:
                cells.pop()
            return cells, n
    raise FileFormatError(_("文件是空的,没有表头"))


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig for a BOM, utf-8 when the sample decodes as UTF-8, else GB 18030 (a
    superset of GBK, which is what Excel on a Chinese Windows writes for "CSV")."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        # An incremental decoder tolerates a character cut in half at the sample's end.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _count_lines(handle: IO[bytes]) -> int:
    lines = 0
    while chunk := handle.read(1 << 20):
        lines += chunk.count(b"\n")
    handle.seek(0)
    return lines


@contextmanager
def _csv(path: Path) -> Iterator[Table]:
    with path.open("rb") as raw:
        encoding = detect_encoding(raw.read(1 << 16))
        raw.seek(0)
        lines = _count_lines(raw)
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        try:
            first_line = text.readline()
            delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
            text.seek(0)
            reader = csv.reader(text, delimiter=delimiter)
            source = enumerate(reader, start=1)
            header, first = _header(([c.strip() for c in row], n) for n, row in source)
        except UnicodeDecodeError as exc:
            raise FileFormatError(_encoding_message()) from exc

        def rows() -> Iterator[tuple[int, list[str]]]:
            n = first
            try:
                for n, row in source:
                    cells = [c.strip() for c in row]
                    if not _blank(cells):
                        yield n, cells
            except UnicodeDecodeError as exc:
                raise FileFormatError(
                    _("第 %(row)s 行附近:%(error)s") % {"row": n + 1, "error": _encoding_message()}
                ) from exc
            except csv.Error as exc:
                raise FileFormatError(
                    _("第 %(row)s 行:CSV 格式错误:%(error)s") % {"row": n + 1, "error": exc}
                ) from exc

        yield Table(header, rows(), max(0, lines - first))


def _encoding_message() -> str:
    return _("文件编码无法识别,请保存为 UTF-8 或 GBK 编码")


@contextmanager
def open_table(path: str | Path, *, name: str | None = None) -> Iterator[Table]:
    """Open a spreadsheet by its extension (`name`, the uploaded file's name, wins over
    `path`, which may be a storage name without one)."""
    path = Path(path)
    suffix = Path(name or path.name).suffix.lower()
    if not path.exists():
        raise FileFormatError(_("文件不存在:%(path)s") % {"path": path})
    if suffix in (".xlsx", ".xlsm"):
        reader = _xlsx(path)
    elif suffix in (".csv", ".txt", ".tsv"):
        reader = _csv(path)
    elif suffix == ".xls":
        raise FileFormatError(_("不支持旧版 .xls 文件,请在 Excel 中另存为 .xlsx 或 .csv"))
    else:
        raise FileFormatError(f"不支持的文件类型 {suffix or '(无扩展名)'},请上传 .xlsx 或 .csv")
    with reader as table:
        yield table
