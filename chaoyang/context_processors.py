"""What the navigation offers this user, from their Actor (roles by region, departments),
the same record every permission check reads; loaded once per request."""

from typing import Any

from django.http import HttpRequest

from cases.models import Source
from core.roles import Role
from dispatch.actors import CENTRE_ROLES, request_actor
from dispatch.workflow import intake_channels


def nav(request: HttpRequest) -> dict[str, dict[str, Any]]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    actor = request_actor(request)
    roles = actor.roles
    channels = intake_channels(roles)
    centre = bool(roles & CENTRE_ROLES)
    return {
        "nav": {
            "centre": centre,
            # Intake pages follow the intake rule: who may report through which channel.
            "hotline": Source.HOTLINE in channels,
            "report": Source.GRID_WORKER in channels,
            "tasks": Role.GRID_WORKER in roles,
            "inbox": Role.HANDLER in roles,
            "population": bool(actor.regions) or user.is_superuser,
            # Integration documentation is for the centre's staff, not for field users.
            "api_docs": centre or user.is_superuser,
        }
    }
