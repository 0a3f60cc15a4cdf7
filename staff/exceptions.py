"""Domain errors. ``DomainError`` is the one base for every app.

``code`` is a stable machine code (it appears in API responses and tests); ``message`` is
translated for the person who caused the error.
"""

from django.utils.functional import Promise


class DomainError(Exception):
    """A refusal by a business rule: bad input, a broken guard, a lost race."""

    status_code = 400

    def __init__(self, code: str, message: str | Promise) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class InvalidPhoneError(DomainError):
    def __init__(self, message: str | Promise) -> None:
        super().__init__("bad_phone", message)


class StaffImportError(DomainError):
    """The import file as a whole cannot be read (encoding, format, size, headers)."""


class ImportAlreadyHandledError(DomainError):
    status_code = 409

    def __init__(self, message: str | Promise) -> None:
        super().__init__("already_imported", message)
