"""Serializers for the case API: thin shapes over the services' inputs and the models."""

from typing import Any

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.models import Attachment, Case, CaseEvent, Light, Source, Status, Urgency
from core.filters import BIGINT_MAX
from dispatch.models import Department
from dispatch.queues import QUEUE_KEYS
from dispatch.workflow import (
    BY_ACTION,
    FIELD_CHOICES,
    MAX_PHOTOS,
    NOTE_MAX_LENGTH,
    TARGET_CASE_MAX_LENGTH,
    Field,
)
from grids.crs import CRS

# Text that must say something: DRF trims whitespace and then refuses a blank value, so the
# schema says so too (a `pattern`), or a whitespace-only value would be schema-valid and still
# refused with 400 — a client could not tell from the schema what it must send.
HAS_TEXT = RegexValidator(r"\S", _("不能只有空白"))


class IntakeSerializer(serializers.Serializer):
    """What a report carries, as JSON. Photos need a multipart upload (IntakeUploadSerializer)."""

    category = serializers.CharField(
        max_length=20, validators=[HAS_TEXT], help_text=_("小类编码,如 0101")
    )
    description = serializers.CharField(max_length=4000, validators=[HAS_TEXT])
    source = serializers.ChoiceField(choices=Source.choices)  # type: ignore[assignment]  # a field, not Field.source
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.NORMAL)
    lng = serializers.FloatField(required=False, min_value=-180, max_value=180)
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    crs = serializers.ChoiceField(choices=[c.value for c in CRS], default=CRS.WGS84.value)
    address = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    citizen_name = serializers.CharField(
        required=False, allow_blank=True, max_length=50, default=""
    )
    citizen_phone = serializers.CharField(
        required=False, allow_blank=True, max_length=20, default=""
    )
    register_outside = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_("受理员:点位在辖区外时仍登记为“非本辖区”以便转办"),
    )


def _photos_field() -> serializers.ListField:
    # Files, as the schema says; whether each is a photo is the service's check (422).
    return serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        required=False,
        default=list,
        max_length=MAX_PHOTOS,
        help_text=_("照片文件(JPEG/PNG),最多 9 张"),
    )


class IntakeUploadSerializer(IntakeSerializer):
    """A report as a multipart upload, with its photos."""

    photos = _photos_field()


class ActionSerializer(serializers.Serializer):
    """One action as JSON. Actions with photos need a multipart upload (ActionUploadSerializer)."""

    action = serializers.ChoiceField(choices=sorted(BY_ACTION))
    # The same limits and choices as the pages' ActionForm (dispatch/workflow.py).
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH, default=""
    )
    department = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=BIGINT_MAX,
        help_text=_("部门 id"),
    )
    deadline = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text=_("申请的新时限")
    )
    target_case = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=TARGET_CASE_MAX_LENGTH,
        help_text=_("合并到的案件:id 或案件编号"),
    )
    satisfaction = serializers.ChoiceField(
        choices=FIELD_CHOICES[Field.SATISFACTION], required=False, allow_blank=True, default=""
    )
    result = serializers.ChoiceField(
        choices=FIELD_CHOICES[Field.RESULT], required=False, allow_blank=True, default=""
    )
    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("客户端看到的案件版本;不一致时返回 409"),
    )


class ActionUploadSerializer(ActionSerializer):
    """One action as a multipart upload, with its photos. A form has no null: inputs not
    given are left out."""

    department = serializers.IntegerField(
        required=False, default=None, min_value=1, max_value=BIGINT_MAX
    )
    deadline = serializers.DateTimeField(required=False, default=None)
    version = serializers.IntegerField(required=False, default=None)
    photos = _photos_field()


class RefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


@extend_schema_field(RefSerializer(allow_null=True))
class RefField(serializers.Field):
    """A region as {code, name}, or null: a plain field, as light to build as any other
    (a nested serializer is copied whole for every instance of its parent)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: Any) -> dict[str, str]:
        return {"code": value.code, "name": value.name}  # DRF answers null for None


class CaseListSerializer(serializers.ModelSerializer):
    category_name = serializers.CharField(source="category.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    street_name = serializers.CharField(
        source="street.name", read_only=True, default=None, allow_null=True
    )
    # A case registered by address only has no point.
    lng = serializers.FloatField(
        source="location.x",
        read_only=True,
        default=None,
        allow_null=True,
        help_text=_("WGS 84 经度"),
    )
    lat = serializers.FloatField(
        source="location.y",
        read_only=True,
        default=None,
        allow_null=True,
        help_text=_("WGS 84 纬度"),
    )

    class Meta:
        model = Case
        fields = [
            "id",
            "number",
            "category",
            "category_name",
            "urgency",
            "status",
            "status_display",
            "light",
            "supervised",
            "handling_level",
            "source",
            "address",
            "street_name",
            "lng",
            "lat",
            "deadline",
            "created_at",
            "updated_at",
            "version",
        ]


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "kind", "image", "thumbnail", "width", "height", "created_at"]


class CaseDetailSerializer(CaseListSerializer):
    category_code = serializers.CharField(source="category.code", read_only=True)
    grid = RefSerializer(read_only=True, allow_null=True)
    community = RefSerializer(read_only=True, allow_null=True)
    street = RefSerializer(read_only=True, allow_null=True)
    merged_into = serializers.CharField(
        source="merged_into.number", read_only=True, default=None, allow_null=True
    )
    attachments = AttachmentSerializer(many=True, read_only=True)
    citizen_phone = serializers.CharField(
        source="citizen_phone_masked", read_only=True, help_text=_("脱敏显示")
    )

    class Meta(CaseListSerializer.Meta):
        fields = [
            *CaseListSerializer.Meta.fields,
            "category_code",
            "description",
            "grid",
            "community",
            "street",
            "outside_jurisdiction",
            "citizen_name",
            "citizen_phone",
            "warning_at",
            "stage_started_at",
            "merged_into",
            "rework_count",
            "return_count",
            "extension_count",
            "satisfaction",
            "opened_at",
            "closed_at",
            "verification_required",
            "attachments",
        ]


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor.get_full_name", read_only=True, default=None, allow_null=True
    )
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = CaseEvent
        fields = [
            "id",
            "action",
            "from_status",
            "to_status",
            "actor",
            "actor_role",
            "unit",
            "at",
            "note",
            "data",
            "attachments",
        ]


class ChoiceSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]


class DepartmentChoiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    default = serializers.BooleanField(help_text=_("按派遣规则推荐的部门"))


class ActionInputSerializer(serializers.Serializer):
    name = serializers.CharField()
    required = serializers.BooleanField()  # type: ignore[assignment]
    type = serializers.ChoiceField(
        choices=["string", "integer", "date-time", "files"],
        help_text=_("files:以 multipart 上传的照片"),
    )
    choices = ChoiceSerializer(
        many=True, allow_null=True, help_text=_("允许的取值;不限定时为 null")
    )


class AvailableActionSerializer(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    requires = serializers.ListField(
        child=serializers.CharField(), source="required", help_text=_("必填输入")
    )
    accepts = serializers.ListField(
        child=serializers.CharField(), source="optional", help_text=_("可选输入")
    )
    target_status = serializers.CharField(allow_null=True)
    inputs = ActionInputSerializer(many=True, help_text=_("每个输入的类型与允许的取值"))
    departments = DepartmentChoiceSerializer(
        many=True,
        required=False,
        help_text=_("仅派遣:可派遣的部门(department 输入的取值)"),
    )


class DepartmentSerializer(serializers.ModelSerializer):
    region = RefSerializer(read_only=True, help_text=_("所属辖区:区或街道"))
    level_display = serializers.CharField(source="get_level_display", read_only=True)

    class Meta:
        model = Department
        fields = ["id", "code", "name", "level", "level_display", "kind", "region"]


class DuplicateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField()
    address = serializers.CharField()


class IntakeResponseSerializer(serializers.Serializer):
    """The intake answer: the case as registered, the photos as stored (a client checks its
    upload landed), and possible duplicates. GET /api/v1/cases/{id}/ gives the rest.

    Fields are declared, not read from the model: every report builds this serializer, and
    a ModelSerializer introspects the model's fields again for each instance."""

    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    category = serializers.IntegerField(source="category_id", read_only=True)
    category_code = serializers.CharField(source="category.code", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    urgency = serializers.ChoiceField(choices=Urgency.choices, read_only=True)
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    light = serializers.ChoiceField(choices=Light.choices, read_only=True)
    supervised = serializers.BooleanField(read_only=True)
    handling_level = serializers.CharField(read_only=True)
    source = serializers.ChoiceField(choices=Source.choices, read_only=True)  # type: ignore[assignment]
    address = serializers.CharField(read_only=True)
    lng = serializers.FloatField(
        source="location.x", read_only=True, default=None, allow_null=True, help_text=_("经度")
    )
    lat = serializers.FloatField(
        source="location.y", read_only=True, default=None, allow_null=True, help_text=_("纬度")
    )
    grid = RefField(allow_null=True)
    community = RefField(allow_null=True)
    street = RefField(allow_null=True)
    outside_jurisdiction = serializers.BooleanField(read_only=True)
    verification_required = serializers.BooleanField(read_only=True)
    citizen_name = serializers.CharField(read_only=True)
    citizen_phone = serializers.CharField(
        source="citizen_phone_masked", read_only=True, help_text=_("脱敏显示")
    )
    deadline = serializers.DateTimeField(read_only=True, allow_null=True)
    warning_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    version = serializers.IntegerField(read_only=True)
    duplicates = serializers.SerializerMethodField(help_text=_("疑似重复的在办案件"))
    attachments = serializers.SerializerMethodField()

    @extend_schema_field(DuplicateSerializer(many=True))
    def get_duplicates(self, obj: Case) -> list[dict[str, object]]:
        rows = self.context.get("duplicates", [])
        return DuplicateSerializer(rows, many=True).data  # type: ignore[return-value]

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_attachments(self, obj: Case) -> list[dict[str, object]]:
        rows = self.context.get("attachments", [])
        if not rows:
            return []
        return AttachmentSerializer(rows, many=True, context=self.context).data  # type: ignore[return-value]


class CentreSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=["street", "district"])
    code = serializers.CharField()
    name = serializers.CharField()


class QueueCountSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=QUEUE_KEYS)
    label = serializers.CharField()  # type: ignore[assignment]
    count = serializers.IntegerField()


class QueueCountsSerializer(serializers.Serializer):
    """The user's command centre and its queues, each with its live cases (the list's
    `queue` filter shows the same cases). Users without a centre role get no queues."""

    centre = CentreSerializer(allow_null=True)
    total = serializers.IntegerField(help_text=_("可见的在办案件数"))
    queues = QueueCountSerializer(many=True)


class ChangesSerializer(serializers.Serializer):
    now = serializers.DateTimeField(help_text=_("下次轮询时作为 since 传回"))
    cases = CaseListSerializer(many=True, help_text=_("此后有变化的案件,最多 500 件"))
