"""Errors a workflow action can end with, each mapped to one HTTP status by the API."""

from typing import Any


class ActionError(Exception):
    status = 400

    def __init__(
        self, message: str, *, fields: dict[str, list[str]] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.extra = extra


class Invalid(ActionError):
    """Bad or missing input: 400 with field messages."""


class Forbidden(ActionError):
    """Wrong role or outside the actor's jurisdiction: 403."""

    status = 403


class Conflict(ActionError):
    """The case changed under the actor (another person acted first): 409."""

    status = 409


class NotFound(ActionError):
    status = 404
