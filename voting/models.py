"""The vote ledger, voters, one-time codes, OTP rate events and the derived tallies.

Terms and invariants:

* **Voter** — a person identified only by ``voter_hash``, the keyed hash of their
  normalised phone number (``staff.phones``). One row per voter, created on first contact;
  its row lock serialises everything one voter does (casting votes, requesting codes), so
  per-voter limits hold under concurrency without any hot per-contestant or per-stage row.
* **Vote** — the append-only ledger. A row is never deleted and only its status fields
  (``status``, ``invalidated_*``) ever change, through ``voting.ledger.services``. ``cast_at`` and
  ``local_day`` come from the database clock; ``local_day`` is the Asia/Shanghai date of
  ``cast_at`` so "votes today" is an index lookup. An invalidated vote still uses up its
  voter's allowance: invalidation corrects fraud, it does not refund a vote.
* **OtpChallenge** — a one-time code sent by SMS. Only an HMAC of the code is stored. It
  is consumed by one conditional UPDATE (unused, unexpired, fewer than 5 wrong tries).
* **RateEvent** — one row per request for a code, counted in PostgreSQL for the per-phone,
  per-IP and per-number-block limits (they hold with Redis down).
* **WrongCode** — one wrong code entered, by the IP and device it came from: the per-IP and
  per-device limits on guessing (``voting.otp.tries``), also in PostgreSQL.
* **TallyEvent**, **Tally**, **LeaderboardSnapshot**, **RecountCheck** — derived data: the
  tally outbox and its fold (``voting.counting.tallies``), published boards and their digest chain
  (``voting.counting.publication``) and recount results (``voting.counting.recount``). Each can be rebuilt
  from the ledger.
* **VoteJob** — a bulk invalidation or restoration of the fraud review, run by a worker in
  batches (``voting.fraud.jobs``): its selection, actor and reason, and its checkpoint.

The SMS outbox and the inbound SMS log are ``campaigns.messaging.models`` (their tables
keep their ``voting_`` names); an SMS vote's inbound message refers to its vote by id.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from campaigns.models import Contestant, Stage
from voting.choices import (
    OTP_MAX_ATTEMPTS,
    OtpPurpose,
    RateOutcome,
    VoteChannel,
    VoteJobAction,
    VoteJobStatus,
    VoteStatus,
)


class Voter(models.Model):
    """One row per voter: the lock that serialises one voter's votes and code requests."""

    voter_hash = models.CharField(_("voter key"), max_length=64)
    created_at = models.DateTimeField(_("first seen"), db_default=Now())

    class Meta:
        verbose_name = _("voter")
        verbose_name_plural = _("voters")
        # A constraint rather than ``unique=True``, which on PostgreSQL adds a second
        # (``varchar_pattern_ops``) index for LIKE that no query uses and every new voter
        # paid for. The voter locks' ``ON CONFLICT (voter_hash)`` (voting.ledger.sql,
        # voting.sms_votes.handler) infer this index.
        constraints = [models.UniqueConstraint(fields=["voter_hash"], name="voter_unique_hash")]

    def __str__(self) -> str:
        return self.voter_hash[:12]


class Vote(models.Model):
    # Every index below is paid for on each inserted vote (docs/benchmarks.md, "The ledger's
    # indexes"): the stage's own index is left out because ``vote_recount`` starts with it.
    #
    # One foreign key for the two columns below, on PostgreSQL: ``(contestant_id,
    # stage_id)`` references the candidate's ``(id, stage_id)`` (``vote_contestant_in_stage``,
    # migration 0014), so a vote names an existing candidate *of its own stage*. A key per
    # column (what Django would make) checked less — not that the candidate is of the
    # stage — and cost two checks per vote at commit, each a share lock on a row every
    # concurrent vote of the stage locks too (docs/benchmarks.md, "Vote paths, issue 12,
    # fifth session"). SQLite, the embedded default, keeps no key here.
    stage = models.ForeignKey(
        Stage,
        verbose_name=_("stage"),
        on_delete=models.PROTECT,
        related_name="votes",
        db_index=False,
        db_constraint=False,
    )
    contestant = models.ForeignKey(
        Contestant,
        verbose_name=_("candidate"),
        on_delete=models.PROTECT,
        related_name="votes",
        db_constraint=False,
    )
    voter_hash = models.CharField(_("voter key"), max_length=64)
    phone_masked = models.CharField(_("phone"), max_length=16)
    channel = models.CharField(_("channel"), max_length=16, choices=VoteChannel.choices)
    ip_hash = models.CharField(_("IP key"), max_length=64, blank=True)
    # Keyed hash of the /24 (or /48) network (voting.fingerprints.hash_ip_subnet), for the
    # fraud review's subnet pattern; "" for SMS votes. No index of its own: the fraud
    # queries group one stage's votes (vote_recount) or narrow by contestant first,
    # and every index is paid for on the hot insert path. db_default keeps raw INSERTs
    # that predate the column (benchmarks, seeds) valid.
    ip_subnet_hash = models.CharField(
        _("subnet key"), max_length=64, blank=True, default="", db_default=""
    )
    user_agent_hash = models.CharField(_("browser key"), max_length=64, blank=True)
    cast_at = models.DateTimeField(_("cast at"), db_default=Now())
    local_day = models.DateField(_("day (Asia/Shanghai)"))
    status = models.CharField(
        _("status"), max_length=16, choices=VoteStatus.choices, default=VoteStatus.VALID
    )
    invalidated_reason = models.TextField(_("invalidation reason"), blank=True)
    # Indexed only where set (``vote_invalidated_by``): nearly every vote has none.
    invalidated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invalidated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    invalidated_at = models.DateTimeField(_("invalidated at"), null=True, blank=True)
    # Unique by ``vote_unique_receipt_code`` (a constraint, not ``unique=True``, which would
    # add a second, pattern-matching index that no query uses).
    receipt_code = models.CharField(_("receipt code"), max_length=10)
    # NULL, not "", means "none": the unique constraints below apply only to real keys.
    idempotency_key = models.CharField(  # noqa: DJ001 -- NULL means no key (see above)
        _("idempotency key"), max_length=64, null=True, blank=True
    )
    provider_message_id = models.CharField(  # noqa: DJ001 -- NULL means no message id
        _("provider message id"), max_length=128, null=True, blank=True
    )
    # A served customer: the voter's phone had a reported transaction with the candidate in
    # the stage's window, as known when the vote was decided (campaigns.served; frozen with
    # the vote, docs/served-votes.md). db_default keeps raw INSERTs without it valid.
    is_served = models.BooleanField(_("served customer"), default=False, db_default=False)

    class Meta:
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        ordering = ["-cast_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=VoteStatus.values), name="vote_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=VoteChannel.values), name="vote_channel_valid"
            ),
            # The invalidation fields describe the current invalidation, and only that.
            models.CheckConstraint(
                condition=(
                    models.Q(
                        status=VoteStatus.VALID,
                        invalidated_at__isnull=True,
                        invalidated_reason="",
                    )
                    | (
                        models.Q(status=VoteStatus.INVALIDATED, invalidated_at__isnull=False)
                        & ~models.Q(invalidated_reason="")
                    )
                ),
                name="vote_invalidation_consistent",
            ),
            # Scoped to the voter: a key is the client's, and a guessed key of another
            # voter must not reveal that voter's receipt.
            models.UniqueConstraint(
                fields=["voter_hash", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="vote_unique_idempotency_key",
            ),
            # A gateway re-delivering the same inbound message counts once.
            models.UniqueConstraint(
                fields=["channel", "provider_message_id"],
                condition=models.Q(provider_message_id__isnull=False),
                name="vote_unique_provider_message",
            ),
            # Receipt lookups (the API, the public page, the admin's search) and uniqueness.
            models.UniqueConstraint(fields=["receipt_code"], name="vote_unique_receipt_code"),
        ]
        indexes = [
            # A voter's usage (the limits of both vote paths, read under the voter lock) and
            # the admin's votes-per-voter: one index on the voter's random key, with the day
            # and candidate carried in it so the counts are an index-only scan.
            models.Index(
                fields=["voter_hash", "stage"],
                include=["local_day", "contestant"],
                name="vote_voter_usage",
            ),
            # The recount's GROUP BY reads only this index (an index-only scan on PostgreSQL);
            # it also serves every other read by stage (and status): boards, the fraud review,
            # the admin's filters, and the stage's PROTECT check.
            models.Index(fields=["stage", "status", "contestant", "channel"], name="vote_recount"),
            # Deleting a user sets their invalidations' actor to NULL: only set rows matter.
            models.Index(
                fields=["invalidated_by"],
                condition=models.Q(invalidated_by__isnull=False),
                name="vote_invalidated_by",
            ),
        ]

    def __str__(self) -> str:
        return self.receipt_code

    @property
    def is_valid(self) -> bool:
        return self.status == VoteStatus.VALID


class OtpChallenge(models.Model):
    """One one-time code sent to one phone. The code itself is never stored."""

    phone_hash = models.CharField(_("phone key"), max_length=64)
    purpose = models.CharField(
        _("purpose"), max_length=16, choices=OtpPurpose.choices, default=OtpPurpose.VOTE
    )
    code_hash = models.CharField(_("code hash"), max_length=64)
    created_at = models.DateTimeField(_("created at"), db_default=Now())
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("wrong tries"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    ip_hash = models.CharField(_("IP key"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(attempts__lte=OTP_MAX_ATTEMPTS), name="otp_attempts_capped"
            ),
            models.CheckConstraint(
                condition=models.Q(purpose__in=OtpPurpose.values), name="otp_purpose_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["phone_hash", "purpose", "created_at"], name="otp_phone_created")
        ]

    def __str__(self) -> str:
        return f"{self.phone_hash[:12]} {self.created_at:%Y-%m-%d %H:%M:%S}"


class RateEvent(models.Model):
    """One request for a one-time code, whatever became of it.

    ``block_hash`` is a keyed hash of the number without its last two digits (a block of
    100 sequential numbers): the per-block velocity limit catches a script walking through
    consecutive numbers from many IPs. Rows older than a day are purged.
    """

    phone_hash = models.CharField(_("phone key"), max_length=64)
    ip_hash = models.CharField(_("IP key"), max_length=64, blank=True)
    block_hash = models.CharField(_("number block key"), max_length=64)
    outcome = models.CharField(_("outcome"), max_length=16, choices=RateOutcome.choices)
    limit = models.CharField(_("limit"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("at"), db_default=Now())

    class Meta:
        verbose_name = _("code request")
        verbose_name_plural = _("code requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome__in=RateOutcome.values), name="rateevent_outcome_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["phone_hash", "created_at"], name="rateevent_phone"),
            models.Index(fields=["ip_hash", "created_at"], name="rateevent_ip"),
            models.Index(fields=["block_hash", "created_at"], name="rateevent_block"),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} {self.created_at:%Y-%m-%d %H:%M:%S}"


class WrongCode(models.Model):
    """One wrong one-time code entered, by where it came from (never for which number).

    ``ip_hash`` and ``device_hash`` are keyed hashes (``voting.fingerprints``): the device is
    the voter's device cookie or, without one, a fingerprint of the network and browser.
    Counted by ``voting.otp.tries`` so that guessing locks the guesser's IP and device
    before it uses up anyone's code. Rows older than a day are purged.
    """

    ip_hash = models.CharField(_("IP key"), max_length=64, blank=True)
    device_hash = models.CharField(_("device key"), max_length=64)
    created_at = models.DateTimeField(_("at"), db_default=Now())

    class Meta:
        verbose_name = _("wrong code")
        verbose_name_plural = _("wrong codes")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["ip_hash", "created_at"], name="wrongcode_ip"),
            models.Index(fields=["device_hash", "created_at"], name="wrongcode_device"),
        ]

    def __str__(self) -> str:
        return f"{self.device_hash[:12]} {self.created_at:%Y-%m-%d %H:%M:%S}"


class TallyEvent(models.Model):
    """One change of the counted votes, waiting to be folded into ``Tally`` (the outbox).

    Written in the same transaction as the ledger change it describes: +1 when a vote is
    cast or restored, -1 when it is invalidated. Folded and deleted in one transaction by
    ``voting.counting.tallies.fold_tally_events``. No index but the primary key: rows live for
    about a second, and the fold claims them in id order.
    """

    # No database constraint on the vote either: an event is written only in its vote's
    # own transaction (``record_tally_events``, the SMS batch's ``COPY``) and lives about a
    # second, and the check cost a key-share lock on each new vote row at commit (a WAL
    # record per vote).
    vote = models.ForeignKey(
        Vote,
        verbose_name=_("vote"),
        on_delete=models.CASCADE,
        db_index=False,
        db_constraint=False,
        related_name="+",
    )
    # Copies of the vote's stage and candidate, which the vote's own foreign key checks:
    # no database constraint of their own. Each would be one more check per event at
    # commit, a share lock on the stage's and the candidate's rows, which every
    # concurrent vote of the stage takes (docs/benchmarks.md, "The ledger's indexes").
    stage = models.ForeignKey(
        Stage,
        verbose_name=_("stage"),
        on_delete=models.CASCADE,
        db_index=False,
        db_constraint=False,
        related_name="+",
    )
    contestant = models.ForeignKey(
        Contestant,
        verbose_name=_("candidate"),
        on_delete=models.CASCADE,
        db_index=False,
        db_constraint=False,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=16, choices=VoteChannel.choices)
    is_served = models.BooleanField(_("served customer"), default=False, db_default=False)
    delta = models.SmallIntegerField(_("change"))
    created_at = models.DateTimeField(_("created at"), db_default=Now())

    class Meta:
        verbose_name = _("tally event")
        verbose_name_plural = _("tally events")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(delta__in=(-1, 1)), name="tallyevent_delta_unit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.delta:+d} vote {self.vote_id}"


class Tally(models.Model):
    """Counted valid votes of one contestant on one channel of a stage (folded events),
    and how many of them are served customers' votes."""

    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.CASCADE, related_name="+"
    )
    contestant = models.ForeignKey(
        Contestant, verbose_name=_("candidate"), on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=VoteChannel.choices)
    votes = models.BigIntegerField(_("votes"), default=0)
    # Of ``votes``, those of served customers (events with ``is_served``).
    served_votes = models.BigIntegerField(_("served votes"), default=0, db_default=0)
    updated_at = models.DateTimeField(_("updated at"), db_default=Now())

    class Meta:
        verbose_name = _("tally")
        verbose_name_plural = _("tallies")
        ordering = ["stage", "contestant", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "contestant", "channel"], name="tally_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contestant_id}/{self.channel}: {self.votes}"


class VoteJob(models.Model):
    """A bulk invalidate/restore of the fraud review over a selection too large for one
    request, run by a worker in batches (``voting.fraud.jobs``).

    ``filters`` are the changelist's parameters (``voting.fraud.filters.VoteFilter``; never
    a phone number), frozen at ``max_vote_id``. ``last_vote_id`` is the checkpoint: each
    batch updates it in the same transaction as the batch's votes, so a worker killed
    mid-batch resumes after the last committed batch. The audit log records only what the
    batches changed (``voting.vote.invalidated`` / ``restored``, one event per batch and
    stage), never the job's own bookkeeping.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    action = models.CharField(_("action"), max_length=16, choices=VoteJobAction.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=VoteJobStatus.choices, default=VoteJobStatus.QUEUED
    )
    stage = models.ForeignKey(
        Stage,
        verbose_name=_("stage"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    max_vote_id = models.BigIntegerField(_("highest vote previewed"), null=True, blank=True)
    reason = models.TextField(_("reason"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(_("started by (name)"), max_length=150, blank=True)
    total = models.PositiveIntegerField(_("votes previewed"), default=0)
    processed = models.PositiveIntegerField(_("votes processed"), default=0)
    changed = models.PositiveIntegerField(_("votes changed"), default=0)
    batches = models.PositiveIntegerField(_("batches"), default=0)
    last_vote_id = models.BigIntegerField(_("last vote done"), default=0)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), db_default=Now())
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("bulk vote job")
        verbose_name_plural = _("bulk vote jobs")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=VoteJobStatus.values), name="votejob_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(action__in=VoteJobAction.values), name="votejob_action_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.pk.hex[:8]}"

    @property
    def percent(self) -> int:
        """Progress for the progress bar: 100 when done, else at most 99."""
        if self.status == VoteJobStatus.DONE:
            return 100
        return min(99, self.processed * 100 // self.total) if self.total else 0


class LeaderboardSnapshot(models.Model):
    """One published board of a stage, a link of the stage's digest chain.

    ``counts`` is the counted state (``{"<contestant_id>": {"web": n, ...}}``), ``digest``
    chains it to ``previous`` (see ``voting.counting.publication``); ``entries`` is the ranked
    board as published. ``published_at`` is the database clock. Never changed after insert.
    """

    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.CASCADE, related_name="+"
    )
    previous = models.OneToOneField(
        "self",
        verbose_name=_("previous snapshot"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="next",
    )
    published_at = models.DateTimeField(_("published at"), db_default=Now())
    is_final = models.BooleanField(_("final board"), default=False)
    valid_votes = models.BigIntegerField(_("counted votes"))
    counts = models.JSONField(_("counted state"))
    entries = models.JSONField(_("entries"))
    digest = models.CharField(_("digest"), max_length=64)

    class Meta:
        verbose_name = _("leaderboard snapshot")
        verbose_name_plural = _("leaderboard snapshots")
        ordering = ["stage", "-published_at", "-id"]
        constraints = [
            # One snapshot per counted state and chain position: a duplicate publication
            # (two beats, a redelivered task) inserts nothing.
            models.UniqueConstraint(fields=["stage", "digest"], name="snapshot_unique_digest"),
            # The chain cannot fork: one first link per stage (``previous`` is one-to-one).
            models.UniqueConstraint(
                fields=["stage"],
                condition=models.Q(previous__isnull=True),
                name="snapshot_one_first_link",
            ),
        ]
        indexes = [models.Index(fields=["stage", "-id"], name="snapshot_stage_latest")]

    def __str__(self) -> str:
        return f"{self.stage_id} @ {self.published_at:%Y-%m-%d %H:%M:%S} ({self.digest[:12]})"


class RecountCheck(models.Model):
    """The result of one recount of a stage (``voting.counting.recount``), shown in the admin."""

    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.CASCADE, related_name="+"
    )
    checked_at = models.DateTimeField(_("checked at"), db_default=Now())
    ok = models.BooleanField(_("all equal"))
    repaired = models.BooleanField(_("tallies repaired"), default=False)
    valid_votes = models.BigIntegerField(_("valid votes in the ledger"))
    differences = models.JSONField(_("differences"), default=list, blank=True)
    duration = models.DurationField(_("duration"))

    class Meta:
        verbose_name = _("recount")
        verbose_name_plural = _("recounts")
        ordering = ["stage", "-checked_at", "-id"]
        indexes = [models.Index(fields=["stage", "-id"], name="recountcheck_stage_latest")]

    def __str__(self) -> str:
        return f"{self.stage_id} @ {self.checked_at:%Y-%m-%d %H:%M:%S}: {self.ok}"
