"""Writes to the territory. Every change to regions goes through here (or grids.territory).

``regions_import`` loads boundaries of one level from a GeoJSON, Shapefile or KML file.
It is all or nothing: every feature is checked first, each problem is reported with the
feature it belongs to, and if there is any, nothing is written. Rows are matched by code,
so importing the same file again updates in place; nothing is ever deleted.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils.translation import gettext as _

from .boundary_import import BoundaryImportError, Feature, read_features
from .crs import CRS
from .models import CODE_LENGTH, PARENT_LEVEL, Level, Region
from .precision import GRID_SIZE

__all__ = ["BoundaryImportError", "ImportReport", "regions_import"]

logger = logging.getLogger(__name__)

DEFAULT_TOLERANCE_M = 50.0
# Within the tolerance a child may still stick out of its parent by no more than this
# share of its area (the part outside is then clipped off); more means it is misplaced.
MAX_OUTSIDE_SHARE = 0.05
# Overlaps and gaps smaller than this are digitising noise, not worth a warning.
MIN_REPORTED_M2 = 1.0
MIN_GAP_SHARE = 0.001

_KIND_SUFFIXES = {
    Level.DISTRICT: ("区", "县"),
    Level.STREET: ("街道", "地区", "乡", "镇"),
    Level.COMMUNITY: ("社区", "村"),
    Level.GRID: ("网格",),
}


@dataclass
class ImportReport:
    level: Level
    path: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        lines = [
            _("%(file)s:%(level)s 新建 %(created)s,更新 %(updated)s,未变 %(unchanged)s")
            % {
                "file": Path(self.path).name,
                "level": self.level.label,
                "created": len(self.created),
                "updated": len(self.updated),
                "unchanged": len(self.unchanged),
            }
        ]
        if self.warnings:
            lines.append(_("警告 %(count)s 条:") % {"count": len(self.warnings)})
            lines.extend(f"  - {w}" for w in self.warnings)
        if self.dry_run:
            lines.append(_("演练模式,未写入任何数据"))
        return "\n".join(lines)


def infer_kind(level: Level, name: str) -> str:
    """街道 / 地区 / 社区 / 村 … from the name's suffix; blank when the name says nothing."""
    return next((s for s in _KIND_SUFFIXES[level] if name.endswith(s)), "")


def _parse_level(level: Level | str | int) -> Level:
    if isinstance(level, str) and not level.isdigit():
        try:
            return Level[level.upper()]
        except KeyError:
            raise BoundaryImportError([_("未知层级 %(level)s") % {"level": level}]) from None
    return Level(int(level))


def regions_import(
    *,
    path: str | Path,
    level: Level | str | int,
    code_field: str,
    name_field: str,
    parent_field: str | None = None,
    crs: CRS | str = CRS.WGS84,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    repair: bool = True,
    layer: int | str | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Import the boundaries of one level; raise BoundaryImportError and write nothing on
    any error. ``dry_run`` checks and reports everything, then rolls back."""
    level = _parse_level(level)
    try:
        crs = CRS(crs)
    except ValueError:
        raise BoundaryImportError([_("未知坐标系 %(crs)s") % {"crs": crs}]) from None
    read = read_features(
        path,
        level=level,
        code_field=code_field,
        name_field=name_field,
        parent_field=parent_field,
        crs=crs,
        repair=repair,
        layer=layer,
    )
    report = ImportReport(level=level, path=str(path), warnings=read.warnings, dry_run=dry_run)
    with transaction.atomic(), connection.cursor() as cursor:
        # Imports and demo builds of the territory run one at a time.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('grids.territory'))")
        parents = _resolve_parents(read.features, level)
        errors = read.errors
        if errors:
            raise BoundaryImportError(errors)
        _stage(cursor, read.features, level, parents)
        errors = _check_containment(cursor, read.features, tolerance_m, report.warnings)
        if errors:
            raise BoundaryImportError(errors)
        report.warnings.extend(_overlaps(cursor, level))
        report.warnings.extend(_gaps(cursor))
        report.warnings.extend(_duplicate_names(cursor, level))
        report.warnings.extend(_children_left_outside(cursor, tolerance_m))
        _upsert(cursor, level, report)
        cursor.execute("DROP TABLE _bi_stage")
        if dry_run:
            transaction.set_rollback(True)
    if not dry_run:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE grids_region")  # keep point → grid plans right
    logger.info(
        "boundary import %s (%s, dry run %s): created %d, updated %d, unchanged %d, warnings %d",
        path,
        level.name.lower(),
        dry_run,
        len(report.created),
        len(report.updated),
        len(report.unchanged),
        len(report.warnings),
    )
    return report


def _resolve_parents(features: list[Feature], level: Level) -> dict[str, int]:
    """Parent id by parent code; records an error on each feature whose parent is wrong."""
    if level not in PARENT_LEVEL:
        for f in features:
            f.parent_code = None
        return {}
    parent_level = PARENT_LEVEL[level]
    wanted = {f.parent_code for f in features if f.parent_code}
    found = {r.code: r for r in Region.objects.filter(code__in=wanted).only("id", "code", "level")}
    for f in features:
        parent = found.get(f.parent_code or "")
        if not f.parent_code:
            f.fail(_("缺少上级编码"))
        elif f.code.isdigit() and not f.code.startswith(f.parent_code):
            f.fail(_("编码前缀与上级 %(parent)s 不一致") % {"parent": f.parent_code})
        elif parent is None:
            f.fail(
                _("上级%(level)s %(parent)s 不存在")
                % {"level": parent_level.label, "parent": f.parent_code}
            )
        elif parent.level != parent_level or len(f.parent_code) != CODE_LENGTH[parent_level]:
            f.fail(
                _("上级 %(parent)s 不是%(level)s")
                % {"parent": f.parent_code, "level": parent_level.label}
            )
    return {code: r.id for code, r in found.items()}


def _stage(
    cursor: CursorWrapper, features: list[Feature], level: Level, parents: dict[str, int]
) -> None:
    """Copy the checked features (already on the precision grid, see grids.precision, so
    edges shared with existing regions can coincide exactly) into a temporary table."""
    cursor.execute("DROP TABLE IF EXISTS _bi_stage")
    cursor.execute(
        """CREATE TEMP TABLE _bi_stage (
             idx integer PRIMARY KEY, code text UNIQUE NOT NULL, name text NOT NULL,
             kind text NOT NULL, parent_id bigint, geom geometry(MultiPolygon, 4326))"""
    )
    cursor.executemany(
        "INSERT INTO _bi_stage VALUES (%s, %s, %s, %s, %s, %s::geometry)",
        [
            (
                f.index,
                f.code,
                f.name,
                infer_kind(level, f.name),
                parents.get(f.parent_code or ""),
                f.geom.hexewkb.decode() if f.geom is not None else None,
            )
            for f in features
        ],
    )
    cursor.execute("CREATE INDEX ON _bi_stage USING gist (geom)")
    cursor.execute("ANALYZE _bi_stage")


def _check_containment(
    cursor: CursorWrapper, features: list[Feature], tolerance_m: float, warnings: list[str]
) -> list[str]:
    """Each child must lie in its parent up to ``tolerance_m``; a small overhang is clipped."""
    by_index = {f.index: f for f in features}
    cursor.execute(
        """WITH outside AS MATERIALIZED (
             SELECT s.idx, s.parent_id, s.geom FROM _bi_stage AS s
             JOIN grids_region AS r ON r.id = s.parent_id
             WHERE NOT ST_CoveredBy(s.geom, r.boundary)
           ),
           zone AS MATERIALIZED (
             SELECT r.id, r.code, r.boundary,
                    ST_Buffer(r.boundary::geography, %s)::geometry AS zone
             FROM grids_region AS r WHERE r.id IN (SELECT parent_id FROM outside)
           )
           SELECT o.idx, z.code, ST_Area(ST_Difference(o.geom, z.boundary)::geography),
                  ST_Area(o.geom::geography), ST_CoveredBy(o.geom, z.zone)
           FROM outside AS o JOIN zone AS z ON z.id = o.parent_id""",
        [tolerance_m],
    )
    clip = []
    for idx, parent_code, outside_m2, area_m2, within in cursor.fetchall():
        f = by_index[idx]
        share = outside_m2 / area_m2 if area_m2 else 1.0
        if not within or share > MAX_OUTSIDE_SHARE:
            f.fail(
                _(
                    "超出上级 %(parent)s 的范围(容差 %(tolerance)s 米):"
                    "%(area)s 平方米(%(share)s)在上级之外,坐标系(--crs)是否有误?"
                )
                % {
                    "parent": parent_code,
                    "tolerance": f"{tolerance_m:g}",
                    "area": f"{outside_m2:,.0f}",
                    "share": f"{share:.1%}",
                }
            )
        else:
            clip.append(idx)
            if outside_m2 >= MIN_REPORTED_M2:
                warnings.append(
                    _("要素 %(feature)s:已裁去上级 %(parent)s 之外的 %(area)s 平方米")
                    % {"feature": f.label, "parent": parent_code, "area": f"{outside_m2:,.0f}"}
                )
    if clip:
        cursor.execute(
            """UPDATE _bi_stage AS s
               SET geom = ST_Multi(ST_CollectionExtract(ST_Intersection(s.geom, r.boundary, %s), 3))
               FROM grids_region AS r WHERE r.id = s.parent_id AND s.idx = ANY(%s)
               RETURNING s.idx, ST_IsEmpty(s.geom)""",
            [GRID_SIZE, clip],
        )
        for idx, empty in cursor.fetchall():
            if empty:
                by_index[idx].fail(_("与上级没有重叠部分"))
    return [e for f in features for e in f.errors]


def _overlaps(cursor: CursorWrapper, level: Level) -> list[str]:
    """Regions of the level that overlap: within the file, and file against the database."""
    cursor.execute(
        """WITH others AS (
             SELECT code, name, geom, true AS staged FROM _bi_stage
             UNION ALL
             SELECT r.code, r.name, r.boundary, false FROM grids_region AS r
             WHERE r.level = %s AND NOT EXISTS (SELECT 1 FROM _bi_stage AS x WHERE x.code = r.code)
           )
           SELECT s.code, s.name, o.code, o.name,
                  ST_Area(ST_Intersection(s.geom, o.geom)::geography) AS overlap
           FROM _bi_stage AS s
           JOIN others AS o ON ST_Intersects(s.geom, o.geom) AND (NOT o.staged OR o.code > s.code)
           ORDER BY s.code, o.code""",
        [level],
    )
    return [
        _("%(code)s %(name)s 与 %(other)s %(other_name)s 重叠 %(area)s 平方米")
        % {
            "code": code,
            "name": name,
            "other": other,
            "other_name": other_name,
            "area": f"{area:,.0f}",
        }
        for code, name, other, other_name, area in cursor.fetchall()
        if area >= MIN_REPORTED_M2
    ]


def _gaps(cursor: CursorWrapper) -> list[str]:
    """Parents whose children (imported and already there) leave part of them uncovered."""
    cursor.execute(
        """WITH touched AS (SELECT DISTINCT parent_id FROM _bi_stage WHERE parent_id IS NOT NULL),
           kids AS (
             SELECT parent_id, geom FROM _bi_stage WHERE parent_id IS NOT NULL
             UNION ALL
             SELECT r.parent_id, r.boundary FROM grids_region AS r
             JOIN touched AS t ON t.parent_id = r.parent_id
             WHERE NOT EXISTS (SELECT 1 FROM _bi_stage AS x WHERE x.code = r.code)
           ),
           covered AS (SELECT parent_id, ST_Union(geom) AS geom FROM kids GROUP BY parent_id)
           SELECT p.code, p.name, ST_Area(p.boundary::geography),
                  ST_Area(ST_Difference(p.boundary, c.geom)::geography)
           FROM covered AS c JOIN grids_region AS p ON p.id = c.parent_id ORDER BY p.code"""
    )
    return [
        _("上级 %(code)s %(name)s 有 %(area)s 平方米(%(share)s)未被下级覆盖")
        % {"code": code, "name": name, "area": f"{gap:,.0f}", "share": f"{gap / total:.1%}"}
        for code, name, total, gap in cursor.fetchall()
        if gap >= MIN_REPORTED_M2 and total and gap / total >= MIN_GAP_SHARE
    ]


def _duplicate_names(cursor: CursorWrapper, level: Level) -> list[str]:
    cursor.execute(
        """WITH siblings AS (
             SELECT code, name, parent_id FROM _bi_stage
             UNION ALL
             SELECT r.code, r.name, r.parent_id FROM grids_region AS r
             WHERE r.level = %s AND NOT EXISTS (SELECT 1 FROM _bi_stage AS x WHERE x.code = r.code)
           )
           SELECT name, string_agg(code, ', ' ORDER BY code) FROM siblings
           GROUP BY parent_id, name HAVING count(*) > 1 AND bool_or(code IN
             (SELECT code FROM _bi_stage))""",
        [level],
    )
    return [
        _("同级重名“%(name)s”:%(codes)s") % {"name": name, "codes": codes}
        for name, codes in cursor.fetchall()
    ]


def _children_left_outside(cursor: CursorWrapper, tolerance_m: float) -> list[str]:
    """A new boundary for a region that has children may leave some of them outside it."""
    cursor.execute(
        """SELECT s.code, s.name, string_agg(c.code, ', ' ORDER BY c.code)
           FROM _bi_stage AS s
           JOIN grids_region AS r ON r.code = s.code
           JOIN grids_region AS c ON c.parent_id = r.id
           WHERE NOT ST_CoveredBy(c.boundary, s.geom)
             AND NOT ST_CoveredBy(c.boundary, ST_Buffer(s.geom::geography, %s)::geometry)
           GROUP BY s.code, s.name ORDER BY s.code""",
        [tolerance_m],
    )
    return [
        _("%(code)s %(name)s 的新边界未包含其下级 %(children)s")
        % {"code": code, "name": name, "children": children}
        for code, name, children in cursor.fetchall()
    ]


def _upsert(cursor: CursorWrapper, level: Level, report: ImportReport) -> None:
    cursor.execute(
        """INSERT INTO grids_region AS r (level, code, name, kind, parent_id, boundary, area_m2,
                                          responsible, synthetic, updated_at)
           SELECT %(level)s, code, name, kind, parent_id, geom, ST_Area(geom::geography), '',
                  false, now()
           FROM _bi_stage ORDER BY idx
           ON CONFLICT (code) DO UPDATE SET
             level = EXCLUDED.level, name = EXCLUDED.name,
             kind = COALESCE(NULLIF(EXCLUDED.kind, ''), r.kind), parent_id = EXCLUDED.parent_id,
             boundary = EXCLUDED.boundary, area_m2 = EXCLUDED.area_m2, synthetic = false,
             updated_at = EXCLUDED.updated_at
           WHERE (r.level, r.name, r.parent_id, r.synthetic)
                   IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.name, EXCLUDED.parent_id, false)
              OR COALESCE(NULLIF(EXCLUDED.kind, ''), r.kind) IS DISTINCT FROM r.kind
              OR NOT r.boundary = EXCLUDED.boundary
           RETURNING code, (xmax = 0)""",
        {"level": level},
    )
    changed = {code: created for code, created in cursor.fetchall()}
    report.created = sorted(c for c, created in changed.items() if created)
    report.updated = sorted(c for c, created in changed.items() if not created)
    cursor.execute(
        "SELECT code FROM _bi_stage WHERE code <> ALL(%s) ORDER BY code", [list(changed)]
    )
    report.unchanged = [code for (code,) in cursor.fetchall()]
