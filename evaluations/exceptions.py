"""Domain errors of the live contest. Each carries a stable ``code`` (see ``DomainError``)."""

from django.utils.functional import Promise

from staff.exceptions import DomainError


class JudgingError(DomainError):
    """A rule of the live contest refused the action; ``code`` says which one."""


class ScoreRefusedError(JudgingError):
    """A judge's score was refused (locked, recused, closed, bad points…)."""

    status_code = 409


class NotAllowedError(JudgingError):
    """The user may not do this (not a judge of the panel, not a host)."""

    status_code = 403

    def __init__(self, message: str | Promise) -> None:
        super().__init__("forbidden", message)


class BadLinkError(JudgingError):
    """A sign-in link that is malformed, revoked or expired (code ``bad_link``)."""

    status_code = 403

    def __init__(self, message: str | Promise) -> None:
        super().__init__("bad_link", message)
