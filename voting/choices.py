"""Choices and fixed numbers of the voting app. A leaf module: it imports nothing from the app.

The OTP numbers below are part of the product's promises (issue 4): a code has 6 digits, is
valid 5 minutes and allows 5 wrong tries. They are constants rather than settings because
the tests of the brute-force and enumeration promises pin them.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class VoteChannel(models.TextChoices):
    WEB = "web", _("Web")
    SMS = "sms", _("SMS")
    AUDIENCE = "audience", _("Audience")


class VoteStatus(models.TextChoices):
    VALID = "valid", _("Counted")
    INVALIDATED = "invalidated", _("Invalidated")


class OtpPurpose(models.TextChoices):
    VOTE = "vote", _("Vote")


class RateOutcome(models.TextChoices):
    """What became of one request for a one-time code."""

    SENT = "sent", _("Code sent")
    LIMITED = "limited", _("Refused by a limit")


class SmsTemplate(models.TextChoices):
    """The voting app's SMS template keys. Chinese gateways send only pre-approved templates
    with parameters, so the outbox stores a template key and parameters, not free text;
    the texts are registered by ``voting.sms_templates`` (``campaigns.messaging.templates``)."""

    OTP = "otp", _("One-time code")
    VOTE_RECEIPT = "vote_receipt", _("Vote receipt")
    VOTE_REFUSED = "vote_refused", _("Vote refused")


class LimitKind(models.TextChoices):
    """Which vote limit refused a vote (``limit_reached``)."""

    DAY = "day", _("votes per day")
    STAGE = "stage", _("votes in this stage")
    CANDIDATE = "candidate", _("votes for this candidate")


class AuditAction(models.TextChoices):
    """Audit actions owned by the voting app (``<app>.<noun>.<past_verb>``)."""

    VOTES_INVALIDATED = "voting.vote.invalidated", _("Votes invalidated")
    VOTES_RESTORED = "voting.vote.restored", _("Votes restored")
    TALLY_REPAIRED = "voting.tally.repaired", _("Tallies repaired from the ledger")
    # A background job over a large selection (voting.bulk): started, one event per
    # batch (its checkpoint), and "completed" only after the last batch.
    VOTE_JOB_STARTED = "voting.vote_job.started", _("Bulk vote job started")
    VOTE_JOB_PROGRESSED = "voting.vote_job.progressed", _("Bulk vote job batch done")
    VOTE_JOB_COMPLETED = "voting.vote_job.completed", _("Bulk vote job completed")


OTP_DIGITS = 6
OTP_TTL_SECONDS = 300
OTP_MAX_ATTEMPTS = 5
# Receipt codes: Crockford base32 (no I, L, O, U), 10 characters = 50 random bits.
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_LENGTH = 10
