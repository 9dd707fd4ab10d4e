"""manage.py import_population FILE --kind KIND: merge a spreadsheet into the base databases."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from grids.crs import CRS
from population.imports.columns import TEMPLATES, ImportRefused
from population.imports.service import ImportReport, population_import

LABELS = {
    "rows": "读取行数 rows",
    "created": "新增 created",
    "updated": "更新 updated",
    "merged": "文件内重复合并 merged",
    "unchanged": "无变化 unchanged",
    "rejected": "拒绝 rejected",
    "buildings_created": "新建楼栋 buildings created",
    "buildings_updated": "更新楼栋 buildings updated",
    "units_regridded": "随楼栋调整网格的房屋 units re-gridded",
    "persons_regridded": "随居住地调整网格的人员 persons re-gridded",
}


class Command(BaseCommand):
    help = (
        "Import persons, housing, organisations or residences from .xlsx or .csv. Records "
        "are merged, never duplicated: persons by identity number, organisations by credit "
        "code, housing by normalised address. Prints what was created, updated, merged, "
        "unchanged and rejected (with row numbers and reasons)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=".xlsx or .csv (UTF-8 or GBK) with the template's header")
        parser.add_argument("--kind", required=True, choices=list(TEMPLATES))
        parser.add_argument(
            "--crs",
            default=CRS.WGS84.value,
            choices=[c.value for c in CRS],
            help="frame of rows' longitude/latitude when the file has no 坐标系 column",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="do everything, then roll back: write nothing"
        )
        parser.add_argument(
            "--workers", type=int, help="processes preparing rows (default: by file size)"
        )
        parser.add_argument(
            "--show-rejected",
            type=int,
            default=50,
            help="rejected rows to list (default 50; the count is always complete)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = population_import(
                path=options["file"],
                kind=options["kind"],
                crs=options["crs"],
                dry_run=options["dry_run"],
                workers=options["workers"],
            )
        except ImportRefused as exc:
            raise CommandError(f"{options['file']}: {exc}") from exc
        self._print(report, options["show_rejected"])

    def _print(self, report: ImportReport, show: int) -> None:
        title = f"{report.kind}: {report.rows} 行,用时 {report.seconds:.1f} 秒"
        self.stdout.write(title + ("(试运行,未写入 / dry run)" if report.dry_run else ""))
        for key, value in report.counts().items():
            self.stdout.write(f"  {LABELS.get(key, key)}: {value}")
        if report.rejections:
            self.stdout.write("拒绝的行 / rejected rows:")
            for r in report.rejections[:show]:
                self.stdout.write(f"  第 {r.row} 行 / row {r.row}: {r.reason}")
            hidden = report.rejected - min(show, len(report.rejections))
            if hidden > 0:
                self.stdout.write(f"  … 另有 {hidden} 行未列出 / {hidden} more not listed")
