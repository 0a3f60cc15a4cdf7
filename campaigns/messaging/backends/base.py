"""The SMS backend interface and its errors.

A backend sends one message and says how it went by returning (sent) or raising one of
the three errors below; the sender turns that into the outbox row's next state.
"""

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string


class SmsSendError(Exception):
    """Base of the send outcomes other than success."""


class SmsTemporaryError(SmsSendError):
    """Not sent, worth retrying later: gateway 5xx or 429, connection refused, flow control."""


class SmsPermanentError(SmsSendError):
    """Not sent, and retrying will not help: a refused number, an unknown template."""


class SmsUnknownOutcomeError(SmsSendError):
    """The request reached the gateway but no answer came back: it may have been sent.
    Never retried blindly (sending is not idempotent at most gateways)."""


@dataclass(frozen=True)
class SmsMessage:
    """One message to send. ``id`` is our outbox id: backends pass it to the gateway
    (Aliyun ``OutId``) so delivery reports and retries can be matched to it."""

    id: int
    to_e164: str
    template: str
    params: dict[str, Any] = field(default_factory=dict)
    language: str = "zh-hans"
    body: str = ""


class BaseSmsBackend:
    """Subclasses implement ``send``. ``keeps_body``: the outbox keeps the rendered text
    (only for the outbox backend, where it is the whole point)."""

    keeps_body = False

    def send(self, message: SmsMessage) -> str:
        """Send ``message``; return the gateway's message id ("" if it gives none).

        Raises ``SmsTemporaryError``, ``SmsPermanentError`` or ``SmsUnknownOutcomeError``.
        """
        raise NotImplementedError


def get_backend(path: str | None = None) -> BaseSmsBackend:
    """An instance of the backend at ``path`` (default: ``SMS_BACKEND``, read now)."""
    return import_string(path or settings.SMS_BACKEND)()
