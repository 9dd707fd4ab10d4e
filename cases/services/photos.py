"""Photos from phones: checked to be real images, re-encoded without EXIF, thumbnailed.

Re-encoding (not just stripping tags) guarantees nothing but pixels leaves the phone's
file: no GPS trail, no device serials, no embedded payloads. The GPS position is read
first, because a report without a point may use it.
"""

import hashlib
import io
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_EDGE = 2560  # stored photos are downscaled to this; enough to see a manhole cover
THUMB_EDGE = 320
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "MPO"}
_GPS_IFD = 0x8825


class PhotoError(ValueError):
    """The upload is not an acceptable photo; the message says why, for the user."""


@dataclass(frozen=True)
class Photo:
    jpeg: bytes
    thumbnail: bytes
    width: int
    height: int
    sha256: str
    gps: tuple[float, float] | None  # (lng, lat) WGS 84, from the phone's EXIF


def _rational(value: object) -> float:
    if isinstance(value, tuple):
        return float(value[0]) / float(value[1]) if value[1] else 0.0
    return float(value)  # type: ignore[arg-type]


def _gps(image: Image.Image) -> tuple[float, float] | None:
    try:
        gps = image.getexif().get_ifd(_GPS_IFD)
    except Exception:  # broken EXIF is common: such a photo simply has no position
        return None
    if not gps or 2 not in gps or 4 not in gps:
        return None
    try:
        lat = sum(_rational(v) / 60**i for i, v in enumerate(gps[2]))
        lng = sum(_rational(v) / 60**i for i, v in enumerate(gps[4]))
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if gps.get(1) == "S":
        lat = -lat
    if gps.get(3) == "W":
        lng = -lng
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or (lat == 0 and lng == 0):
        return None
    return lng, lat


def _encode(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def photo_ingest(upload: UploadedFile | bytes) -> Photo:
    """Validate and re-encode one photo; raises PhotoError with a user-facing message."""
    data = upload if isinstance(upload, bytes) else upload.read()
    if len(data) > MAX_BYTES:
        raise PhotoError(_("照片不能超过 15 MB"))
    if not data:
        raise PhotoError(_("照片文件为空"))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()  # structure check without decoding pixels
        image: Image.Image = Image.open(io.BytesIO(data))
        if image.format not in ALLOWED_FORMATS:
            raise PhotoError(_("只接受 JPEG、PNG 或 WebP 照片"))
        if image.width * image.height > MAX_PIXELS:
            raise PhotoError(_("照片像素过大"))
        gps = _gps(image)
        image = ImageOps.exif_transpose(image)  # keep what the phone showed upright
        image.load()
    except PhotoError:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow refuses to even open a file claiming this many pixels: say why.
        raise PhotoError(_("照片像素过大")) from exc
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
    ) as exc:
        raise PhotoError(_("不是有效的图片文件")) from exc
    image = image.convert("RGB")
    image.thumbnail((MAX_EDGE, MAX_EDGE))
    jpeg = _encode(image, 85)
    thumb = image.copy()
    thumb.thumbnail((THUMB_EDGE, THUMB_EDGE))
    return Photo(
        jpeg=jpeg,
        thumbnail=_encode(thumb, 75),
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(jpeg).hexdigest(),
        gps=gps,
    )
