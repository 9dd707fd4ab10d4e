"""The demo territory: Beijing's districts, and inside Chaoyang a synthetic hierarchy.

Only the district boundaries are real (``grids/data``, GCJ-02, converted to WGS 84 here).
Chaoyang's 43 streets/townships carry their real names, but their boundaries, and every
community/village and unit grid below them, are generated — deterministically from a
seed — and stored with ``synthetic=True``. The geometry work is SQL in
``grids.territory_sql``; this module reads the seed files, numbers and names the
regions, and writes them by code, so re-running updates rows in place and never
duplicates or deletes anything another table points at.
"""

import csv
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.gis.geos import MultiPolygon
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from core.sql import run_script

from . import territory_sql as sql
from .crs import gcj02_to_wgs84
from .models import Level, Region
from .precision import multipolygon_coords

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
CHAOYANG = "110105"
AIRPORT_STREET = "首都机场"  # the exclave; the whole street, and nothing else
COMMUNITIES_PER_STREET = 10
GRIDS_PER_COMMUNITY = 8
# Random points per child fed to k-means: enough that clusters, and so cells, come out
# of even size; more only costs time.
POINTS_PER_CHILD = 30
DEFAULT_SEED = 105

Stats = dict[str, Any]


@dataclass(frozen=True)
class District:
    code: str
    name: str
    geom: MultiPolygon  # WGS 84, on the precision grid


@dataclass(frozen=True)
class StreetSeed:
    seq: int  # position in the CSV, 1-based: the (synthetic) street code suffix
    name: str
    kind: str  # 街道 or 地区
    lng: float  # approximate centre, WGS 84
    lat: float

    @property
    def code(self) -> str:
        return f"{CHAOYANG}{self.seq:03d}"

    @property
    def full_name(self) -> str:
        return f"{self.name}{self.kind}"


def _gcj02_geojson_to_wgs84(geojson: dict[str, Any]) -> MultiPolygon:
    """A GCJ-02 (Multi)Polygon as a WGS 84 MultiPolygon, converted vertex by vertex and
    rounded to the precision grid."""
    polygons = geojson["coordinates"]
    if geojson["type"] == "Polygon":
        polygons = [polygons]
    return multipolygon_coords(polygons, gcj02_to_wgs84)


def _district_index() -> list[tuple[str, str, Path]]:
    """(code, name, file) of every district with a boundary file; the city-wide 110000
    has none, on purpose."""
    index = json.loads((DATA_DIR / "index.json").read_text(encoding="utf-8"))
    entries = []
    for entry in index:
        path = DATA_DIR / str(entry.get("file") or "")
        if entry.get("district") and path.is_file():
            entries.append((str(entry["adcode"]), str(entry["district"]), path))
    return sorted(entries)


def load_districts() -> list[District]:
    return [
        District(code, name, _gcj02_geojson_to_wgs84(json.loads(path.read_text(encoding="utf-8"))))
        for code, name, path in _district_index()
    ]


def load_streets() -> list[StreetSeed]:
    with (DATA_DIR / "chaoyang-streets.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    streets = []
    for seq, row in enumerate(rows, start=1):
        lng, lat = gcj02_to_wgs84(float(row["approx_lng"]), float(row["approx_lat"]))
        streets.append(StreetSeed(seq, row["name"].strip(), row["kind"].strip(), lng, lat))
    return streets


_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1..99 in Chinese numerals, as names use them: 一, 十, 十二, 二十, 二十三."""
    if not 0 < n < 100:
        raise ValueError(n)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return head + (_DIGITS[ones] if ones else "")


def community_name(street: StreetSeed, seq: int) -> tuple[str, str]:
    """(name, kind): townships (地区) are villages, streets (街道) are communities."""
    if street.kind == "地区":
        return f"{street.name}{chinese_number(seq)}村", "村"
    return f"{street.name}第{chinese_number(seq)}社区", "社区"


def expected_codes() -> list[str]:
    """Every code the demo territory consists of; the counts do not depend on the seed."""
    codes = [code for code, _, _ in _district_index()]
    for street in load_streets():
        codes.append(street.code)
        for c in range(1, COMMUNITIES_PER_STREET + 1):
            community = f"{street.code}{c:03d}"
            codes.append(community)
            codes.extend(f"{community}{g:03d}" for g in range(1, GRIDS_PER_COMMUNITY + 1))
    return codes


def _counts() -> Stats:
    chaoyang = Region.objects.filter(code__startswith=CHAOYANG)
    return {
        "districts": Region.objects.filter(level=Level.DISTRICT).count(),
        "streets": chaoyang.filter(level=Level.STREET).count(),
        "communities": chaoyang.filter(level=Level.COMMUNITY).count(),
        "grids": chaoyang.filter(level=Level.GRID).count(),
    }


def ensure_demo_territory(seed: int = DEFAULT_SEED) -> Stats:
    """Build the demo territory unless every one of its regions is already there."""
    codes = expected_codes()
    if Region.objects.filter(code__in=codes).count() == len(codes):
        return {"built": False, **_counts()}
    return build_demo_territory(seed=seed)


def build_demo_territory(seed: int = DEFAULT_SEED) -> Stats:
    """(Re)build the demo territory in one transaction; rows are matched by code.

    Every demo code is written, so boundaries imported since for those codes are replaced
    by synthetic ones again; ``ensure_demo_territory`` never does that.
    """
    if seed <= 0:
        raise ValueError("seed must be a positive integer (ST_GeneratePoints needs one)")
    started = time.monotonic()
    districts = load_districts()
    streets = load_streets()
    chaoyang = next(d for d in districts if d.code == CHAOYANG)
    airport = next(s for s in streets if s.name == AIRPORT_STREET)
    voronoi_streets = [s for s in streets if s is not airport]
    with transaction.atomic(), connection.cursor() as cursor:
        # Two concurrent builds would race on the same codes; the second waits instead.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('grids.territory'))")
        cursor.execute(sql.DROP_TEMP)
        run_script(cursor, sql.DISTRICT, {"geom": chaoyang.geom.hexewkb.decode()})
        run_script(
            cursor,
            sql.STREETS,
            {
                "seq": [s.seq for s in voronoi_streets],
                "lng": [s.lng for s in voronoi_streets],
                "lat": [s.lat for s in voronoi_streets],
                "exclave_seq": airport.seq,
            },
        )
        for parent, child, k in (
            ("_ty_street", "_ty_comm", COMMUNITIES_PER_STREET),
            ("_ty_comm", "_ty_grid", GRIDS_PER_COMMUNITY),
        ):
            run_script(
                cursor,
                sql.CHILDREN.format(parent=parent, child=child),
                {"points": k * POINTS_PER_CHILD, "seed": seed, "k": k},
            )
        run_script(cursor, sql.FACES, {"grid": sql.GRID_SIZE})
        run_script(cursor, sql.SLIVERS, {"grid": sql.GRID_SIZE})
        run_script(cursor, sql.OUTPUT, {"grid": sql.GRID_SIZE})
        _stage_regions(cursor, districts, streets)
        stats = _write_regions(cursor)
        cursor.execute(sql.DROP_TEMP)
    with connection.cursor() as cursor:
        # Fresh statistics, or the planner guesses a handful of grids and picks slow plans.
        cursor.execute("ANALYZE grids_region")
    stats.update(built=True, seed=seed, seconds=round(time.monotonic() - started, 2), **_counts())
    logger.info("demo territory built: %s", stats)
    return stats


def _stage_regions(
    cursor: CursorWrapper, districts: list[District], streets: list[StreetSeed]
) -> None:
    """Fill ``_ty_region`` with every region to write: code, parent code, name, boundary."""
    cursor.execute(
        """CREATE TEMP TABLE _ty_region (
             level smallint, code text PRIMARY KEY, parent_code text, name text, kind text,
             synthetic boolean, geom geometry(MultiPolygon, 4326))"""
    )
    for district in districts:
        if district.code == CHAOYANG:
            # Chaoyang is exactly the union of its grids, so that every street is covered
            # by it; it differs from the snapped source boundary by under a centimetre.
            geom_sql, geom = sql.DISTRICT_UNION, None
        else:
            geom_sql = "SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(%(geom)s::geometry), 3))"
            geom = district.geom.hexewkb.decode()
        cursor.execute(
            "INSERT INTO _ty_region VALUES (%(level)s, %(code)s, NULL, %(name)s, '区', false, "
            f"({geom_sql}))",
            {
                "level": Level.DISTRICT,
                "code": district.code,
                "name": district.name,
                "geom": geom,
                "grid": sql.GRID_SIZE,
            },
        )

    by_seq = {s.seq: s for s in streets}
    cursor.execute("SELECT level, id, parent, seq FROM _ty_out ORDER BY level, parent, seq")
    codes: dict[tuple[int, int], str] = {}
    street_of: dict[int, StreetSeed] = {}
    community_names: dict[int, str] = {}
    rows: list[tuple[int, int, str, str, str, str]] = []
    for level, row_id, parent, seq in cursor.fetchall():
        if level == Level.STREET:
            street = by_seq[row_id]
            code, parent_code = street.code, CHAOYANG
            name, kind = street.full_name, street.kind
        elif level == Level.COMMUNITY:
            street = street_of[row_id] = by_seq[parent]
            parent_code = street.code
            code = f"{parent_code}{seq:03d}"
            name, kind = community_name(street, seq)
            community_names[row_id] = name
        else:
            parent_code = codes[(Level.COMMUNITY, parent)]
            code = f"{parent_code}{seq:03d}"
            name, kind = f"{community_names[parent]}第{seq}网格", "网格"
        codes[(level, row_id)] = code
        rows.append((level, row_id, code, parent_code, name, kind))
    columns: list[list[object]] = [list(c) for c in zip(*rows, strict=True)] or [[]] * 6
    cursor.execute(
        """INSERT INTO _ty_region
           SELECT t.level, t.code, t.parent_code, t.name, t.kind, true, o.geom
           FROM unnest(%s::smallint[], %s::integer[], %s::text[], %s::text[], %s::text[],
                       %s::text[]) AS t(level, id, code, parent_code, name, kind)
           JOIN _ty_out AS o ON o.level = t.level AND o.id = t.id""",
        columns,
    )


_UPSERT = """
INSERT INTO grids_region AS r
  (level, code, name, kind, parent_id, boundary, area_m2, responsible, synthetic, updated_at)
SELECT s.level, s.code, s.name, s.kind, p.id, s.geom, ST_Area(s.geom::geography), '',
       s.synthetic, now()
FROM _ty_region AS s LEFT JOIN grids_region AS p ON p.code = s.parent_code
WHERE s.level = %(level)s
ON CONFLICT (code) DO UPDATE SET
  level = EXCLUDED.level, name = EXCLUDED.name, kind = EXCLUDED.kind,
  parent_id = EXCLUDED.parent_id, boundary = EXCLUDED.boundary, area_m2 = EXCLUDED.area_m2,
  synthetic = EXCLUDED.synthetic, updated_at = EXCLUDED.updated_at
WHERE (r.level, r.name, r.kind, r.parent_id, r.synthetic)
        IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.name, EXCLUDED.kind, EXCLUDED.parent_id,
                          EXCLUDED.synthetic)
   OR NOT r.boundary = EXCLUDED.boundary
RETURNING (xmax = 0) AS created
"""


def _write_regions(cursor: CursorWrapper) -> Stats:
    """Upsert ``_ty_region`` top down (parents first), then drop stale synthetic rows."""
    created = updated = 0
    for level in Level:
        cursor.execute(_UPSERT, {"level": level})
        flags = [row[0] for row in cursor.fetchall()]
        created += sum(flags)
        updated += len(flags) - sum(flags)
    cursor.execute("SELECT count(*) FROM _ty_region")
    (total,) = cursor.fetchone() or (0,)
    deleted, kept = _delete_stale(cursor)
    cursor.execute("DROP TABLE _ty_region")
    return {
        "created": created,
        "updated": updated,
        "unchanged": total - created - updated,
        "deleted": deleted,
        "stale_kept": kept,
    }


def _delete_stale(cursor: CursorWrapper) -> tuple[int, int]:
    """Delete synthetic regions under Chaoyang that this build no longer produces.

    Rows that anything points at (staff memberships, departments, cases, a kept child)
    are kept and logged instead: their PROTECT foreign keys exist so that history never
    loses its place.
    """
    cursor.execute(
        """SELECT r.id FROM grids_region AS r
           WHERE r.code LIKE %s AND r.level > %s AND r.synthetic
             AND NOT EXISTS (SELECT 1 FROM _ty_region AS s WHERE s.code = r.code)""",
        [CHAOYANG + "%", Level.DISTRICT],
    )
    stale = {row[0] for row in cursor.fetchall()}
    if not stale:
        return 0, 0
    keep: set[int] = set()
    for rel in Region._meta.related_objects:
        if rel.related_model is Region:
            continue  # children are handled by deleting bottom up
        keep.update(
            rel.related_model._default_manager.filter(
                **{f"{rel.field.name}__in": stale}
            ).values_list(rel.field.attname, flat=True)
        )
    # A kept region keeps its ancestors too.
    frontier = set(keep)
    while frontier:
        parents = set(
            Region.objects.filter(id__in=frontier, parent_id__in=stale).values_list(
                "parent_id", flat=True
            )
        )
        frontier = parents - keep
        keep |= parents
    doomed = stale - keep
    deleted = 0
    for level in (Level.GRID, Level.COMMUNITY, Level.STREET):
        deleted += Region.objects.filter(id__in=doomed, level=level).delete()[0]
    if keep:
        kept_codes = sorted(Region.objects.filter(id__in=keep).values_list("code", flat=True))
        logger.warning("stale synthetic regions kept because they are referenced: %s", kept_codes)
    return deleted, len(keep)
