"""Reading boundary files for ``grids.services.regions_import``: GDAL in, checked features out.

Everything here is per feature and needs no database: opening the file, picking fields,
converting the coordinate frame, repairing or rejecting geometries. Checks that need the
territory (parents, containment, overlaps, gaps) live in the service.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.gis.gdal import DataSource, GDALException, OGRGeometry, SpatialReference
from django.contrib.gis.gdal.layer import Layer
from django.contrib.gis.geos import GeometryCollection, GEOSGeometry, MultiPolygon, Polygon
from django.utils.translation import gettext as _

from .crs import CRS, converter
from .models import CODE_LENGTH, PARENT_LEVEL, Level
from .precision import snap

# A geometry whose repaired area differs more than this from its (shoelace) area before
# repair was not a small defect: a bow-tie whose lobes cancel out, say. Reject it.
REPAIR_AREA_TOLERANCE = 0.01
# Every boundary this platform manages lies in Beijing. A geometry outside this box was
# almost surely read in the wrong frame (projected metres, swapped lng/lat, another city).
BEIJING_BBOX = (115.4, 39.4, 117.6, 41.1)  # lng min, lat min, lng max, lat max


class BoundaryImportError(Exception):
    """The file cannot be imported; nothing was changed. ``messages`` names each feature."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__("\n".join(messages))


@dataclass
class Feature:
    index: int  # 1-based position in the layer, as users count
    code: str
    name: str
    parent_code: str | None
    geom: MultiPolygon | None = None  # WGS 84, valid; None once rejected
    errors: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"#{self.index} {self.code or '?'} {self.name or '?'}"

    def fail(self, problem: str) -> None:
        """Reject the feature; `problem` is translated already, the label is added here."""
        self.errors.append(
            _("要素 %(feature)s:%(problem)s") % {"feature": self.label, "problem": problem}
        )


@dataclass
class ReadResult:
    features: list[Feature]
    warnings: list[str]

    @property
    def errors(self) -> list[str]:
        return [e for f in self.features for e in f.errors]


def _text(value: Any) -> str:
    """A field value as text; shapefiles hand back codes as floats (110105001.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def open_layer(path: str | Path, layer: int | str | None) -> Layer:
    path = Path(path)
    if not path.is_file():
        raise BoundaryImportError([_("文件不存在:%(path)s") % {"path": path}])
    source = f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)
    try:
        datasource = DataSource(source)
    except GDALException as exc:
        raise BoundaryImportError(
            [
                _("无法作为地理数据读取 %(file)s(支持 GeoJSON、Shapefile、KML):%(error)s")
                % {"file": path.name, "error": exc}
            ]
        ) from exc
    try:
        chosen = datasource[layer if layer is not None else 0]
    except (IndexError, KeyError, GDALException) as exc:
        names = ", ".join(datasource[i].name for i in range(len(datasource))) or "-"
        raise BoundaryImportError(
            [_("找不到图层 %(layer)s(可用:%(names)s)") % {"layer": layer, "names": names}]
        ) from exc
    if chosen.geom_type.name == "None" or chosen.num_feat == 0:
        raise BoundaryImportError(
            [_("%(file)s 中没有几何要素(是表格文件吗?)") % {"file": path.name}]
        )
    return chosen


def _check_fields(layer: Layer, wanted: dict[str, str | None]) -> None:
    missing = [f"{opt}={name}" for opt, name in wanted.items() if name and name not in layer.fields]
    if missing:
        have = ", ".join(layer.fields) or "-"
        raise BoundaryImportError(
            [
                _("图层中没有字段 %(missing)s(现有字段:%(have)s)")
                % {"missing": ", ".join(missing), "have": have}
            ]
        )


def _to_multipolygon(geom: GEOSGeometry) -> MultiPolygon | None:
    """The polygonal part of a geometry as a MultiPolygon, or None if it has none."""
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon(geom, srid=geom.srid)
    polygons: list[GEOSGeometry] = []
    if isinstance(geom, GeometryCollection):
        for part in geom:
            found = _to_multipolygon(part)
            if found is not None:
                polygons.extend(found)
    return MultiPolygon(*polygons, srid=geom.srid) if polygons else None


def _to_wgs84_grid(geom: MultiPolygon, crs: CRS) -> MultiPolygon | None:
    """To WGS 84 vertex by vertex (CGCS2000 is within a metre of WGS 84, so taken as is),
    on the precision grid; None if rounding to the grid leaves nothing."""
    snapped = snap(geom, converter(crs) if crs is CRS.GCJ02 else None)
    if snapped.valid:
        return snapped
    # Rounding to 1 cm can make a ring touch itself; mending that moves nothing visible.
    return _to_multipolygon(snapped.make_valid())


def _geometry(
    feature: Feature, ogr: OGRGeometry | None, crs: CRS, repair: bool, warnings: list[str]
) -> MultiPolygon | None:
    if ogr is None:
        feature.fail(_("没有几何图形"))
        return None
    ogr.set_3d(False)  # KML carries heights; boundaries are flat
    ogr.set_measured(False)
    geos = ogr.geos
    geos.srid = 4326
    if geos.empty:
        feature.fail(_("几何图形为空"))
        return None
    if geos.geom_type not in ("Polygon", "MultiPolygon"):
        feature.fail(_("不是面状几何(%(type)s)") % {"type": geos.geom_type})
        return None
    xmin, ymin, xmax, ymax = geos.extent
    if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
        feature.fail(
            _(
                "坐标不是经纬度(x %(xmin).6g…%(xmax).6g, y %(ymin).6g…%(ymax).6g),"
                "是否为投影坐标(米)?请检查 --crs"
            )
            % {"xmin": xmin, "xmax": xmax, "ymin": ymin, "ymax": ymax}
        )
        return None
    bx0, by0, bx1, by1 = BEIJING_BBOX
    if xmax < bx0 or xmin > bx1 or ymax < by0 or ymin > by1:
        feature.fail(
            _(
                "位于北京范围之外(经度 %(xmin).4f…%(xmax).4f,纬度 %(ymin).4f…%(ymax).4f),"
                "经纬度是否颠倒或坐标系有误?"
            )
            % {"xmin": xmin, "xmax": xmax, "ymin": ymin, "ymax": ymax}
        )
        return None
    multi = _to_multipolygon(geos)
    assert multi is not None
    if not multi.valid:
        reason = multi.valid_reason
        if not repair:
            feature.fail(_("几何图形无效:%(reason)s") % {"reason": reason})
            return None
        fixed = _to_multipolygon(multi.make_valid())
        before, after = abs(multi.area), fixed.area if fixed is not None else 0.0
        if fixed is None or abs(after - before) > REPAIR_AREA_TOLERANCE * max(before, after):
            feature.fail(
                _("几何图形无效且无法可靠修复:%(reason)s(修复前后面积相差过大)")
                % {"reason": reason}
            )
            return None
        warnings.append(
            _("要素 %(feature)s:已修复无效几何(%(reason)s)")
            % {"feature": feature.label, "reason": reason}
        )
        multi = fixed
    snapped = _to_wgs84_grid(multi, crs)
    if snapped is None or snapped.empty:
        feature.fail(_("几何图形过小,按 1 厘米精度取整后为空"))
        return None
    return snapped


def read_features(
    path: str | Path,
    *,
    level: Level,
    code_field: str,
    name_field: str,
    parent_field: str | None,
    crs: CRS,
    repair: bool,
    layer: int | str | None,
) -> ReadResult:
    """Every feature of the layer, each with its own errors; WGS 84 geometries."""
    lyr = open_layer(path, layer)
    _check_fields(
        lyr,
        {"--code-field": code_field, "--name-field": name_field, "--parent-field": parent_field},
    )
    warnings: list[str] = []
    reproject = None
    if lyr.srs is not None and lyr.srs.projected:
        if crs is CRS.GCJ02:
            raise BoundaryImportError(
                [_("文件为投影坐标系(%(srs)s),--crs gcj02 只适用于经纬度") % {"srs": lyr.srs.name}]
            )
        reproject = SpatialReference(4326)
        warnings.append(_("已将投影坐标系 %(srs)s 转换为 WGS 84") % {"srs": lyr.srs.name})
    code_length = CODE_LENGTH[level]
    features: list[Feature] = []
    seen: dict[str, Feature] = {}
    for index, gdal_feature in enumerate(lyr, start=1):
        code = _text(gdal_feature.get(code_field))
        parent_code = _text(gdal_feature.get(parent_field)) if parent_field else None
        feature = Feature(index, code, _text(gdal_feature.get(name_field)), parent_code)
        features.append(feature)
        if not code:
            feature.fail(_("缺少编码(字段 %(field)s)") % {"field": code_field})
        elif not code.isdigit() or len(code) != code_length:
            feature.fail(
                _("编码应为 %(length)s 位数字(%(level)s)")
                % {"length": code_length, "level": level.label}
            )
        elif code in seen:
            feature.fail(_("编码与要素 %(other)s 重复") % {"other": seen[code].label})
        else:
            seen[code] = feature
        if not feature.name:
            feature.fail(_("缺少名称(字段 %(field)s)") % {"field": name_field})
        if level in PARENT_LEVEL and not parent_field and code.isdigit():
            feature.parent_code = code[: CODE_LENGTH[PARENT_LEVEL[level]]]
        try:
            ogr: OGRGeometry | None = gdal_feature.geom
        except GDALException:
            ogr = None
        if ogr is not None and reproject is not None:
            ogr.transform(reproject)
        feature.geom = _geometry(feature, ogr, crs, repair, warnings)
    return ReadResult(features, warnings)
