"""Write functions of the outbox: queue a message, send what is due, purge (see ``voting.sms``)."""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F

from campaigns.clock import db_now
from staff.phones import Phone
from voting.choices import OTP_TTL_SECONDS, SmsStatus, SmsTemplate
from voting.models import OutboundSms
from voting.sms.backends.base import (
    BaseSmsBackend,
    SmsMessage,
    SmsPermanentError,
    SmsTemporaryError,
    SmsUnknownOutcomeError,
    get_backend,
)
from voting.sms.templates import render_sms
from voting.tasks import send_pending_sms_task

logger = logging.getLogger(__name__)

# Parameters that must not outlive the message (a one-time code).
SECRET_PARAMS = frozenset({"code"})


def queue_sms(
    phone: Phone,
    *,
    template: str,
    params: dict[str, Any],
    language: str | None = None,
    now: datetime | None = None,
) -> OutboundSms:
    """Write one pending ``OutboundSms`` in the caller's transaction; send nothing.

    The caller schedules ``wake_sms_sender`` with ``transaction.on_commit`` (the beat sweep
    sends it anyway). ``params`` must be JSON-serialisable.
    """
    fields: dict[str, Any] = {}
    if now is not None:
        fields = {"created_at": now, "next_attempt_at": now}
    return OutboundSms.objects.create(
        to_e164=phone.e164,
        phone_hash=phone.hash,
        phone_masked=phone.masked,
        template=template,
        params=params,
        language=language or settings.LANGUAGE_CODE,
        **fields,
    )


def wake_sms_sender() -> None:
    """Ask a worker to drain the outbox now: an ``on_commit`` callback, never raises.

    The broker URL and transport options are read from settings at call time, with a
    short connection timeout and no retries: a broker that is down costs the request at
    most ``SMS_WAKE_TIMEOUT`` seconds and a log line (DESIGN.md §3.5; celery#4556). The
    beat sweep sends the message anyway.
    """
    if not settings.SMS_WAKE_SENDER:
        return
    try:
        app = send_pending_sms_task.app
        with app.connection_for_write(
            url=settings.CELERY_BROKER_URL,
            connect_timeout=settings.SMS_WAKE_TIMEOUT,
            transport_options=getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
        ) as connection:
            send_pending_sms_task.apply_async(
                connection=connection, retry=False, expires=settings.SMS_WAKE_EXPIRES
            )
    except Exception as exc:  # noqa: BLE001 -- a wake-up must never fail the request
        logger.warning("SMS sender wake-up failed (beat will sweep): %s", type(exc).__name__)


def _backoff(attempts: int) -> timedelta:
    seconds = settings.SMS_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.SMS_RETRY_MAX_SECONDS))


def _finished_fields(row: OutboundSms) -> dict[str, Any]:
    """What every final state clears: the full number, and secret parameters."""
    params = {k: v for k, v in row.params.items() if k not in SECRET_PARAMS}
    return {"to_e164": "", "params": params, "claimed_at": None}


def _claim(batch_size: int) -> list[OutboundSms]:
    """Claim due pending rows for this worker: ``FOR UPDATE SKIP LOCKED``, mark ``sending``."""
    with transaction.atomic():
        now = db_now()
        rows = list(
            OutboundSms.objects.select_for_update(skip_locked=True)
            .filter(status=SmsStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")[:batch_size]
        )
        if rows:
            OutboundSms.objects.filter(pk__in=[row.pk for row in rows]).update(
                status=SmsStatus.SENDING, attempts=F("attempts") + 1, claimed_at=now
            )
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
        for row in stale:
            OutboundSms.objects.filter(pk=row.pk).update(
                status=SmsStatus.UNKNOWN,
                last_error="worker stopped while sending",
                **_finished_fields(row),
            )
    return len(stale)


def _record(row: OutboundSms, status: str, **fields: Any) -> None:
    if status != SmsStatus.PENDING:
        fields.update(_finished_fields(row))
    # Only a row still ours (sending) or reaped meanwhile (unknown) takes the outcome.
    OutboundSms.objects.filter(pk=row.pk, status__in=[SmsStatus.SENDING, SmsStatus.UNKNOWN]).update(
        status=status, **fields
    )


def _send_one(backend: BaseSmsBackend, row: OutboundSms) -> str:
    now = db_now()
    if (
        row.template == SmsTemplate.OTP
        and row.created_at + timedelta(seconds=OTP_TTL_SECONDS) <= now
    ):
        _record(row, SmsStatus.FAILED, last_error="code expired before it could be sent")
        return SmsStatus.FAILED
    try:
        body = render_sms(row.template, row.params, row.language)
    except (KeyError, ValueError, TypeError) as exc:
        _record(row, SmsStatus.FAILED, last_error=f"cannot render: {exc!r}"[:500])
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
        if row.attempts >= settings.SMS_MAX_ATTEMPTS:
            _record(row, SmsStatus.FAILED, last_error=str(exc)[:500])
            return SmsStatus.FAILED
        _record(
            row,
            SmsStatus.PENDING,
            last_error=str(exc)[:500],
            next_attempt_at=now + _backoff(row.attempts),
            claimed_at=None,
        )
        return SmsStatus.PENDING
    except SmsPermanentError as exc:
        _record(row, SmsStatus.FAILED, last_error=str(exc)[:500])
        return SmsStatus.FAILED
    except SmsUnknownOutcomeError as exc:
        _record(row, SmsStatus.UNKNOWN, last_error=str(exc)[:500])
        return SmsStatus.UNKNOWN
    except Exception as exc:  # a backend bug: retried with backoff, bounded like the rest
        logger.exception("SMS backend error on outbox row %s", row.pk)
        status = (
            SmsStatus.FAILED if row.attempts >= settings.SMS_MAX_ATTEMPTS else SmsStatus.PENDING
        )
        extra = (
            {"next_attempt_at": now + _backoff(row.attempts), "claimed_at": None}
            if status == SmsStatus.PENDING
            else {}
        )
        _record(row, status, last_error=f"backend error: {type(exc).__name__}", **extra)
        return status
    _record(
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

    Writes ``OutboundSms`` status fields (see ``voting.sms`` for the states). Locks: claims
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
