"""Choices of SMS messaging and the outbound status machine. A leaf module: it imports
nothing from the app.

The life of an outbound SMS (``OutboundSms.status``)::

    pending ──► sending ──► sent
       ▲           │ ├────► failed
       └───────────┘ └────► unknown ──► sent | failed

- ``pending → sending``: a worker claims the row (``FOR UPDATE SKIP LOCKED``).
- ``sending → sent | failed``: the gateway accepted or refused it for good.
- ``sending → pending``: a temporary failure; tried again at ``next_attempt_at``.
- ``sending → unknown``: the request went out and no answer came back (a timeout), or the
  worker died while sending. Never re-sent blindly: the gateway may have sent it.
- ``unknown → sent | failed``: a late answer of the worker the row was reaped from, or a
  person who checked the gateway's send records for our message id and reconciles it
  (``services.reconcile_sms``: the outbox's admin action or ``manage.py sms_reconcile``,
  audited).

Template keys are not choices here: the apps that send SMS own them and register their
texts (``campaigns.messaging.templates``).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SmsStatus(models.TextChoices):
    """Life of an outbound SMS (module docstring)."""

    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Outcome unknown")


SMS_TRANSITIONS: dict[str, frozenset[str]] = {
    SmsStatus.PENDING: frozenset({SmsStatus.SENDING}),
    SmsStatus.SENDING: frozenset(
        {SmsStatus.SENT, SmsStatus.FAILED, SmsStatus.PENDING, SmsStatus.UNKNOWN}
    ),
    SmsStatus.UNKNOWN: frozenset({SmsStatus.SENT, SmsStatus.FAILED}),
    SmsStatus.SENT: frozenset(),
    SmsStatus.FAILED: frozenset(),
}


class SmsAuditAction(models.TextChoices):
    """Audit actions of SMS messaging (``<app>.<noun>.<past_verb>``)."""

    RECONCILED = "campaigns.sms.reconciled", _("SMS of unknown outcome reconciled")


# What a person may record for a message of unknown outcome after checking the gateway.
SMS_RECONCILED_STATUSES = (SmsStatus.SENT, SmsStatus.FAILED)

# The only statuses in which an outbound SMS may hold its full destination number.
SMS_NUMBER_HELD_STATUSES = (SmsStatus.PENDING, SmsStatus.SENDING)


class InboundStatus(models.TextChoices):
    """What became of one inbound SMS (``InboundSms``): the webhook contract's statuses
    but ``duplicate``, which is an answer, never a stored outcome. ``pending`` is no longer
    written: the router records each message once, with its outcome (it marked an id
    claimed but not yet decided, inside the ingest's transaction, and was never committed);
    it stays a valid value for rows of older versions."""

    PENDING = "pending", _("Being handled")
    COUNTED = "counted", _("Vote counted")
    REFUSED = "refused", _("Refused")
    HELP = "help", _("Answered with help")
    EVALUATION = "evaluation", _("Rating recorded")


# What a handler may decide (``campaigns.messaging.inbound.router``).
DECIDED_STATUSES = frozenset(
    {InboundStatus.COUNTED, InboundStatus.REFUSED, InboundStatus.HELP, InboundStatus.EVALUATION}
)
# The answer to a message id seen before (in this batch or an earlier delivery).
DUPLICATE = "duplicate"
