"""Coordinate frames at the edges: GCJ-02 ("Mars coordinates") ↔ WGS 84.

We store WGS 84 (SRID 4326). CGCS2000 is within a metre of WGS 84 in Beijing, so it is
taken as-is. GCJ-02 is the obfuscated frame of AMap and most Chinese web maps; the forward
formula is public, the inverse has no closed form, so we invert it by fixed-point iteration
to well under a millimetre.
"""

import math
from collections.abc import Callable
from enum import StrEnum

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 formula uses it
_EE = 0.00669342162296594323


class CRS(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    CGCS2000 = "cgcs2000"


def out_of_china(lng: float, lat: float) -> bool:
    """GCJ-02 applies only inside China's rough bounding box; outside it equals WGS 84."""
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _d_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _d_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    if out_of_china(lng, lat):
        return lng, lat
    dlat = _d_lat(lng - 105.0, lat - 35.0)
    dlng = _d_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lng + dlng, lat + dlat


def gcj02_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    """Invert wgs84_to_gcj02 by iteration; converges to 1e-10° (≈ 0.01 mm) in a few steps."""
    if out_of_china(lng, lat):
        return lng, lat
    wlng, wlat = lng, lat
    for _ in range(30):
        glng, glat = wgs84_to_gcj02(wlng, wlat)
        dlng, dlat = glng - lng, glat - lat
        wlng, wlat = wlng - dlng, wlat - dlat
        if abs(dlng) < 1e-10 and abs(dlat) < 1e-10:
            break
    return wlng, wlat


def to_wgs84(lng: float, lat: float, crs: CRS | str) -> tuple[float, float]:
    """Convert one point from the given frame to WGS 84."""
    crs = CRS(crs)
    if crs is CRS.GCJ02:
        return gcj02_to_wgs84(lng, lat)
    return lng, lat


def converter(crs: CRS | str) -> Callable[[float, float], tuple[float, float]]:
    """A per-vertex converter to WGS 84 for bulk geometry transforms."""
    crs = CRS(crs)
    if crs is CRS.GCJ02:
        return gcj02_to_wgs84
    return lambda lng, lat: (lng, lat)
