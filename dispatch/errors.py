"""Errors a workflow action can end with. Each carries its HTTP status and the stable code
the API answers with (chaoyang.api.problems turns them into problem details); pages show
their message."""

from typing import Any


class ActionError(Exception):
    status = 422
    code = "validation_failed"

    def __init__(
        self, message: str, *, fields: dict[str, list[str]] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.extra = extra


class Invalid(ActionError):
    """Input the rules refuse (a missing required input, an unknown category, a point
    outside the district, a file that is no photo): 422 with field messages. A request
    that breaks the API schema itself never gets this far: DRF answers it with 400."""

    status = 422
    code = "validation_failed"


class Forbidden(ActionError):
    """Wrong role or outside the actor's jurisdiction: 403."""

    status = 403
    code = "permission_denied"


class Conflict(ActionError):
    """The case changed under the actor (another person acted first): 409. The client
    reloads the case and decides again."""

    status = 409
    code = "version_conflict"


class InvalidState(Conflict):
    """The action is not allowed in the case's current state (or its condition fails):
    422. Retrying will not help until something else changes the case."""

    status = 422
    code = "invalid_state"


class IdempotencyKeyReused(ActionError):
    """An Idempotency-Key sent again with a different request: 422, as the IETF
    idempotency-key draft says; the first request's case is not returned."""

    status = 422
    code = "idempotency_key_reused"


class NotFound(ActionError):
    status = 404
    code = "not_found"
