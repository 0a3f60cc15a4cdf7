"""The three-stage Satisfied-100 Service Star campaign, created as drafts."""

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from campaigns.choices import AuditAction, ComponentKey, StageKind, Visibility
from campaigns.models import Campaign, Stage
from campaigns.services.rules import check_rules
from staff.services import Actor, record_audit_event

CAMPAIGN_TEMPLATE_DAYS = 240  # the real campaign ran about eight months


def _template_stages() -> list[dict[str, Any]]:
    """The three stages of the Satisfied-100 Service Star campaign."""
    return [
        {
            "order": 1,
            "name": _("Stage 1: customer evaluations (all staff → top 70)"),
            "kind": StageKind.EVALUATION,
            "quota": 70,
            "weights": {ComponentKey.SATISFACTION: "0.6", ComponentKey.SMS_VOTES: "0.4"},
            "tie_break_order": [ComponentKey.SATISFACTION, ComponentKey.SMS_VOTES],
            "votes_per_day": 1,
            "votes_per_stage": 0,
            "votes_per_candidate": 1,
            "visibility": Visibility.RANKS_ONLY,
        },
        {
            "order": 2,
            "name": _("Stage 2: live skills contest (70 → 23)"),
            "kind": StageKind.LIVE_CONTEST,
            "quota": 23,
            "weights": {ComponentKey.JUDGE_SCORE: "0.7", ComponentKey.AUDIENCE_VOTES: "0.3"},
            "tie_break_order": [ComponentKey.JUDGE_SCORE, ComponentKey.AUDIENCE_VOTES],
            "votes_per_day": 0,
            "votes_per_stage": 3,
            "votes_per_candidate": 1,
            "visibility": Visibility.RANKS_ONLY,
        },
        {
            "order": 3,
            "name": _("Stage 3: customer vote, web and SMS (23 → 10)"),
            "kind": StageKind.CUSTOMER_VOTE,
            "quota": 10,
            "weights": {ComponentKey.WEB_VOTES: "0.5", ComponentKey.SMS_VOTES: "0.5"},
            "tie_break_order": [ComponentKey.SMS_VOTES, ComponentKey.WEB_VOTES],
            "votes_per_day": 1,
            "votes_per_stage": 0,
            "votes_per_candidate": 0,
            "visibility": Visibility.HIDDEN_FINAL_HOURS,
            "hide_final_hours": 24,
        },
    ]


@transaction.atomic
def create_campaign_from_template(
    *, name: str, actor: Actor, starts_on: date, description: str = ""
) -> Campaign:
    """Create the three-stage Satisfied-100 campaign (70 → 23 → 10) as drafts.

    Stage names are written in the site's default language (Chinese first) whatever the
    admin's own language, since they are shown to the public. Times are left empty for
    the admin to set; every rule stays editable until a stage opens. Writes
    ``campaigns.campaign.created``. Returns the campaign.
    """
    with translation.override(settings.LANGUAGE_CODE):
        stage_specs = _template_stages()
        description = description or _(
            "All frontline staff compete; customers, judges and the audience choose the ten "
            "Service Stars."
        )
    campaign = Campaign.objects.create(
        name=name,
        description=description,
        starts_on=starts_on,
        ends_on=starts_on + timedelta(days=CAMPAIGN_TEMPLATE_DAYS),
    )
    for spec in stage_specs:
        stage = Stage(campaign=campaign, **spec)
        check_rules(stage)
        stage.save()
    record_audit_event(
        campaign,
        actor=actor,
        action=AuditAction.CAMPAIGN_CREATED,
        data={"template": "satisfied_100", "quotas": [s["quota"] for s in stage_specs]},
        campaign_id=campaign.pk,
    )
    return campaign
