"""The SMS outbox and the inbound SMS log. Both tables keep the names they had when they
lived in the voting app (``voting_outboundsms``, ``voting_inboundsms``): they moved down
without copying a row (migrations ``voting 0006`` and ``campaigns 0002``).

* **OutboundSms** — the outbox. A service writes a row in its own transaction
  (``services.queue_sms``); Celery workers send it (``sender``). ``to_e164`` is the one
  place a full phone number is stored, and only while the message is pending or being
  sent (a check constraint enforces it). ``template`` is a key of the template registry
  (``templates``), owned by the app that sent it, so it has no choices constraint.
* **InboundSms** — one inbound SMS per (provider, provider message id): the claim that
  makes a re-delivered message count once (``inbound.router``), and its outcome and
  reply, given again to a re-delivery. The sender is stored only as hash and mask.
  ``handled_by`` names the inbound handler that decided it and ``outcome_ref`` is that
  handler's own row (a vote id for ``votes``): a plain integer, not a foreign key, because
  messaging sits below the apps that handle messages. ``outcome_label`` is the short,
  non-personal reference shown and searched in the admin (a vote's receipt code).
"""

from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from campaigns.messaging.choices import SMS_NUMBER_HELD_STATUSES, InboundStatus, SmsStatus


class OutboundSms(models.Model):
    """One outbound message (the outbox). See ``campaigns.messaging.sender`` for how it is sent."""

    to_e164 = models.CharField(
        _("destination"),
        max_length=20,
        blank=True,
        help_text=_("Held only until the message is sent; cleared afterwards."),
    )
    phone_hash = models.CharField(_("phone key"), max_length=64)
    phone_masked = models.CharField(_("phone"), max_length=16)
    template = models.CharField(_("template"), max_length=32)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=16)
    body = models.TextField(_("text"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=SmsStatus.choices, default=SmsStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), db_default=Now())
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("created at"), db_default=Now())
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        db_table = "voting_outboundsms"
        verbose_name = _("outbound SMS")
        verbose_name_plural = _("outbound SMS")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=SmsStatus.values), name="outboundsms_status_valid"
            ),
            # Phone numbers are personal data: the full number lives here only until the message is out.
            models.CheckConstraint(
                condition=models.Q(status__in=SMS_NUMBER_HELD_STATUSES) | models.Q(to_e164=""),
                name="outboundsms_number_only_while_pending",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outboundsms_due"),
            models.Index(fields=["phone_hash", "created_at"], name="outboundsms_phone"),
        ]

    def __str__(self) -> str:
        return f"{self.template} → {self.phone_masked} ({self.status})"


class InboundSms(models.Model):
    """One inbound SMS of a gateway, recorded once per (provider, message id).

    The unique key is the deduplication: the batch ingest records each message once, with
    its outcome, by ``INSERT … ON CONFLICT DO NOTHING``, and a re-delivery finds the row
    and gets ``reply`` again. ``text`` is the raw text without NUL bytes, cut to 500 characters
    (``inbound.text.RAW_TEXT_MAX_CHARS``). ``received_at`` is what the gateway claims and
    decides nothing; ``created_at`` is the database clock.
    """

    provider = models.CharField(_("provider"), max_length=16)
    message_id = models.CharField(_("provider message id"), max_length=100)
    phone_hash = models.CharField(_("phone key"), max_length=64, blank=True)
    phone_masked = models.CharField(_("phone"), max_length=16, blank=True)
    to_number = models.CharField(_("sent to"), max_length=32, blank=True)
    text = models.TextField(_("text"), blank=True)
    received_at = models.DateTimeField(_("received by the gateway"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), db_default=Now())
    status = models.CharField(_("status"), max_length=16, choices=InboundStatus.choices)
    code = models.CharField(_("refusal code"), max_length=32, blank=True)
    reply = models.TextField(_("reply"), blank=True)
    handled_by = models.CharField(
        _("handled by"), max_length=32, blank=True, default="", db_default=""
    )
    # The column keeps its old name: it held the vote's id when this was a foreign key.
    outcome_ref = models.BigIntegerField(
        _("outcome id"), null=True, blank=True, db_column="vote_id"
    )
    outcome_label = models.CharField(
        _("outcome reference"), max_length=32, blank=True, default="", db_default=""
    )

    class Meta:
        db_table = "voting_inboundsms"
        verbose_name = _("inbound SMS")
        verbose_name_plural = _("inbound SMS")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "message_id"], name="inboundsms_unique_message"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=InboundStatus.values),
                name="inboundsms_status_valid",
            ),
            # One message per outcome row of a handler (one SMS per vote), as the one-to-one
            # link to the vote guaranteed; ids of different handlers may be equal.
            models.UniqueConstraint(
                fields=["handled_by", "outcome_ref"],
                condition=models.Q(outcome_ref__isnull=False),
                name="inboundsms_unique_outcome",
            ),
        ]
        indexes = [
            # The admin's search by a handler's reference (a receipt code) never looks for
            # "": the messages without one (refusals, help, junk) stay out of the index.
            models.Index(
                fields=["outcome_label"],
                condition=~models.Q(outcome_label=""),
                name="inboundsms_outcome_label",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.message_id} ({self.status})"
