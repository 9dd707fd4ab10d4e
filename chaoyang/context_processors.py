"""What the navigation offers this user, from their roles (one query per page)."""

from django.http import HttpRequest

from core.roles import Role

CENTRE = {Role.INTAKE_OPERATOR, Role.SHIFT_LEAD, Role.DISPATCHER, Role.LEADER}
HOTLINE = {Role.INTAKE_OPERATOR, Role.SHIFT_LEAD}


def nav(request: HttpRequest) -> dict[str, dict[str, bool]]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    roles = set(user.memberships.values_list("role", flat=True))
    return {
        "nav": {
            "centre": bool(roles & CENTRE),
            "hotline": bool(roles & HOTLINE),
            "tasks": Role.GRID_WORKER in roles,
            "report": Role.GRID_WORKER in roles,
            "inbox": user.department_memberships.exists(),
            "population": bool(roles) or user.is_superuser,
        }
    }
