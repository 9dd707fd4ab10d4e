"""The errors of the write services."""

from ..validators import ValidationFailure


class Invalid(ValidationFailure):
    """A write refused; `field` names the input at fault (for forms), if one is."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class Duplicate(Invalid):
    """The record exists already (same identity number, credit code or address)."""

    def __init__(self, message: str, field: str, existing_id: int) -> None:
        super().__init__(message, field)
        self.existing_id = existing_id


def field_error(field: str, exc: ValidationFailure) -> Invalid:
    return Invalid(str(exc), field)
