"""Errors of SMS messaging. Each carries a stable ``code`` (see ``staff.exceptions``)."""

from django.utils.functional import Promise

from staff.exceptions import DomainError


class MessagingError(DomainError):
    """An SMS rule refused the request; ``code`` says which one."""


class WebhookInputError(MessagingError):
    """An inbound webhook's envelope is malformed: ``parse_error``, ``bad_request``,
    ``bad_messages``, ``batch_too_large``."""


class BadSignatureError(MessagingError):
    """An inbound SMS webhook is not authenticated: a missing, wrong or stale signature
    (or callback token). Nothing of the request is recorded."""

    status_code = 403

    def __init__(self, message: str | Promise) -> None:
        super().__init__("bad_signature", message)


class BodyTooLargeError(WebhookInputError):
    """A request body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, refused before it is read."""

    status_code = 413

    def __init__(self, message: str | Promise) -> None:
        super().__init__("body_too_large", message)


class InvalidSmsTransitionError(MessagingError):
    """An outbound SMS cannot move from its status to the requested one
    (``SMS_TRANSITIONS``); a programming error of a sender or a backend."""

    status_code = 409

    def __init__(self, message: str | Promise) -> None:
        super().__init__("invalid_transition", message)
