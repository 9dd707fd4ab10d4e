"""Case numbers and stored photos: pieces every report and transition writes (events are
cases/events.py's)."""

from datetime import date

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import connection

from cases.models import Attachment, Case, CaseEvent
from cases.services.photos import Photo


def case_next_number(*, district_code: str, day: date) -> str:
    """district code + date + daily sequence, e.g. 110105-20261129-00042.

    One UPSERT advances the day's counter atomically, so concurrent intakes never share a
    number and no lock is held beyond the statement.
    """
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO cases_casenumbercounter (day, last) VALUES (%s, 1) "
            "ON CONFLICT (day) DO UPDATE SET last = cases_casenumbercounter.last + 1 "
            "RETURNING last",
            [day],
        )
        (seq,) = cur.fetchone()
    return f"{district_code}-{day:%Y%m%d}-{seq:05d}"


def attachment_add(
    *, case: Case, photo: Photo, kind: str, event: CaseEvent | None, user: User | None
) -> Attachment:
    attachment = Attachment(
        case=case,
        event=event,
        kind=kind,
        width=photo.width,
        height=photo.height,
        sha256=photo.sha256,
        uploaded_by=user,
    )
    attachment.image.save(f"{photo.sha256[:16]}.jpg", ContentFile(photo.jpeg), save=False)
    attachment.thumbnail.save(
        f"{photo.sha256[:16]}.thumb.jpg", ContentFile(photo.thumbnail), save=False
    )
    attachment.save()
    return attachment
