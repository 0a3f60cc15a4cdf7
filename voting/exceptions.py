"""Domain errors of the voting app. Each carries a stable ``code`` from the API contract:
``stage_closed``, ``channel_not_used``, ``unknown_candidate``, ``limit_reached``, ``bad_code``,
``code_expired``, ``code_locked``, ``staff_cannot_vote``, ``not_on_stage``,
``audience_window_closed``, ``bad_phone``, ``rate_limited`` …

``bad_phone`` is ``staff.exceptions.InvalidPhoneError`` (raised by ``staff.phones``);
``rate_limited`` (429, with ``Retry-After``) comes from the API's courtesy throttles.
"""

from django.utils.functional import Promise

from staff.exceptions import DomainError


class VotingError(DomainError):
    """A voting rule refused the request; ``code`` says which one."""


class StageClosedError(VotingError):
    status_code = 409

    def __init__(self, message: str | Promise) -> None:
        super().__init__("stage_closed", message)


class UnknownStageError(VotingError):
    status_code = 404

    def __init__(self, message: str | Promise) -> None:
        super().__init__("unknown_stage", message)


class UnknownCandidateError(VotingError):
    def __init__(self, message: str | Promise) -> None:
        super().__init__("unknown_candidate", message)


class StaffCannotVoteError(VotingError):
    status_code = 403

    def __init__(self, message: str | Promise) -> None:
        super().__init__("staff_cannot_vote", message)


class ChannelNotUsedError(VotingError):
    """The stage's rules give this vote channel no weight: a vote by it would count for
    nothing, so it is refused (``voting.ledger.rules.check_channel_used``)."""

    status_code = 409

    def __init__(self, message: str | Promise) -> None:
        super().__init__("channel_not_used", message)


class LimitReachedError(VotingError):
    """``limit`` is a ``choices.LimitKind`` value: which limit is used up."""

    status_code = 409

    def __init__(self, message: str | Promise, *, limit: str) -> None:
        super().__init__("limit_reached", message)
        self.limit = limit


class ResendTooSoonError(VotingError):
    """A new code was asked for within a minute of the last one sent to the number:
    ``retry_after`` is how many seconds are left (the API's ``retry_after`` field and
    ``Retry-After`` header)."""

    status_code = 429

    def __init__(self, message: str | Promise, *, retry_after: int) -> None:
        super().__init__("resend_too_soon", message)
        self.retry_after = retry_after


class BadCodeError(VotingError):
    def __init__(self, message: str | Promise) -> None:
        super().__init__("bad_code", message)


class CodeExpiredError(VotingError):
    def __init__(self, message: str | Promise) -> None:
        super().__init__("code_expired", message)


class CodeLockedError(VotingError):
    status_code = 403

    def __init__(self, message: str | Promise) -> None:
        super().__init__("code_locked", message)


class NotOnStageError(VotingError):
    """An audience vote at a live contest for a contestant the host does not have on
    stage (or before anyone is on stage)."""

    status_code = 409

    def __init__(self, message: str | Promise) -> None:
        super().__init__("not_on_stage", message)


class AudienceWindowClosedError(VotingError):
    """An audience vote for the contestant on stage after the host closed their turn."""

    status_code = 409

    def __init__(self, message: str | Promise) -> None:
        super().__init__("audience_window_closed", message)


class UnknownReceiptError(VotingError):
    status_code = 404

    def __init__(self, message: str | Promise) -> None:
        super().__init__("unknown_receipt", message)


class VoterSessionError(VotingError):
    """A voter token is tampered with (``bad_token``) or too old (``session_expired``)."""

    status_code = 401


class IdempotencyConflictError(VotingError):
    """An idempotency key was reused for a different vote."""

    status_code = 409

    def __init__(self, message: str | Promise) -> None:
        super().__init__("idempotency_conflict", message)


class BadInputError(VotingError):
    """The request's shape is wrong (a field of the wrong type, a missing field); ``code``
    names the field's problem (``bad_employee_no``, ``bad_stage`` …)."""


class InvalidationError(VotingError):
    """An invalidation or restore was refused: ``reason_required``, ``reason_too_long``,
    ``phone_in_filter`` or ``stage_frozen`` (``StageFrozenError``)."""


class StageFrozenError(InvalidationError):
    """A vote of a finalised stage cannot be invalidated or restored: its results are
    frozen."""

    status_code = 409

    def __init__(self, message: str | Promise) -> None:
        super().__init__("stage_frozen", message)


class BadSignatureError(VotingError):
    """An inbound SMS webhook is not authenticated: a missing, wrong or stale signature
    (or callback token). Nothing of the request is recorded."""

    status_code = 403

    def __init__(self, message: str | Promise) -> None:
        super().__init__("bad_signature", message)


class BodyTooLargeError(BadInputError):
    """A request body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, refused before it is read."""

    status_code = 413

    def __init__(self, message: str | Promise) -> None:
        super().__init__("body_too_large", message)
