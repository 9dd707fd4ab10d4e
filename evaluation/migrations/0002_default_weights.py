"""Version 1 of the weights: a vendor's published defaults, marked as such, not official."""

from typing import Any

from django.db import migrations


def seed(apps: Any, schema_editor: Any) -> None:
    WeightSet = apps.get_model("evaluation", "WeightSet")
    # Every other field takes the model's default, which is this version's value.
    WeightSet.objects.get_or_create(
        version=1,
        defaults={
            "label": "默认权重(厂商参考值,非官方)",
            "is_default": True,
            "note": "docs/evaluation.md lists these defaults and where they come from.",
        },
    )


def unseed(apps: Any, schema_editor: Any) -> None:
    apps.get_model("evaluation", "WeightSet").objects.filter(version=1, is_default=True).delete()


class Migration(migrations.Migration):
    dependencies = [("evaluation", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
