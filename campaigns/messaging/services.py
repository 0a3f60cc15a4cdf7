"""Write functions of the outbox: queue messages (the one writer of outbox rows), move a
message through its status machine, wake the sender.

A service that needs an SMS calls ``queue_sms`` (or ``queue_sms_bulk`` for a batch)
inside its own transaction: that writes pending ``OutboundSms`` rows and nothing else, so
the request never waits on a gateway or a broker. It then calls
``wake_sms_sender_on_commit()``; Celery beat also sweeps the outbox every few seconds, so
a lost wake-up only delays a message.
"""

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _

from campaigns.clock import db_now
from campaigns.messaging.choices import (
    SMS_NUMBER_HELD_STATUSES,
    SMS_RECONCILED_STATUSES,
    SMS_TRANSITIONS,
    SmsAuditAction,
    SmsStatus,
)
from campaigns.messaging.exceptions import InvalidSmsTransitionError, MessagingError
from campaigns.messaging.models import OutboundSms
from staff.audit import clean_reason
from staff.phones import Phone
from staff.services import Actor, record_audit_event
from staff.sql import copy_rows, insert_rows
from staff.wakeups import wake_on_commit

# The sender task's registered name (``campaigns.messaging.tasks``): woken by name, so this
# module never imports the task.
SEND_TASK = "campaigns.send_pending_sms"
# A wake-up older than this is dropped by the worker: beat has swept by then.
SEND_WAKE_EXPIRES = 60
# Parameters that must not outlive the message (a one-time code).
SECRET_PARAMS = frozenset({"code"})


@dataclass(frozen=True)
class SmsRequest:
    """One message for ``queue_sms_bulk``: the same arguments as ``queue_sms``."""

    phone: Phone
    template: str
    params: dict[str, Any]
    language: str


def queue_sms(
    phone: Phone,
    *,
    template: str,
    params: dict[str, Any],
    language: str | None = None,
    now: dt.datetime | None = None,
) -> OutboundSms:
    """Write one pending ``OutboundSms`` in the caller's transaction; send nothing.

    ``template`` is a registered key (``campaigns.messaging.templates``), ``params`` must
    be JSON-serialisable. The caller calls ``wake_sms_sender_on_commit()``.
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


_BULK_FIELDS = [
    "to_e164",
    "phone_hash",
    "phone_masked",
    "template",
    "params",
    "language",
    "body",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "provider_message_id",
    "created_at",
]


def queue_sms_bulk(requests: Sequence[SmsRequest], *, now: dt.datetime) -> int:
    """``queue_sms`` for many messages at once: one statement in the caller's transaction
    (``COPY`` on PostgreSQL, a multi-row ``INSERT`` elsewhere; none at all for no
    requests), due at ``now``. Returns the number of rows written; sends nothing, wakes
    nothing."""
    stamp = connection.ops.adapt_datetimefield_value(now)
    rows = [
        [
            *(r.phone.e164, r.phone.hash, r.phone.masked, r.template, json.dumps(r.params)),
            *(r.language, "", SmsStatus.PENDING, 0, stamp, "", "", stamp),
        ]
        for r in requests
    ]
    write = copy_rows if connection.vendor == "postgresql" else insert_rows
    write(OutboundSms, _BULK_FIELDS, rows)
    return len(rows)


def wake_sms_sender_on_commit() -> None:
    """Ask a worker to drain the outbox once the current transaction commits (bounded,
    never raising: ``staff.wakeups``)."""
    wake_on_commit(SEND_TASK, expires=SEND_WAKE_EXPIRES)


def _sources(to: str) -> list[str]:
    return [source for source, targets in SMS_TRANSITIONS.items() if to in targets]


def transition_sms(rows: OutboundSms | Sequence[OutboundSms], to: str, **fields: Any) -> int:
    """Move ``rows`` (one row, or a claimed batch) to status ``to``, setting ``fields``.

    Checks each row's known status against ``SMS_TRANSITIONS`` (``InvalidSmsTransitionError``
    otherwise), then writes one conditional ``UPDATE``: only rows whose stored status may
    still move to ``to`` change, so a row reaped to ``unknown`` by another worker meanwhile
    takes a late ``sent`` or ``failed`` but never goes back to ``pending``. A final status
    clears the full number and the secret parameters. Sets the new status
    on the instances; returns the number of rows changed. Writes no audit event: the
    outbox row itself (attempts, last error, provider id) is the record.
    """
    batch = [rows] if isinstance(rows, OutboundSms) else list(rows)
    for row in batch:
        if to not in SMS_TRANSITIONS.get(row.status, frozenset()):
            raise InvalidSmsTransitionError(
                _("An SMS cannot go from %(from)s to %(to)s.") % {"from": row.status, "to": to}
            )
    if not batch:
        return 0
    if to in SMS_NUMBER_HELD_STATUSES:
        changed = OutboundSms.objects.filter(
            pk__in=[row.pk for row in batch], status__in=_sources(to)
        ).update(status=to, **fields)
    else:
        # A final status: each row's own parameters lose their secrets, so one UPDATE per row.
        changed = 0
        for row in batch:
            params = {k: v for k, v in row.params.items() if k not in SECRET_PARAMS}
            changed += OutboundSms.objects.filter(pk=row.pk, status__in=_sources(to)).update(
                status=to, to_e164="", params=params, claimed_at=None, **fields
            )
    for row in batch:
        row.status = to
    return changed


def reconcile_sms(
    ids: Sequence[int], *, outcome: str, actor: Actor, reason: str, provider_message_id: str = ""
) -> int:
    """Record the outcome a person found in the gateway's send records for messages left
    ``unknown``: ``sent`` or ``failed``, with a required reason, one audit event each.

    Rows not ``unknown`` (any more) are left alone: a late answer or another person may
    have settled them first. Locks the rows (``FOR UPDATE``) in one transaction. Raises
    ``MessagingError`` (``bad_outcome``) or ``ReasonError`` before anything is written.
    Returns the number of messages reconciled.
    """
    if outcome not in SMS_RECONCILED_STATUSES:
        raise MessagingError("bad_outcome", _("An SMS can only be reconciled as sent or failed."))
    reason = clean_reason(reason)
    provider_message_id = provider_message_id.strip()[:128]
    with transaction.atomic():
        rows = list(
            OutboundSms.objects.select_for_update()
            .filter(pk__in=list(ids), status=SmsStatus.UNKNOWN)
            .order_by("pk")
        )
        fields: dict[str, Any] = {}
        if outcome == SmsStatus.SENT:
            fields = {"sent_at": db_now(), "last_error": ""}
        if provider_message_id:
            fields["provider_message_id"] = provider_message_id
        for row in rows:
            transition_sms(row, outcome, **fields)
            record_audit_event(
                row,
                actor=actor,
                action=SmsAuditAction.RECONCILED,
                reason=reason,
                data={
                    "from": SmsStatus.UNKNOWN.value,
                    "to": outcome,
                    "provider_message_id": provider_message_id,
                },
            )
    return len(rows)
