"""Photos from phones: real images only, stored without EXIF, GPS read first, thumbnailed."""

import io
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from cases.models import Attachment, Case, CaseNumberCounter
from cases.services.photos import MAX_EDGE, THUMB_EDGE, PhotoError, photo_ingest
from dispatch.services.intake import IntakeInput, case_intake
from tests.factories import GRID1, grid_point, module_demo

pytestmark = pytest.mark.django_db

GPS_IFD = 0x8825
MAKE, MODEL, ORIENTATION = 0x010F, 0x0110, 0x0112


def dms(value: float) -> tuple[float, float, float]:
    """Degrees as EXIF degrees, minutes, seconds."""
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600, 4)
    return float(degrees), float(minutes), seconds


def jpeg(
    size: tuple[int, int] = (64, 48),
    *,
    gps: tuple[float, float] | None = None,
    orientation: int | None = None,
    make: str | None = "Canon",
    colour: str = "green",
) -> bytes:
    """A JPEG as a phone writes it: EXIF with the camera make and, if given, a GPS fix."""
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    if make:
        exif[MAKE] = make
        exif[MODEL] = "EOS 5D"
    if orientation:
        exif[ORIENTATION] = orientation
    if gps is not None:
        lng, lat = gps
        ifd = exif.get_ifd(GPS_IFD)
        ifd[1] = "N" if lat >= 0 else "S"
        ifd[2] = dms(lat)
        ifd[3] = "E" if lng >= 0 else "W"
        ifd[4] = dms(lng)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def assert_no_exif(data: bytes) -> None:
    assert b"Exif" not in data
    assert b"Canon" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert dict(image.getexif()) == {}
        assert image.getexif().get_ifd(GPS_IFD) == {}


# ---- the service, without a database ---------------------------------------------------


def test_exif_is_stripped_and_gps_read_first() -> None:
    original = jpeg(gps=(116.4399, 39.90937))
    assert b"Exif" in original and b"Canon" in original  # the fixture really carries EXIF
    photo = photo_ingest(original)
    assert photo.gps is not None
    lng, lat = photo.gps
    assert lng == pytest.approx(116.4399, abs=1e-6)
    assert lat == pytest.approx(39.90937, abs=1e-6)
    assert_no_exif(photo.jpeg)
    assert_no_exif(photo.thumbnail)


def test_southern_and_western_hemispheres_are_negative() -> None:
    photo = photo_ingest(jpeg(gps=(-70.6483, -33.4569)))
    assert photo.gps == (pytest.approx(-70.6483, abs=1e-6), pytest.approx(-33.4569, abs=1e-6))


def test_photo_without_gps_has_no_position() -> None:
    assert photo_ingest(jpeg()).gps is None
    assert photo_ingest(jpeg(gps=(0.0, 0.0))).gps is None  # a phone without a fix writes 0,0


def test_orientation_is_applied_so_the_photo_stays_upright() -> None:
    # 40×20, left half red, right half blue; orientation 6 = "rotate 90° clockwise to view".
    image = Image.new("RGB", (40, 20), "red")
    image.paste((0, 0, 255), (20, 0, 40, 20))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=95)
    photo = photo_ingest(out.getvalue())
    assert (photo.width, photo.height) == (20, 40)
    with Image.open(io.BytesIO(photo.jpeg)) as stored:
        assert stored.size == (20, 40)
        assert ORIENTATION not in stored.getexif()  # nobody rotates it a second time
        top, bottom = stored.getpixel((10, 5)), stored.getpixel((10, 35))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 200 and top[2] < 60  # the left (red) half is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_large_photos_are_downscaled_and_thumbnails_fit_320() -> None:
    photo = photo_ingest(jpeg((3000, 1200)))
    assert (photo.width, photo.height) == (MAX_EDGE, 1024)
    with Image.open(io.BytesIO(photo.thumbnail)) as thumb:
        assert max(thumb.size) <= THUMB_EDGE
        assert thumb.size == (320, 128)
    small = photo_ingest(jpeg((200, 100)))
    with Image.open(io.BytesIO(small.thumbnail)) as thumb:
        assert thumb.size == (200, 100)  # never upscaled


def test_png_and_webp_are_accepted_and_stored_as_jpeg() -> None:
    for fmt in ("PNG", "WEBP"):
        out = io.BytesIO()
        Image.new("RGBA", (30, 30), (10, 200, 10, 128)).save(out, fmt)
        photo = photo_ingest(out.getvalue())
        assert photo.jpeg.startswith(b"\xff\xd8")
        assert (photo.width, photo.height) == (30, 30)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"this is a text file, not a photo\n" * 20, "不是有效的图片文件"),
        (b"", "照片文件为空"),
        (jpeg()[:200], "不是有效的图片文件"),  # truncated upload
    ],
    ids=["text", "empty", "truncated"],
)
def test_non_images_are_refused_with_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(PhotoError, match=message):
        photo_ingest(data)


def test_other_image_formats_are_refused() -> None:
    out = io.BytesIO()
    Image.new("RGB", (10, 10), "red").save(out, "GIF")
    with pytest.raises(PhotoError, match="只接受 JPEG、PNG 或 WebP"):
        photo_ingest(out.getvalue())


def test_oversized_pixel_dimensions_are_refused() -> None:
    # 1-bit PNGs compress to almost nothing, so only the pixel count can stop them.
    out = io.BytesIO()
    Image.new("1", (8000, 5001)).save(out, "PNG")  # 40,008,000 pixels > 40 M
    assert len(out.getvalue()) < 1_000_000
    with pytest.raises(PhotoError, match="照片像素过大"):
        photo_ingest(out.getvalue())


def test_decompression_bombs_are_refused_as_too_many_pixels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Past twice Pillow's bomb limit it refuses to open the file at all; the user still
    # deserves the "too many pixels" message, not "not an image". The limit is lowered so
    # the test needn't build a 180-megapixel file.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    out = io.BytesIO()
    Image.new("1", (2001, 1000)).save(out, "PNG")
    with pytest.raises(PhotoError, match="照片像素过大"):
        photo_ingest(out.getvalue())


def test_oversized_files_are_refused() -> None:
    with pytest.raises(PhotoError, match="15 MB"):
        photo_ingest(b"\xff\xd8" + b"\0" * (15 * 1024 * 1024))


# ---- through intake: stored files and the photo's GPS ----------------------------------


@pytest.fixture
def media(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


demo = module_demo()


@pytest.fixture
def grid_worker(demo: None) -> User:
    return User.objects.get(username="jianwai_grid1")


def test_report_without_a_point_uses_the_photos_gps_and_stores_no_exif(
    grid_worker: User, media: Path
) -> None:
    lng, lat = grid_point()
    result = case_intake(
        user=grid_worker,
        data=IntakeInput(
            category="0601",
            description="楼门口堆放袋装垃圾",
            source="grid_worker",
            photos=[SimpleUploadedFile("IMG_0001.jpg", jpeg((800, 600), gps=(lng, lat)))],
        ),
    )
    case = Case.objects.select_related("grid").get(id=result.case.id)
    assert case.location is not None
    assert case.location.x == pytest.approx(lng, abs=1e-6)
    assert case.location.y == pytest.approx(lat, abs=1e-6)
    assert case.grid is not None and case.grid.code == GRID1

    attachment = Attachment.objects.get(case=case)
    assert attachment.kind == Attachment.Kind.BEFORE
    assert attachment.event is not None and attachment.event.action == "report"
    assert (attachment.width, attachment.height) == (800, 600)
    stored = Path(attachment.image.path)
    assert stored.is_relative_to(media)
    assert stored.name == f"{attachment.sha256[:16]}.jpg"
    assert_no_exif(stored.read_bytes())
    thumb = Path(attachment.thumbnail.path)
    assert_no_exif(thumb.read_bytes())
    with Image.open(thumb) as image:
        assert max(image.size) <= THUMB_EDGE


def test_photo_without_gps_and_no_point_or_address_is_refused(
    grid_worker: User, media: Path
) -> None:
    with pytest.raises(Exception, match="请在地图上选点或填写地址") as info:
        case_intake(
            user=grid_worker,
            data=IntakeInput(
                category="0601", description="垃圾", source="grid_worker", photos=[jpeg()]
            ),
        )
    assert getattr(info.value, "fields", {}).keys() == {"location"}
    assert not Case.objects.exists()
    assert not list(media.rglob("*.jpg"))


def test_text_file_named_jpg_is_refused_over_the_api(grid_worker: User, media: Path) -> None:
    api = APIClient()
    api.force_authenticate(grid_worker)
    lng, lat = grid_point()
    response = api.post(
        "/api/v1/cases/",
        {
            "category": "0601",
            "description": "垃圾",
            "source": "grid_worker",
            "lng": lng,
            "lat": lat,
            "photos": [
                SimpleUploadedFile("photo.jpg", b"not a photo at all\n", content_type="image/jpeg")
            ],
        },
        format="multipart",
    )
    # A file, as the schema asks, but no photo: the rules refuse it (422), naming the field.
    assert response.status_code == 422
    body = response.json()
    assert set(body["fields"]) == {"photos"}
    assert "图片" in str(body["fields"]["photos"])  # "not a valid image file", in Chinese
    assert not Case.objects.exists()
    assert not CaseNumberCounter.objects.exists()
    assert not list(media.rglob("*.jpg"))


def test_oversized_photo_over_the_api_names_the_field(grid_worker: User, media: Path) -> None:
    api = APIClient()
    api.force_authenticate(grid_worker)
    lng, lat = grid_point()
    out = io.BytesIO()
    Image.new("1", (8000, 5001)).save(out, "PNG")
    response = api.post(
        "/api/v1/cases/",
        {
            "category": "0601",
            "description": "垃圾",
            "source": "grid_worker",
            "lng": lng,
            "lat": lat,
            "photos": [SimpleUploadedFile("big.png", out.getvalue(), content_type="image/png")],
        },
        format="multipart",
    )
    assert response.status_code == 422
    assert "照片像素过大" in str(response.json()["fields"]["photos"])
    assert not Case.objects.exists()
