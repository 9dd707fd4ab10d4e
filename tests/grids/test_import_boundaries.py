"""Importing boundaries: GeoJSON, Shapefile and KML in; all or nothing; by code."""

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point, Polygon
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from grids.crs import wgs84_to_gcj02
from grids.models import Level, Region
from grids.services import BoundaryImportError, ImportReport, regions_import

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("territory")]

COMMUNITY = "110105001001"  # 建外第一社区 of the demo territory
NEW_GRID = COMMUNITY + "901"


# ---- helpers -------------------------------------------------------------------------


def write_geojson(path: Path, features: list[tuple[dict[str, Any], GEOSGeometry]]) -> Path:
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": props, "geometry": json.loads(geom.json)}
                    for props, geom in features
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path


def grids_of(community: str) -> list[Region]:
    return list(Region.objects.filter(parent__code=community).order_by("code"))


def square(centre: Point, half: float) -> Polygon:
    x, y = centre.x, centre.y
    return Polygon(
        ((x - half, y - half), (x + half, y - half), (x + half, y + half), (x - half, y + half),
         (x - half, y - half)),
        srid=4326,
    )  # fmt: skip


def inside(code: str = COMMUNITY) -> Point:
    point = Region.objects.get(code=code).boundary.point_on_surface
    assert isinstance(point, Point)
    return point


def import_grids(path: Path, **kwargs: Any) -> ImportReport:
    options: dict[str, Any] = {"level": "grid", "code_field": "code", "name_field": "name"}
    return regions_import(path=path, **(options | kwargs))


@contextmanager
def database_unchanged() -> Iterator[None]:
    """After a failed import: the same regions, with the same names and boundaries."""

    def snapshot() -> dict[str, tuple[str, str, bool]]:
        return {
            r.code: (r.name, r.boundary.hexewkb.decode(), r.synthetic)
            for r in Region.objects.filter(code__startswith=COMMUNITY[:9])
        }

    count, before = Region.objects.count(), snapshot()
    yield
    assert Region.objects.count() == count
    assert snapshot() == before


def error_of(excinfo: pytest.ExceptionInfo[BoundaryImportError]) -> str:
    return "\n".join(excinfo.value.messages)


# ---- good imports --------------------------------------------------------------------


def test_import_creates_then_reimport_updates_by_code(tmp_path: Path) -> None:
    community = Region.objects.get(code=COMMUNITY)
    path = write_geojson(
        tmp_path / "grid.geojson",
        [({"code": NEW_GRID, "name": "新建网格"}, square(inside(), 2e-4))],
    )
    report = import_grids(path)
    assert report.created == [NEW_GRID]
    assert report.updated == report.unchanged == []
    grid = Region.objects.get(code=NEW_GRID)
    assert (grid.level, grid.parent, grid.name, grid.kind) == (
        Level.GRID, community, "新建网格", "网格"
    )  # fmt: skip
    assert not grid.synthetic
    assert grid.area_m2 == pytest.approx(44.4 * 34.1, rel=0.02)  # 0.0004° ≈ 44 m × 34 m here
    # It lies on top of a demo grid: reported, not refused.
    assert any(NEW_GRID in w and "重叠" in w for w in report.warnings)

    # The same code again, renamed: the same row is updated, nothing is added.
    write_geojson(path, [({"code": NEW_GRID, "name": "改名网格"}, square(inside(), 2e-4))])
    count = Region.objects.count()
    report = import_grids(path)
    assert (report.created, report.updated) == ([], [NEW_GRID])
    assert Region.objects.count() == count
    assert Region.objects.get(code=NEW_GRID).pk == grid.pk
    assert Region.objects.get(code=NEW_GRID).name == "改名网格"
    assert import_grids(path).unchanged == [NEW_GRID]


def test_reimporting_a_partition_keeps_it_exact_and_warns_about_nothing(tmp_path: Path) -> None:
    grids = grids_of(COMMUNITY)
    path = write_geojson(
        tmp_path / "grids.geojson",
        [({"code": g.code, "name": f"{g.name}(实测)"}, g.boundary) for g in grids],
    )
    report = import_grids(path)
    assert report.updated == [g.code for g in grids]
    assert report.warnings == []
    for g in grids:
        g.refresh_from_db()
        assert g.name.endswith("(实测)")
        assert not g.synthetic


def test_clips_a_small_overhang_within_the_tolerance(tmp_path: Path) -> None:
    community = Region.objects.get(code=COMMUNITY)
    # The community's easternmost grid, pushed about 4 m east: it sticks out a little.
    grid = max(grids_of(COMMUNITY), key=lambda g: g.boundary.extent[2])
    shifted = MultiPolygon(
        *[
            Polygon(*[[(x + 5e-5, y) for x, y in ring] for ring in poly])
            for poly in grid.boundary.coords
        ],
        srid=4326,
    )
    assert not community.boundary.covers(shifted)
    path = write_geojson(tmp_path / "g.geojson", [({"code": grid.code, "name": "东移"}, shifted)])
    report = import_grids(path, tolerance_m=50)
    assert report.updated == [grid.code]
    assert any("已裁去上级" in w and grid.code in w for w in report.warnings)
    # The clip is an overlay on the 1 cm grid: what is left outside is rounding, not area.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Area(ST_Difference(g.boundary, c.boundary)::geography) "
            "FROM grids_region AS g, grids_region AS c WHERE g.code = %s AND c.code = %s",
            [grid.code, COMMUNITY],
        )
        [(outside_m2,)] = cursor.fetchall()
    assert outside_m2 < 0.5

    # Ten metres is more than a 2 m tolerance allows.
    with database_unchanged(), pytest.raises(BoundaryImportError) as excinfo:
        import_grids(path, tolerance_m=2)
    assert "容差 2 米" in error_of(excinfo)


def test_shapefile_written_by_ogr2ogr(tmp_path: Path) -> None:
    grids = grids_of(COMMUNITY)
    source = write_geojson(
        tmp_path / "src.geojson",
        [({"code": g.code, "name": f"{g.name}甲"}, g.boundary) for g in grids],
    )
    shp = tmp_path / "grids.shp"
    subprocess.run(
        ["ogr2ogr", "-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", str(shp), str(source)],
        check=True,
        capture_output=True,
    )
    report = import_grids(shp)
    assert report.updated == [g.code for g in grids]
    assert Region.objects.get(code=grids[0].code).name == f"{grids[0].name}甲"

    # The same grids in a projected frame (CGCS2000 / Gauss-Kruger): reprojected from the .prj.
    projected = tmp_path / "projected.shp"
    subprocess.run(
        ["ogr2ogr", "-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", "-t_srs", "EPSG:4547",
         str(projected), str(source)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    report = import_grids(projected)
    assert any("已将投影坐标系" in w for w in report.warnings)
    moved = Region.objects.get(code=grids[0].code)
    assert moved.boundary.area == pytest.approx(grids[0].boundary.area, rel=1e-6)


def test_kml(tmp_path: Path) -> None:
    ring = " ".join(f"{x},{y},0" for x, y in square(inside(), 2e-4).coords[0])
    kml = tmp_path / "grid.kml"
    kml.write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>
  <name>奥运测试网格</name>
  <ExtendedData><Data name="code"><value>{NEW_GRID}</value></Data></ExtendedData>
  <Polygon><outerBoundaryIs><LinearRing><coordinates>{ring}</coordinates></LinearRing>
  </outerBoundaryIs></Polygon>
</Placemark></Document></kml>""",
        encoding="utf-8",
    )
    report = import_grids(kml, name_field="Name")
    assert report.created == [NEW_GRID]
    assert Region.objects.get(code=NEW_GRID).name == "奥运测试网格"


def test_gcj02_file_is_converted_and_the_wrong_crs_is_refused(tmp_path: Path) -> None:
    grids = grids_of(COMMUNITY)

    def to_gcj(geom: MultiPolygon) -> MultiPolygon:
        polys = [
            Polygon(*[[wgs84_to_gcj02(x, y) for x, y in ring] for ring in poly])
            for poly in geom.coords
        ]
        return MultiPolygon(*polys, srid=4326)

    path = write_geojson(
        tmp_path / "gcj.geojson",
        [({"code": g.code, "name": g.name}, to_gcj(g.boundary)) for g in grids],
    )
    # Read as WGS 84, GCJ-02 boundaries sit some 500 m off: outside their community.
    with database_unchanged(), pytest.raises(BoundaryImportError) as excinfo:
        import_grids(path, crs="wgs84")
    assert "超出上级" in error_of(excinfo)
    assert grids[0].code in error_of(excinfo)

    report = import_grids(path, crs="gcj02")
    assert sorted(report.updated + report.unchanged) == [g.code for g in grids]
    for g in grids:
        back = Region.objects.get(code=g.code).boundary
        assert back.sym_difference(g.boundary).area < 1e-6 * g.boundary.area


def test_cgcs2000_is_taken_as_wgs84(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "g.geojson", [({"code": NEW_GRID, "name": "国家大地"}, square(inside(), 2e-4))]
    )
    assert import_grids(path, crs="cgcs2000").created == [NEW_GRID]


def test_community_import_derives_the_parent_from_the_code(tmp_path: Path) -> None:
    street = Region.objects.get(code=COMMUNITY[:9])
    community = Region.objects.get(code=COMMUNITY)
    path = write_geojson(
        tmp_path / "c.geojson", [({"CODE": COMMUNITY, "NAME": "建外测试社区"}, community.boundary)]
    )
    report = regions_import(path=path, level=Level.COMMUNITY, code_field="CODE", name_field="NAME")
    assert report.updated == [COMMUNITY]
    community.refresh_from_db()
    assert (community.parent, community.name, community.kind) == (street, "建外测试社区", "社区")
    assert report.warnings == []


def test_a_shrunk_parent_warns_about_the_children_it_leaves_out(tmp_path: Path) -> None:
    community = Region.objects.get(code=COMMUNITY)
    first, *others = grids_of(COMMUNITY)
    shrunk = community.boundary.difference(first.boundary)
    path = write_geojson(tmp_path / "c.geojson", [({"code": COMMUNITY, "name": "缩小"}, shrunk)])
    report = regions_import(path=path, level="community", code_field="code", name_field="name")
    assert report.updated == [COMMUNITY]
    [warning] = [w for w in report.warnings if "的新边界未包含其下级" in w]
    assert first.code in warning
    assert not any(g.code in warning for g in others)


# ---- refused files: nothing changes ---------------------------------------------------


def test_bow_tie_is_rejected_naming_the_feature(tmp_path: Path) -> None:
    c, d = inside(), 2e-4
    bow_tie = Polygon(
        ((c.x - d, c.y - d), (c.x + d, c.y + d), (c.x + d, c.y - d), (c.x - d, c.y + d),
         (c.x - d, c.y - d)),
        srid=4326,
    )  # fmt: skip
    path = write_geojson(
        tmp_path / "bow.geojson", [({"code": NEW_GRID, "name": "蝴蝶结"}, bow_tie)]
    )
    with database_unchanged(), pytest.raises(BoundaryImportError) as excinfo:
        import_grids(path)
    message = error_of(excinfo)
    assert "蝴蝶结" in message and NEW_GRID in message and "#1" in message
    assert "Self-intersection" in message


def test_a_small_self_intersection_is_repaired(tmp_path: Path) -> None:
    c, d = inside(), 2e-4
    # A square whose last vertex overshoots the first corner: a sliver of a lobe.
    twisted = Polygon(
        ((c.x - d, c.y - d), (c.x + d, c.y - d), (c.x + d, c.y + d), (c.x - d, c.y + d),
         (c.x - 0.96 * d, c.y - 1.04 * d), (c.x - d, c.y - d)),
        srid=4326,
    )  # fmt: skip
    assert not twisted.valid
    path = write_geojson(tmp_path / "t.geojson", [({"code": NEW_GRID, "name": "小扭结"}, twisted)])
    report = import_grids(path)
    assert report.created == [NEW_GRID]
    assert any("已修复无效几何" in w and NEW_GRID in w for w in report.warnings)
    assert Region.objects.get(code=NEW_GRID).boundary.valid

    with database_unchanged(), pytest.raises(BoundaryImportError) as excinfo:
        import_grids(path, repair=False)
    assert "几何图形无效" in error_of(excinfo)


def test_grid_outside_its_parent_is_rejected(tmp_path: Path) -> None:
    # A grid of 建外第一社区 drawn in the airport exclave, kilometres away.
    far = square(inside("110105020001"), 2e-4)
    good = square(inside(), 2e-4)
    path = write_geojson(
        tmp_path / "far.geojson",
        [({"code": NEW_GRID, "name": "好网格"}, good),
         ({"code": COMMUNITY + "902", "name": "飞地网格"}, far)],
    )  # fmt: skip
    with database_unchanged(), pytest.raises(BoundaryImportError) as excinfo:
        import_grids(path)
    message = error_of(excinfo)
    assert "飞地网格" in message and "超出上级" in message
    assert "好网格" not in message  # the good feature is not blamed, and not written either
    assert not Region.objects.filter(code=NEW_GRID).exists()


def test_projected_metres_are_refused(tmp_path: Path) -> None:
    metres = square(Point(500_000, 4_420_000), 100)  # Gauss-Kruger-like numbers, no .prj
    path = write_geojson(tmp_path / "m.geojson", [({"code": NEW_GRID, "name": "米"}, metres)])
    with database_unchanged(), pytest.raises(BoundaryImportError) as excinfo:
        import_grids(path)
    assert "坐标不是经纬度" in error_of(excinfo)


def test_swapped_or_faraway_coordinates_are_refused(tmp_path: Path) -> None:
    c = inside()
    swapped = square(Point(c.y, c.x), 2e-4)  # lat, lng: latitude 116 is impossible
    shanghai = square(Point(121.47, 31.23), 2e-4)
    for geom in (swapped, shanghai):
        path = write_geojson(tmp_path / "x.geojson", [({"code": NEW_GRID, "name": "错位"}, geom)])
        with database_unchanged(), pytest.raises(BoundaryImportError) as excinfo:
            import_grids(path)
        assert "错位" in error_of(excinfo)
        assert "北京范围之外" in error_of(excinfo) or "坐标不是经纬度" in error_of(excinfo)


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("notes.txt", "这不是地理数据 / this is not geodata\n"),
        ("empty.geojson", ""),
        ("broken.geojson", '{"type": "FeatureCollection", "features": [{"type": '),
        ("streets.csv", "code,name\n110105001001901,表格\n"),
    ],
)
def test_files_that_are_not_geodata_are_refused(
    tmp_path: Path, filename: str, content: str
) -> None:
    path = tmp_path / filename
    path.write_text(content, encoding="utf-8")
    with database_unchanged(), pytest.raises(BoundaryImportError) as excinfo:
        import_grids(path)
    message = error_of(excinfo)
    assert filename in message
    assert "无法作为地理数据读取" in message or "中没有几何要素" in message


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BoundaryImportError, match="文件不存在"):
        import_grids(tmp_path / "nowhere.geojson")


def test_feature_level_errors_are_all_reported(tmp_path: Path) -> None:
    c = inside()
    box = square(c, 2e-4)
    path = write_geojson(
        tmp_path / "bad.geojson",
        [
            ({"code": None, "name": "无编码"}, box),
            ({"code": NEW_GRID, "name": ""}, box),
            ({"code": "1101050010019", "name": "短编码"}, box),
            ({"code": "110105099001001", "name": "无上级"}, box),
            ({"code": COMMUNITY + "903", "name": "点"}, c),
            ({"code": COMMUNITY + "904", "name": "重复甲"}, box),
            ({"code": COMMUNITY + "904", "name": "重复乙"}, box),
        ],
    )
    with database_unchanged(), pytest.raises(BoundaryImportError) as excinfo:
        import_grids(path)
    message = error_of(excinfo)
    for expected in (
        "要素 #1 ? 无编码:缺少编码(字段 code)",
        f"要素 #2 {NEW_GRID} ?:缺少名称(字段 name)",
        "要素 #3 1101050010019 短编码:编码应为 15 位数字(单元网格)",
        "要素 #4 110105099001001 无上级:上级社区/村 110105099001 不存在",
        "要素 #5 110105001001903 点:不是面状几何(Point)",
        "要素 #7 110105001001904 重复乙:编码与要素 #6 110105001001904 重复甲 重复",
    ):
        assert expected in message

    # The same errors in English, for a session or command run in English.
    with translation.override("en"), pytest.raises(BoundaryImportError) as excinfo:
        import_grids(path)
    message = error_of(excinfo)
    for expected in (
        "feature #1 ? 无编码: missing code (field code)",
        f"feature #2 {NEW_GRID} ?: missing name (field name)",
        "feature #3 1101050010019 短编码: code must be 15 digits",
        "feature #4 110105099001001 无上级: parent Community / village 110105099001 does not exist",
        "feature #5 110105001001903 点: is not a polygon (Point)",
        "feature #7 110105001001904 重复乙: duplicate code, as #6 110105001001904 重复甲",
    ):
        assert expected in message
    assert "要素" not in message and "缺少" not in message  # no Chinese message text left


def test_parent_field_must_match_the_code_prefix(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "p.geojson",
        [({"code": NEW_GRID, "name": "错上级", "parent": "110105002001"}, square(inside(), 2e-4))],
    )
    with database_unchanged(), pytest.raises(BoundaryImportError) as excinfo:
        import_grids(path, parent_field="parent")
    assert "编码前缀与上级 110105002001 不一致" in error_of(excinfo)


def test_unknown_fields_are_refused_with_the_fields_there_are(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "f.geojson", [({"code": NEW_GRID, "name": "x"}, square(inside(), 2e-4))]
    )
    with database_unchanged(), pytest.raises(BoundaryImportError) as excinfo:
        import_grids(path, code_field="bm")
    assert "--code-field=bm" in error_of(excinfo) and "code, name" in error_of(excinfo)


# ---- warnings ------------------------------------------------------------------------


def test_overlaps_duplicate_names_and_gaps_are_warned(tmp_path: Path) -> None:
    box = square(inside(), 2e-4)
    path = write_geojson(
        tmp_path / "dup.geojson",
        [({"code": NEW_GRID, "name": "同名"}, box),
         ({"code": COMMUNITY + "902", "name": "同名"}, box)],
    )  # fmt: skip
    report = import_grids(path)
    assert report.created == [NEW_GRID, COMMUNITY + "902"]
    text = "\n".join(report.warnings)
    assert f"{NEW_GRID} 同名 与 {COMMUNITY}902 同名 重叠" in text
    assert "同级重名“同名”" in text

    # Replacing a demo grid by half of itself leaves a gap in the community.
    first = grids_of(COMMUNITY)[0]
    centre = first.boundary.centroid
    half = first.boundary.intersection(square(centre, 1.0).intersection(
        Polygon.from_bbox((centre.x, -90, 180, 90))))  # fmt: skip
    path = write_geojson(tmp_path / "half.geojson", [({"code": first.code, "name": "半"}, half)])
    report = import_grids(path)
    assert any(COMMUNITY in w and "未被下级覆盖" in w for w in report.warnings)


def test_dry_run_reports_and_writes_nothing(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "g.geojson", [({"code": NEW_GRID, "name": "演练"}, square(inside(), 2e-4))]
    )
    with database_unchanged():
        report = import_grids(path, dry_run=True)
    assert report.created == [NEW_GRID]
    assert "演练模式,未写入任何数据" in report.summary()


# ---- the command ---------------------------------------------------------------------


def test_command_imports_and_prints_the_report(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "g.geojson", [({"bm": NEW_GRID, "mc": "命令网格"}, square(inside(), 2e-4))]
    )
    out = StringIO()
    call_command(
        "import_boundaries", str(path), "--level", "grid", "--code-field", "bm",
        "--name-field", "mc", "--tolerance", "20", stdout=out,
    )  # fmt: skip
    assert "新建 1," in out.getvalue()
    assert Region.objects.filter(code=NEW_GRID, name="命令网格").exists()


def test_command_fails_with_the_feature_named(tmp_path: Path) -> None:
    far = square(inside("110105020001"), 2e-4)
    path = write_geojson(tmp_path / "far.geojson", [({"bm": NEW_GRID, "mc": "远方网格"}, far)])
    with database_unchanged(), pytest.raises(CommandError) as excinfo:
        call_command(
            "import_boundaries", str(path), "--level", "grid", "--code-field", "bm",
            "--name-field", "mc",
        )  # fmt: skip
    message = str(excinfo.value)
    assert "远方网格" in message and NEW_GRID in message
    assert "导入失败,未作任何修改" in message


def test_command_reports_in_english_when_run_in_english(tmp_path: Path) -> None:
    far = square(inside("110105020001"), 2e-4)
    path = write_geojson(tmp_path / "far.geojson", [({"bm": NEW_GRID, "mc": "远方网格"}, far)])
    with database_unchanged(), translation.override("en"):
        with pytest.raises(CommandError) as excinfo:
            call_command(
                "import_boundaries", str(path), "--level", "grid", "--code-field", "bm",
                "--name-field", "mc",
            )  # fmt: skip
        message = str(excinfo.value)
        assert message.startswith("import failed, nothing was changed:")
        assert f"feature #1 {NEW_GRID} 远方网格: lies outside its parent {COMMUNITY}" in message
        assert "超出上级" not in message

        good = write_geojson(
            tmp_path / "g.geojson", [({"bm": NEW_GRID, "mc": "命令网格"}, square(inside(), 2e-4))]
        )
        out = StringIO()
        call_command(
            "import_boundaries", str(good), "--level", "grid", "--code-field", "bm",
            "--name-field", "mc", "--dry-run", stdout=out,
        )  # fmt: skip
    assert "created 1, updated 0, unchanged 0" in out.getvalue()
    assert "dry run: nothing was written" in out.getvalue()


def test_command_refuses_a_text_file(tmp_path: Path) -> None:
    path = tmp_path / "readme.txt"
    path.write_text("hello", encoding="utf-8")
    with (
        database_unchanged(),
        pytest.raises(CommandError, match=r"无法作为地理数据读取 readme\.txt"),
    ):
        call_command(
            "import_boundaries", str(path), "--level", "street", "--code-field", "c",
            "--name-field", "n",
        )  # fmt: skip
