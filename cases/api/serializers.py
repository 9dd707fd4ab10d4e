"""The category catalogue as clients read it."""

from rest_framework import serializers

from cases.models import Category


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.CharField(  # type: ignore[assignment]  # a field, not Field.parent
        source="parent.code", read_only=True, default=None, allow_null=True, help_text="大类编码"
    )
    leaf = serializers.BooleanField(
        source="is_leaf", read_only=True, help_text="小类:上报时填写的 category"
    )
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Category
        fields = ["code", "name", "name_en", "parent", "leaf", "kind", "kind_display", "examples"]
