"""Choices of the campaigns app and the stage state machine. A leaf module: it imports nothing
from the app.

The stage lifecycle::

    draft ──► scheduled ──► open ──► closed ──► previewed ──► finalized
      │  ◄──────┘            ▲         ▲            │  ▲ (re-preview)
      └──────────────────────┘         └────────────┘──┘

- ``draft → scheduled``: the opening and closing times are set; the beat task opens it.
- ``scheduled → draft``: unschedule (the beat task will leave it alone).
- ``draft → open``: an admin may open a stage at once without scheduling it first (the
  demo and a stage started by hand at a venue need this). Every guard of opening applies.
- ``open → closed``: by hand or by the beat task at ``closes_at``. There is no way back:
  votes cast after a close would be contested, so a stage closed too early is fixed by a
  new stage, not by reopening.
- ``closed → previewed``: results are computed and stored (unfrozen).
- ``previewed → previewed``: re-preview, recomputing after e.g. a fraud invalidation.
- ``previewed → closed``: discard the preview (to change rules with a reason, then preview
  again).
- ``previewed → finalized``: results frozen, qualifiers advanced. Terminal.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")


class StageKind(models.TextChoices):
    CUSTOMER_VOTE = "customer_vote", _("Customer vote")
    LIVE_CONTEST = "live_contest", _("Live contest")
    EVALUATION = "evaluation", _("Evaluation-based")


class StageStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    PREVIEWED = "previewed", _("Results previewed")
    FINALIZED = "finalized", _("Finalised")


STAGE_TRANSITIONS: dict[str, frozenset[str]] = {
    StageStatus.DRAFT: frozenset({StageStatus.SCHEDULED, StageStatus.OPEN}),
    StageStatus.SCHEDULED: frozenset({StageStatus.DRAFT, StageStatus.OPEN}),
    StageStatus.OPEN: frozenset({StageStatus.CLOSED}),
    StageStatus.CLOSED: frozenset({StageStatus.PREVIEWED}),
    StageStatus.PREVIEWED: frozenset(
        {StageStatus.PREVIEWED, StageStatus.CLOSED, StageStatus.FINALIZED}
    ),
    StageStatus.FINALIZED: frozenset(),
}

# Stages whose rules may change freely; later ones need a reason, a finalised one never.
RULES_EDITABLE_STATUSES = frozenset({StageStatus.DRAFT, StageStatus.SCHEDULED})
# Stages that may still take contestants by enrolment.
ENROLMENT_STATUSES = frozenset({StageStatus.DRAFT, StageStatus.SCHEDULED})


class ContestantStatus(models.TextChoices):
    IN = "in", _("In the running")
    ADVANCED = "advanced", _("Advanced")
    ELIMINATED = "eliminated", _("Eliminated")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Visibility(models.TextChoices):
    COUNTS = "counts", _("Counts shown")
    RANKS_ONLY = "ranks_only", _("Ranks only")
    HIDDEN_FINAL_HOURS = "hidden_final_hours", _("Hidden in the final hours")


class ComponentKey(models.TextChoices):
    """Score components a stage can weight. Providers register under these keys."""

    WEB_VOTES = "web_votes", _("Web votes")
    SMS_VOTES = "sms_votes", _("SMS votes")
    AUDIENCE_VOTES = "audience_votes", _("Audience votes")
    JUDGE_SCORE = "judge_score", _("Judge score")
    SATISFACTION = "satisfaction", _("Customer satisfaction")
    KPI_SCORE = "kpi_score", _("Call-centre KPI score")
    INSPECTION_SCORE = "inspection_score", _("Store inspection score")


# The channel whose subtotal (raw votes) a vote component feeds, shown beside the total.
COMPONENT_CHANNELS: dict[str, str] = {
    ComponentKey.WEB_VOTES: "web",
    ComponentKey.SMS_VOTES: "sms",
    ComponentKey.AUDIENCE_VOTES: "audience",
}


class ResultOutcome(models.TextChoices):
    QUALIFIED = "qualified", _("Qualified")
    RESERVE = "reserve", _("Reserve")
    ELIMINATED = "eliminated", _("Eliminated")
    TIED_AT_CUT = "tied_at_cut", _("Tied at the cut line")


class AuditAction(models.TextChoices):
    """Audit actions owned by the campaigns app (``<app>.<noun>.<past_verb>``)."""

    CAMPAIGN_CREATED = "campaigns.campaign.created", _("Campaign created")
    STAGE_SCHEDULED = "campaigns.stage.scheduled", _("Stage scheduled")
    STAGE_UNSCHEDULED = "campaigns.stage.unscheduled", _("Stage unscheduled")
    STAGE_OPENED = "campaigns.stage.opened", _("Stage opened")
    STAGE_CLOSED = "campaigns.stage.closed", _("Stage closed")
    STAGE_PREVIEWED = "campaigns.stage.previewed", _("Stage results previewed")
    STAGE_PREVIEW_DISCARDED = (
        "campaigns.stage.preview_discarded",
        _("Stage results preview discarded"),
    )
    STAGE_FINALIZED = "campaigns.stage.finalized", _("Stage finalised")
    RULES_CHANGED = "campaigns.stage.rules_changed", _("Stage rules changed")
    TIE_RESOLVED = "campaigns.tie.resolved", _("Tie at the cut line resolved")
    CONTESTANTS_ENROLLED = "campaigns.contestant.enrolled", _("Contestants enrolled")
    CONTESTANT_WITHDRAWN = "campaigns.contestant.withdrawn", _("Contestant withdrawn")
    CONTESTANT_PROMOTED = "campaigns.contestant.promoted", _("Reserve promoted")


# The audit action of each allowed stage move; a test checks it covers STAGE_TRANSITIONS.
STAGE_TRANSITION_ACTIONS: dict[tuple[str, str], str] = {
    (StageStatus.DRAFT, StageStatus.SCHEDULED): AuditAction.STAGE_SCHEDULED,
    (StageStatus.DRAFT, StageStatus.OPEN): AuditAction.STAGE_OPENED,
    (StageStatus.SCHEDULED, StageStatus.DRAFT): AuditAction.STAGE_UNSCHEDULED,
    (StageStatus.SCHEDULED, StageStatus.OPEN): AuditAction.STAGE_OPENED,
    (StageStatus.OPEN, StageStatus.CLOSED): AuditAction.STAGE_CLOSED,
    (StageStatus.CLOSED, StageStatus.PREVIEWED): AuditAction.STAGE_PREVIEWED,
    (StageStatus.PREVIEWED, StageStatus.PREVIEWED): AuditAction.STAGE_PREVIEWED,
    (StageStatus.PREVIEWED, StageStatus.CLOSED): AuditAction.STAGE_PREVIEW_DISCARDED,
    (StageStatus.PREVIEWED, StageStatus.FINALIZED): AuditAction.STAGE_FINALIZED,
}
