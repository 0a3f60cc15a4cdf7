"""Campaigns, their ordered stages, contestants, and the frozen results of each stage.

A campaign is a sequence of stages (``order`` 1, 2, 3 …). Each stage has a quota N and
scoring rules; its contestants are staff members. When a stage is finalised its
``StageResult`` rows are frozen and its qualifiers become the contestants of the next
stage. Status fields change only through ``campaigns.services.transition_stage``; results
are written only by ``campaigns.services``.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from campaigns.choices import (
    CampaignStatus,
    ContestantStatus,
    ResultOutcome,
    StageKind,
    StageStatus,
    Visibility,
)

# SMS messaging's models live in their package; imported here so Django registers them.
from campaigns.messaging.models import InboundSms, OutboundSms  # noqa: F401 -- registers them
from campaigns.validators import validate_stage_rules

DEFAULT_RESERVE_COUNT = 5


class Campaign(models.Model):
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    banner = models.ImageField(_("banner image"), upload_to="campaigns/banners/", blank=True)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    status = models.CharField(
        _("status"), max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=CampaignStatus.values),
                name="campaign_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="campaign_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """One round of a campaign: who is in, how they are scored, how many go through.

    ``weights`` maps component keys to decimal strings adding up to 1; ``position_quotas``
    (optional) maps position codes to counts adding up to ``quota``. Vote limits of 0 mean
    unlimited. ``tie_break_order`` lists component keys compared, in order, between
    contestants with the same total.
    """

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="stages"
    )
    order = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=StageKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=StageStatus.choices, default=StageStatus.DRAFT
    )
    opens_at = models.DateTimeField(_("opens at"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes at"), null=True, blank=True)
    quota = models.PositiveIntegerField(_("quota"), help_text=_("How many go through."))
    position_quotas = models.JSONField(
        _("per-position quotas"),
        default=dict,
        blank=True,
        help_text=_(
            'Optional, e.g. {"clerk": 40, "agent": 20, "manager": 10}; must add up to the quota.'
        ),
    )
    weights = models.JSONField(
        _("component weights"),
        default=dict,
        help_text=_(
            'Decimal strings adding up to 1, e.g. {"web_votes": "0.5", "sms_votes": "0.5"}.'
        ),
    )
    served_vote_weight = models.DecimalField(
        _("served customers' vote weight"),
        max_digits=4,
        decimal_places=2,
        default=Decimal(1),
        help_text=_(
            "How many votes one vote of a customer the candidate served counts as, from 1 to "
            "10 (1: like any other vote). A customer is served when a business system "
            "reported a transaction with the candidate for that phone in the stage's window."
        ),
    )
    served_votes_only = models.BooleanField(
        _("count only served customers' votes"),
        default=False,
        help_text=_(
            "If set, the vote components count only votes of customers the candidate served; "
            "the others stay in the ledger but do not count."
        ),
    )
    votes_per_day = models.PositiveIntegerField(
        _("votes per voter per day"), default=0, help_text=_("0 means unlimited.")
    )
    votes_per_stage = models.PositiveIntegerField(
        _("votes per voter in the stage"), default=0, help_text=_("0 means unlimited.")
    )
    votes_per_candidate = models.PositiveIntegerField(
        _("votes per voter per candidate"), default=0, help_text=_("0 means unlimited.")
    )
    visibility = models.CharField(
        _("visibility"), max_length=24, choices=Visibility.choices, default=Visibility.COUNTS
    )
    hide_final_hours = models.PositiveSmallIntegerField(
        _("hidden final hours"),
        default=0,
        help_text=_("With hidden final hours: how long before closing the counts disappear."),
    )
    tie_break_order = models.JSONField(_("tie-break order"), default=list, blank=True)
    allow_tie_overflow = models.BooleanField(
        _("admit everyone tied at the cut"),
        default=False,
        help_text=_("If set, a tie at the cut line admits the whole tied group."),
    )
    reserve_count = models.PositiveSmallIntegerField(
        _("reserves"),
        default=DEFAULT_RESERVE_COUNT,
        help_text=_("How many next-ranked contestants are listed as reserves (per position)."),
    )
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    previewed_at = models.DateTimeField(_("previewed at"), null=True, blank=True, editable=False)
    finalized_at = models.DateTimeField(_("finalised at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["campaign", "order"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "order"], name="stage_unique_order"),
            models.CheckConstraint(
                condition=models.Q(status__in=StageStatus.values), name="stage_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=StageKind.values), name="stage_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(visibility__in=Visibility.values),
                name="stage_visibility_valid",
            ),
            models.CheckConstraint(condition=models.Q(quota__gte=1), name="stage_quota_positive"),
            models.CheckConstraint(
                condition=models.Q(opens_at__isnull=True)
                | models.Q(closes_at__isnull=True)
                | models.Q(closes_at__gt=models.F("opens_at")),
                name="stage_closes_after_opens",
            ),
            # A finalised stage always knows when; its results are frozen from that moment.
            models.CheckConstraint(
                condition=~models.Q(status=StageStatus.FINALIZED)
                | models.Q(finalized_at__isnull=False),
                name="stage_finalized_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign.name} · {self.name}" if self.campaign_id else self.name

    def clean(self) -> None:
        validate_stage_rules(
            quota=self.quota or 0,
            position_quotas=self.position_quotas,
            weights=self.weights,
            tie_break_order=self.tie_break_order,
            opens_at=self.opens_at,
            closes_at=self.closes_at,
            visibility=self.visibility,
            hide_final_hours=self.hide_final_hours,
            served_vote_weight=self.served_vote_weight,
            served_votes_only=self.served_votes_only,
        )

    @property
    def is_open(self) -> bool:
        """The stage's status is open (see ``accepts_entries_at`` for votes and scores)."""
        return self.status == StageStatus.OPEN

    def accepts_entries_at(self, now: datetime) -> bool:
        """Whether a vote or score arriving at ``now`` (server time) counts.

        The stage must be open *and* not past ``closes_at``: the beat task closes stages
        up to 30 s late, and a vote in that gap must still be refused.
        """
        return self.is_open and (self.closes_at is None or now < self.closes_at)

    @property
    def is_finalized(self) -> bool:
        return self.status == StageStatus.FINALIZED


class Contestant(models.Model):
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.CASCADE, related_name="contestants"
    )
    staff_member = models.ForeignKey(
        "staff.StaffMember",
        verbose_name=_("staff member"),
        on_delete=models.PROTECT,
        related_name="contestants",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ContestantStatus.choices, default=ContestantStatus.IN
    )
    running_order = models.PositiveIntegerField(
        _("running order"),
        null=True,
        blank=True,
        help_text=_("Order of appearance at a live contest."),
    )
    created_at = models.DateTimeField(_("enrolled at"), auto_now_add=True)

    class Meta:
        verbose_name = _("contestant")
        verbose_name_plural = _("contestants")
        ordering = ["stage", "running_order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "staff_member"], name="contestant_unique_per_stage"
            ),
            # What a vote's one foreign key references (voting.Vote: its candidate and its
            # stage, checked together).
            models.UniqueConstraint(fields=["id", "stage"], name="contestant_unique_id_stage"),
            models.UniqueConstraint(
                fields=["stage", "running_order"],
                condition=models.Q(running_order__isnull=False),
                name="contestant_unique_running_order",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ContestantStatus.values),
                name="contestant_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["stage", "status"], name="contestant_stage_status")]

    def __str__(self) -> str:
        return str(self.staff_member) if self.staff_member_id else super().__str__()


class StageResult(models.Model):
    """One contestant's computed result in a stage: written at preview, frozen at finalise.

    ``components`` maps each component key to ``{"raw", "normalised", "weight",
    "weighted", "available"}`` (decimal strings; ``raw`` is null for an unavailable
    component). ``web_votes``/``sms_votes``/``audience_votes`` are the raw channel
    subtotals, ``served_votes`` the valid votes of served customers on all channels. Frozen rows are never updated or deleted by the services.
    """

    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.CASCADE, related_name="results"
    )
    contestant = models.ForeignKey(
        Contestant, verbose_name=_("contestant"), on_delete=models.CASCADE, related_name="results"
    )
    position_code = models.CharField(_("position"), max_length=32)
    components = models.JSONField(_("components"), default=dict)
    web_votes = models.BigIntegerField(_("web votes"), default=0)
    sms_votes = models.BigIntegerField(_("SMS votes"), default=0)
    audience_votes = models.BigIntegerField(_("audience votes"), default=0)
    served_votes = models.BigIntegerField(_("served customers' votes"), default=0)
    total = models.DecimalField(_("weighted total"), max_digits=9, decimal_places=4)
    rank = models.PositiveIntegerField(_("rank"))
    position_rank = models.PositiveIntegerField(_("rank in position"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=ResultOutcome.choices)
    is_frozen = models.BooleanField(_("frozen"), default=False)
    computed_at = models.DateTimeField(_("computed at"))
    frozen_at = models.DateTimeField(_("frozen at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stage result")
        verbose_name_plural = _("stage results")
        ordering = ["stage", "rank", "contestant_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "contestant"], name="stageresult_unique_contestant"
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=ResultOutcome.values),
                name="stageresult_outcome_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(rank__gte=1), name="stageresult_rank_positive"
            ),
            # A frozen result is final: it has a freeze time and no tie left to decide.
            models.CheckConstraint(
                condition=models.Q(is_frozen=False)
                | (
                    models.Q(frozen_at__isnull=False) & ~models.Q(outcome=ResultOutcome.TIED_AT_CUT)
                ),
                name="stageresult_frozen_is_final",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.contestant_id} {self.total}"

    def component_value(self, key: str, field: str = "normalised") -> Any:
        return self.components.get(key, {}).get(field)


class TieResolution(models.Model):
    """An admin's decision on a tie left at the cut line after every tie-break.

    ``position_code`` is empty for a stage without per-position quotas (one cut line).
    Either ``admit_all`` (every tied contestant qualifies) or ``chosen_contestant_ids``
    (exactly ``places`` of them). Deleted when a preview is recomputed or discarded; the
    audit log keeps the history.
    """

    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.CASCADE, related_name="tie_resolutions"
    )
    position_code = models.CharField(_("position"), max_length=32, blank=True)
    tied_contestant_ids = models.JSONField(_("tied contestants"))
    places = models.PositiveIntegerField(_("places left at the cut"))
    admit_all = models.BooleanField(_("admit everyone tied"), default=False)
    chosen_contestant_ids = models.JSONField(_("chosen contestants"), default=list, blank=True)
    reason = models.TextField(_("reason"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"))

    class Meta:
        verbose_name = _("tie resolution")
        verbose_name_plural = _("tie resolutions")
        ordering = ["stage", "position_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "position_code"], name="tieresolution_unique_cut"
            ),
            models.CheckConstraint(condition=~models.Q(reason=""), name="tieresolution_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.stage_id} {self.position_code or '*'}"
