"""manage.py import_boundaries: load region boundaries of one level from a geodata file."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from grids.crs import CRS
from grids.models import Level
from grids.services import DEFAULT_TOLERANCE_M, BoundaryImportError, regions_import


class Command(BaseCommand):
    help = (
        "Import district, street, community or grid boundaries from GeoJSON, Shapefile "
        "(.shp or zipped) or KML. Regions are matched by code: new codes are created, known "
        "ones updated, nothing is deleted. Any error rejects the whole file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="GeoJSON, Shapefile (.shp or .zip) or KML file")
        parser.add_argument("--level", required=True, choices=[lvl.name.lower() for lvl in Level])
        parser.add_argument("--code-field", required=True, help="field holding the region code")
        parser.add_argument("--name-field", required=True, help="field holding the region name")
        parser.add_argument(
            "--parent-field",
            help="field holding the parent's code (default: derived from the code's prefix)",
        )
        parser.add_argument(
            "--crs",
            default=CRS.WGS84.value,
            choices=[c.value for c in CRS],
            help="frame of longitude/latitude coordinates (default wgs84; cgcs2000 is taken "
            "as wgs84; projected files are reprojected from their .prj)",
        )
        parser.add_argument(
            "--tolerance",
            type=float,
            default=DEFAULT_TOLERANCE_M,
            help=f"metres a region may stick out of its parent (default {DEFAULT_TOLERANCE_M:g})",
        )
        parser.add_argument("--layer", help="layer index or name (default: the first)")
        parser.add_argument(
            "--no-repair",
            action="store_true",
            help="reject invalid geometries instead of repairing them",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, but write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        layer = options["layer"]
        try:
            report = regions_import(
                path=options["file"],
                level=options["level"],
                code_field=options["code_field"],
                name_field=options["name_field"],
                parent_field=options["parent_field"],
                crs=options["crs"],
                tolerance_m=options["tolerance"],
                repair=not options["no_repair"],
                layer=int(layer) if layer is not None and layer.isdigit() else layer,
                dry_run=options["dry_run"],
            )
        except BoundaryImportError as exc:
            lines = [f"  - {m}" for m in exc.messages]
            raise CommandError(_("导入失败,未作任何修改:") + "\n" + "\n".join(lines)) from exc
        self.stdout.write(report.summary())
