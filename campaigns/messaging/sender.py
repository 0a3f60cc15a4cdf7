"""The SMS sender: send what is due in the outbox, one claimed batch at a time.

``send_pending_sms`` (run by the task ``campaigns.send_pending_sms``, woken on commit and
swept by beat) claims due rows with ``SELECT … FOR UPDATE SKIP LOCKED``, marks them
``sending`` and commits, sends each through the backend named by ``SMS_BACKEND`` (read at
call time, like Django's ``EMAIL_BACKEND``), then records the outcome. Every status change
goes through ``services.transition_sms`` (the table is ``choices.SMS_TRANSITIONS``):

* sent → ``sent``; the destination number is cleared (only the masked form stays) and a
  code parameter is scrubbed;
* temporary failure (5xx, flow control) → ``pending`` again with exponential backoff,
  up to ``SMS_MAX_ATTEMPTS`` attempts, then ``failed``;
* permanent failure (a refused number or template) → ``failed``;
* no answer after the request went out (a timeout) → ``unknown``: it is never re-sent
  blindly, since the gateway may have sent it; delivery reports carry our message id
  (Aliyun's ``OutId``) for reconciliation. A row left ``sending`` by a dead worker becomes
  ``unknown`` the same way.

A message of a template registered with ``ttl_seconds`` (the one-time code) that could
not be sent in time is ``failed`` rather than delivered dead.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F

from campaigns.clock import db_now
from campaigns.messaging.backends.base import (
    BaseSmsBackend,
    SmsMessage,
    SmsPermanentError,
    SmsTemporaryError,
    SmsUnknownOutcomeError,
    get_backend,
)
from campaigns.messaging.choices import SmsStatus
from campaigns.messaging.models import OutboundSms
from campaigns.messaging.services import transition_sms
from campaigns.messaging.templates import render_sms, template_ttl

logger = logging.getLogger(__name__)


def _backoff(attempts: int) -> timedelta:
    seconds = settings.SMS_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.SMS_RETRY_MAX_SECONDS))


def _claim(batch_size: int) -> list[OutboundSms]:
    """Claim due pending rows for this worker: ``FOR UPDATE SKIP LOCKED``, mark ``sending``."""
    with transaction.atomic():
        now = db_now()
        rows = list(
            OutboundSms.objects.select_for_update(skip_locked=True)
            .filter(status=SmsStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")[:batch_size]
        )
        transition_sms(rows, SmsStatus.SENDING, attempts=F("attempts") + 1, claimed_at=now)
    for row in rows:
        row.attempts += 1
    return rows


def _reap_stale() -> int:
    """Rows left ``sending`` by a dead worker become ``unknown`` (never re-sent blindly)."""
    with transaction.atomic():
        cutoff = db_now() - timedelta(seconds=settings.SMS_CLAIM_TIMEOUT)
        stale = list(
            OutboundSms.objects.select_for_update(skip_locked=True).filter(
                status=SmsStatus.SENDING, claimed_at__lt=cutoff
            )
        )
        transition_sms(stale, SmsStatus.UNKNOWN, last_error="worker stopped while sending")
    return len(stale)


def _retry_or_fail(row: OutboundSms, error: str, now: datetime) -> str:
    """A temporary failure: ``pending`` again with backoff, or ``failed`` after the last try."""
    if row.attempts >= settings.SMS_MAX_ATTEMPTS:
        transition_sms(row, SmsStatus.FAILED, last_error=error)
        return SmsStatus.FAILED
    transition_sms(
        row,
        SmsStatus.PENDING,
        last_error=error,
        next_attempt_at=now + _backoff(row.attempts),
        claimed_at=None,
    )
    return SmsStatus.PENDING


def _send_one(backend: BaseSmsBackend, row: OutboundSms) -> str:
    now = db_now()
    ttl = template_ttl(row.template)
    if ttl is not None and row.created_at + timedelta(seconds=ttl) <= now:
        transition_sms(row, SmsStatus.FAILED, last_error="expired before it could be sent")
        return SmsStatus.FAILED
    try:
        body = render_sms(row.template, row.params, row.language)
    except (KeyError, ValueError, TypeError) as exc:
        transition_sms(row, SmsStatus.FAILED, last_error=f"cannot render: {exc!r}"[:500])
        return SmsStatus.FAILED
    message = SmsMessage(
        id=row.pk,
        to_e164=row.to_e164,
        template=row.template,
        params=row.params,
        language=row.language,
        body=body,
    )
    try:
        provider_id = backend.send(message)
    except SmsTemporaryError as exc:
        return _retry_or_fail(row, str(exc)[:500], now)
    except SmsPermanentError as exc:
        transition_sms(row, SmsStatus.FAILED, last_error=str(exc)[:500])
        return SmsStatus.FAILED
    except SmsUnknownOutcomeError as exc:
        transition_sms(row, SmsStatus.UNKNOWN, last_error=str(exc)[:500])
        return SmsStatus.UNKNOWN
    except Exception as exc:  # a backend bug: retried with backoff, bounded like the rest
        logger.exception("SMS backend error on outbox row %s", row.pk)
        return _retry_or_fail(row, f"backend error: {type(exc).__name__}", now)
    transition_sms(
        row,
        SmsStatus.SENT,
        sent_at=now,
        provider_message_id=provider_id[:128],
        body=body if backend.keeps_body else "",
        last_error="",
    )
    return SmsStatus.SENT


def send_pending_sms(*, batch_size: int | None = None) -> dict[str, int]:
    """Send every due outbound SMS, one claimed batch at a time, and record each outcome.

    Writes ``OutboundSms`` status fields (module docstring for the states). Locks: claims
    rows with ``FOR UPDATE SKIP LOCKED`` in a short transaction, so overlapping workers and
    beat sweeps never send the same row twice; no lock is held while a gateway is called.
    Returns counts per resulting status. Idempotent: a second run finds nothing due.
    """
    batch_size = batch_size or settings.SMS_SEND_BATCH_SIZE
    report = dict.fromkeys(SmsStatus.values, 0)
    report[SmsStatus.UNKNOWN] += _reap_stale()
    backend = get_backend()
    while rows := _claim(batch_size):
        for row in rows:
            report[_send_one(backend, row)] += 1
        if len(rows) < batch_size:
            break
    report.pop(SmsStatus.SENDING)
    return report
