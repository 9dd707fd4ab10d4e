"""case_intake: the first transition. A report becomes a numbered case in its grid.

Idempotent per reporter and Idempotency-Key: the same key returns the same case, even
when two copies of the request race (the unique key decides, the loser reads the winner).
"""

import hashlib
import json
from dataclasses import dataclass, field
from dataclasses import fields as dc_fields
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import events
from cases.models import Attachment, Case, Category, Source, Status, Urgency
from cases.services.photos import Photo, PhotoError, photo_ingest
from cases.services.records import attachment_add, case_next_number
from core import crypto
from dispatch import reference
from dispatch.actors import Actor, actor_for
from dispatch.errors import Forbidden, IdempotencyKeyReused, Invalid
from dispatch.services import notify, sla
from dispatch.workflow import (
    BY_ACTION,
    INTAKE_CHANNELS,
    OUTSIDE_ROLES,
    VERIFY_SOURCES,
    intake_channels,
)
from grids import selectors as grid_selectors
from grids.crs import CRS, to_wgs84


@dataclass
class IntakeInput:
    category: str
    description: str
    source: str
    urgency: str = Urgency.NORMAL
    lng: float | None = None
    lat: float | None = None
    crs: str = CRS.WGS84
    address: str = ""
    citizen_name: str = ""
    citizen_phone: str = ""
    photos: list[UploadedFile | bytes] = field(default_factory=list)
    register_outside: bool = False
    idempotency_key: str = ""

    def fingerprint(self) -> str:
        """A digest of what was asked, to tell a retry from another request under the
        same Idempotency-Key. Photos count by their bytes."""
        skip = ("photos", "idempotency_key")
        fields = {f.name: getattr(self, f.name) for f in dc_fields(self) if f.name not in skip}
        digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode())
        for photo in self.photos:
            if isinstance(photo, bytes):
                digest.update(hashlib.sha256(photo).digest())
            else:
                part = hashlib.sha256()
                for chunk in photo.chunks():
                    part.update(chunk)
                photo.seek(0)
                digest.update(part.digest())
        return digest.hexdigest()


@dataclass(frozen=True)
class IntakeResult:
    case: Case
    created: bool


def _field_error(name: str, message: str) -> Invalid:
    return Invalid(message, fields={name: [message]})


def _validate(data: IntakeInput, roles: frozenset[str]) -> Category:
    allowed = intake_channels(roles)
    if not allowed:
        raise Forbidden(_("您的角色不能登记案件"))
    if data.source not in allowed:
        raise Forbidden(
            _("您的角色不能登记来源为“%(source)s”的案件")
            % {"source": Source(data.source).label if data.source in Source.values else data.source}
        )
    if data.urgency not in Urgency.values:
        raise _field_error("urgency", _("紧急程度无效"))
    if not data.description.strip():
        raise _field_error("description", _("请描述问题"))
    if len(data.description) > 4000:
        raise _field_error("description", _("描述不能超过 4000 字"))
    category = reference.active_leaf(data.category)
    if category is None:
        raise _field_error("category", _("请选择有效的小类"))
    if data.citizen_phone:
        digits = data.citizen_phone.replace(" ", "").replace("-", "")
        if not (digits.isdigit() and 7 <= len(digits) <= 13):
            raise _field_error("citizen_phone", _("电话号码格式不正确"))
    if (
        data.source in VERIFY_SOURCES
        and data.source != Source.OPEN311
        and not (data.citizen_name or data.citizen_phone)
    ):
        raise _field_error("citizen_phone", _("热线和网站来源需登记市民联系方式"))
    return category


def _point(data: IntakeInput, photos: list[Photo]) -> tuple[float, float] | None:
    if (data.lng is None) != (data.lat is None):
        raise _field_error("lat" if data.lat is None else "lng", _("经纬度需同时提供"))
    if data.lng is not None and data.lat is not None:
        if not (-180 <= data.lng <= 180 and -90 <= data.lat <= 90):
            raise _field_error("lng", _("坐标超出范围"))
        return to_wgs84(data.lng, data.lat, data.crs)
    for photo in photos:
        if photo.gps is not None:
            return photo.gps  # phones record WGS 84
    return None


def _case_with_key(key: str) -> Case | None:
    """The case already registered under this key. Asked of every report and almost always
    answered "none", so the question is a bare indexed lookup; the case loads only if found."""
    found = Case.objects.filter(idempotency_key=key).values_list("id", flat=True).first()
    return Case.objects.get(pk=found) if found is not None else None


def case_intake(*, user: User, data: IntakeInput, actor: Actor | None = None) -> IntakeResult:
    """Register a report; `actor` may be passed when the caller has already loaded it."""
    actor = actor if actor is not None and actor.user.pk == user.pk else actor_for(user)
    key = f"u{user.id}:{data.idempotency_key}" if data.idempotency_key else None
    fingerprint = data.fingerprint() if key else ""
    if key and (existing := _case_with_key(key)):
        return _replay(existing, fingerprint)
    category = _validate(data, actor.roles)
    try:
        photos = [photo_ingest(p) for p in data.photos]
    except PhotoError as exc:
        raise _field_error("photos", str(exc)) from exc
    point = _point(data, photos)
    if point is None and not data.address.strip():
        raise _field_error("location", _("请在地图上选点或填写地址"))
    location = grid_selectors.locate(lng=point[0], lat=point[1]) if point else None
    outside = location is None
    if outside and not (data.register_outside and actor.roles & OUTSIDE_ROLES):
        if point is None:
            raise _field_error("location", _("无法定位该地址,请在地图上选点"))
        district = grid_selectors.district_at(lng=point[0], lat=point[1])
        where = district.name if district else _("北京市以外")
        raise _field_error(
            "location",
            _("该位置不在朝阳区(位于%(where)s),不能受理;受理员可登记为“非本辖区”以便转办")
            % {"where": where},
        )
    # The number is taken before the transaction opens, so the counter row is locked for
    # one statement, not for the whole intake: concurrent intakes don't queue behind each
    # other. A failed intake leaves a gap in the day's numbers, which is harmless.
    now = timezone.now()
    number = case_next_number(
        district_code=settings.HOME_DISTRICT_CODE, day=timezone.localdate(now)
    )
    try:
        with transaction.atomic():
            case = _create(
                user,
                data,
                category,
                point,
                location,
                photos,
                (key, fingerprint),
                actor.roles,
                number,
                now,
            )
    except IntegrityError:
        if key and (existing := _case_with_key(key)):
            return _replay(existing, fingerprint)  # a concurrent copy of this request won
        raise
    return IntakeResult(case, True)


def _replay(case: Case, fingerprint: str) -> IntakeResult:
    """The case already registered under the key, if this is the same request again."""
    if case.idempotency_fingerprint and case.idempotency_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            _("该幂等键已用于另一份不同的上报;请为新的上报使用新的键"),
            case_number=case.number,
        )
    return IntakeResult(case, False)


def _create(
    user: User,
    data: IntakeInput,
    category: Category,
    point: tuple[float, float] | None,
    location: grid_selectors.Location | None,
    photos: list[Photo],
    idempotency: tuple[str | None, str],
    roles: frozenset[str],
    number: str,
    now: datetime,
) -> Case:
    verify = data.source in VERIFY_SOURCES and location is not None
    key, fingerprint = idempotency
    case = Case(
        number=number,
        category=category,
        urgency=data.urgency,
        description=data.description.strip(),
        location=Point(*point, srid=4326) if point else None,
        address=data.address.strip(),
        grid=location.grid if location else None,
        community=location.community if location else None,
        street=location.street if location else None,
        outside_jurisdiction=location is None,
        handling_level="street" if location else "district",
        source=data.source,
        reporter=user,
        citizen_name=data.citizen_name.strip(),
        status=Status.VERIFYING if verify else Status.REPORTED,
        verification_required=verify,
        idempotency_key=key,
        idempotency_fingerprint=fingerprint,
        sla_policy=sla.policy_snapshot(category_id=category.id, urgency=data.urgency),
    )
    if data.citizen_phone:
        phone = data.citizen_phone.replace(" ", "").replace("-", "")
        case.citizen_phone_enc = crypto.encrypt(phone, purpose="case.citizen_phone")
        case.citizen_phone_index = crypto.blind_index(phone, purpose="phone")
        case.citizen_phone_masked = crypto.mask_phone(phone)
    sla.start_stage(case, now)
    case.save(force_insert=True)
    # The role it was reported in: the first, in the intake rule's order, that may use the
    # channel.
    role = next((r for r, ch in INTAKE_CHANNELS.items() if r in roles and data.source in ch), "")
    step = events.Step(
        case_id=case.id, actor=user, role=role, to_status=case.status, deadline=case.deadline
    )
    event = events.reported(step, source=data.source)
    event.save()
    for photo in photos:
        attachment_add(case=case, photo=photo, kind=Attachment.Kind.BEFORE, event=event, user=user)
    if verify:
        # A public report goes to its grid's workers as a request to verify would.
        users = notify.recipients(BY_ACTION["request_verify"].notify, case, None)
        notify.notify_users(
            case=case, user_ids=users, kind="request_verify", message=f"案件 {case.number} 待核实"
        )
    return case
