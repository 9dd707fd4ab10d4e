"""manage.py import_population FILE --kind KIND: merge a spreadsheet into the base databases."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from grids.crs import CRS
from population.imports.columns import TEMPLATES, ImportRefused
from population.imports.service import ImportReport, population_import

LABELS = {
    "rows": gettext_lazy("读取行数"),
    "created": gettext_lazy("新增"),
    "updated": pgettext_lazy("import count", "更新"),
    "merged": gettext_lazy("文件内重复合并"),
    "unchanged": gettext_lazy("无变化"),
    "rejected": gettext_lazy("拒绝"),
    "buildings_created": gettext_lazy("新建楼栋"),
    "buildings_updated": gettext_lazy("更新楼栋"),
    "units_regridded": gettext_lazy("随楼栋调整网格的房屋"),
    "persons_regridded": gettext_lazy("随居住地调整网格的人员"),
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
        title = _("%(kind)s: %(rows)s 行,用时 %(seconds).1f 秒") % {
            "kind": report.kind,
            "rows": report.rows,
            "seconds": report.seconds,
        }
        self.stdout.write(title + (_("(试运行,未写入)") if report.dry_run else ""))
        for key, value in report.counts().items():
            self.stdout.write(f"  {LABELS.get(key, key)}: {value}")
        if report.rejections:
            self.stdout.write(_("拒绝的行:"))
            for r in report.rejections[:show]:
                line = _("第 %(row)s 行:%(reason)s") % {"row": r.row, "reason": r.reason}
                self.stdout.write(f"  {line}")
            hidden = report.rejected - min(show, len(report.rejections))
            if hidden > 0:
                self.stdout.write("  " + _("… 另有 %(hidden)s 行未列出") % {"hidden": hidden})
