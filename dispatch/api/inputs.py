"""What a client needs to fill in an available action: each input's type and allowed values.

Read from the transition table (which inputs an action takes) and FIELD_CHOICES (which
values a choice input allows); a dispatch also lists the departments it may go to.
"""

from typing import Any

from cases.models import Case
from dispatch import selectors
from dispatch.selectors import ActionSpec
from dispatch.workflow import FIELD_CHOICES, Field

INPUT_TYPES: dict[Field, str] = {
    Field.NOTE: "string",
    Field.PHOTOS: "files",
    Field.DEPARTMENT: "integer",
    Field.DEADLINE: "date-time",
    Field.TARGET_CASE: "string",
    Field.SATISFACTION: "string",
    Field.RESULT: "string",
}


def _departments(case: Case) -> list[dict[str, Any]]:
    default = selectors.default_department(case)
    return [
        {"id": d.id, "name": d.name, "default": default is not None and d.id == default.id}
        for d in selectors.dispatch_targets(case)
    ]


def describe(spec: ActionSpec, case: Case) -> dict[str, Any]:
    """The available-action item: the spec, its inputs with their values, departments."""
    item: dict[str, Any] = {
        "action": spec.action,
        "label": spec.label,
        "required": spec.required,
        "optional": spec.optional,
        "target_status": spec.target_status,
        "inputs": [],
    }
    departments = None
    for name in [*spec.required, *spec.optional]:
        field = Field(name)
        choices: list[dict[str, str]] | None = None
        if field in FIELD_CHOICES:
            choices = [{"value": v, "label": str(label)} for v, label in FIELD_CHOICES[field]]
        elif field is Field.DEPARTMENT:
            departments = _departments(case)
            choices = [{"value": str(d["id"]), "label": d["name"]} for d in departments]
        item["inputs"].append(
            {
                "name": name,
                "required": name in spec.required,
                "type": INPUT_TYPES[field],
                "choices": choices,
            }
        )
    if departments is not None:
        item["departments"] = departments
    return item
