"""Words the case pages share: labels of statuses, events and roles, and a service's or a
form's messages by field. The command centre and the field pages both use these."""

from typing import Any

from django.utils.translation import gettext_lazy as _

from cases.models import Status
from core.roles import Role
from dispatch.errors import ActionError, Invalid
from dispatch.workflow import BY_ACTION, VerifyResult

# Events that are not transitions of the table: intake, the far side of a merge, the clock.
EXTRA_EVENT_LABELS = {
    "report": _("上报"),
    "merged_from": _("合并来源"),
    "sla_yellow": _("黄灯预警"),
    "sla_red": _("红灯超期"),
    "auto_supervise": _("超期自动督办"),
}
VERIFY_RESULT_LABELS = dict(VerifyResult.choices)


def status_label(value: str) -> str:
    try:
        return str(Status(value).label)
    except ValueError:
        return value


def event_label(action: str) -> str:
    t = BY_ACTION.get(action)
    return str(t.label) if t else str(EXTRA_EVENT_LABELS.get(action, action))


def role_label(value: str) -> str:
    try:
        return str(Role(value).label) if value else ""
    except ValueError:
        return value


def page_status(exc: ActionError) -> int:
    """The status of a page that shows a service's refusal: a form the rules refused is
    shown again with its messages (400, as for a form's own errors); the rest keep theirs."""
    return 400 if isinstance(exc, Invalid) else exc.status


def form_errors(errors: Any) -> dict[str, list[str]]:
    """A Django form's errors as plain strings by field name."""
    return {name: [str(m) for m in msgs] for name, msgs in errors.items()}


def service_errors(exc: ActionError) -> dict[str, list[str]]:
    """Per-field messages of a service error; the general message under "__all__"."""
    errors = form_errors(exc.fields)
    return errors or {"__all__": [exc.message]}
