"""Serializers for the case API: thin shapes over the services' inputs and the models."""

import copy

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from cases.models import Attachment, Case, CaseEvent, Source, Urgency
from dispatch.workflow import BY_ACTION
from grids.crs import CRS


class IntakeSerializer(serializers.Serializer):
    """What a report carries. Every report instantiates it, so its fields are copied
    lightly (see get_fields)."""

    category = serializers.CharField(help_text=_("小类编码,如 0101"))
    description = serializers.CharField(max_length=4000)
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
    photos = serializers.ListField(
        child=serializers.ImageField(), required=False, default=list, max_length=9
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        # DRF deep-copies every declared field for each instance, running each field's
        # __init__ again: a tenth of an intake's CPU. bind() only sets attributes on the
        # copy, so a shallow copy is as good for plain fields; a field with a child field
        # (the photo list) is deep-copied as DRF does, so the child is never shared.
        return {
            name: copy.deepcopy(f) if isinstance(f, serializers.ListField) else copy.copy(f)
            for name, f in self._declared_fields.items()
        }

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        if ("lng" in attrs) != ("lat" in attrs):
            raise serializers.ValidationError(
                {"lat": [_("经纬度需同时提供 / give both lng and lat")]}
            )
        return attrs


class ActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=sorted(BY_ACTION))
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    photos = serializers.ListField(
        child=serializers.ImageField(), required=False, default=list, max_length=9
    )
    department = serializers.IntegerField(required=False, allow_null=True, default=None)
    deadline = serializers.DateTimeField(required=False, allow_null=True, default=None)
    target_case = serializers.CharField(required=False, allow_blank=True, default="")
    satisfaction = serializers.CharField(required=False, allow_blank=True, default="")
    result = serializers.CharField(required=False, allow_blank=True, default="")
    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("客户端看到的案件版本;不一致时返回 409"),
    )


class RefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class CaseListSerializer(serializers.ModelSerializer):
    category_name = serializers.CharField(source="category.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    street_name = serializers.CharField(source="street.name", read_only=True, default=None)
    lng = serializers.SerializerMethodField()
    lat = serializers.SerializerMethodField()

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

    def get_lng(self, obj: Case) -> float | None:
        return obj.location.x if obj.location else None

    def get_lat(self, obj: Case) -> float | None:
        return obj.location.y if obj.location else None


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "kind", "image", "thumbnail", "width", "height", "created_at"]


class CaseDetailSerializer(CaseListSerializer):
    category_code = serializers.CharField(source="category.code", read_only=True)
    grid = RefSerializer(read_only=True, allow_null=True)
    community = RefSerializer(read_only=True, allow_null=True)
    street = RefSerializer(read_only=True, allow_null=True)
    merged_into = serializers.CharField(source="merged_into.number", read_only=True, default=None)
    attachments = AttachmentSerializer(many=True, read_only=True)
    citizen_phone = serializers.CharField(source="citizen_phone_masked", read_only=True)

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
    actor = serializers.CharField(source="actor.get_full_name", read_only=True, default=None)
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


class DuplicateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField()
    address = serializers.CharField()


class IntakeResponseSerializer(serializers.Serializer):
    """Documents the intake answer (dispatch.api.views.intake_body builds it)."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField()
    status_display = serializers.CharField()
    light = serializers.CharField()
    urgency = serializers.CharField()
    category = serializers.IntegerField()
    category_code = serializers.CharField()
    category_name = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    address = serializers.CharField()
    lng = serializers.FloatField(allow_null=True)
    lat = serializers.FloatField(allow_null=True)
    grid = RefSerializer(allow_null=True)
    community = RefSerializer(allow_null=True)
    street = RefSerializer(allow_null=True)
    outside_jurisdiction = serializers.BooleanField()
    handling_level = serializers.CharField()
    verification_required = serializers.BooleanField()
    citizen_name = serializers.CharField()
    citizen_phone = serializers.CharField(help_text=_("脱敏显示"))
    deadline = serializers.DateTimeField(allow_null=True)
    warning_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    version = serializers.IntegerField()
    duplicates = DuplicateSerializer(many=True, help_text=_("疑似重复的在办案件"))
    attachments = AttachmentSerializer(many=True)
