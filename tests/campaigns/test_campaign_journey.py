"""The whole 满意100 campaign, from the template to the ten winners, as an HR admin runs it.

Component values come from fake providers (the voting and judging apps are plug-ins of the
result engine); everything else — stages, contestants, results, audit — is the real thing.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns import selectors
from campaigns.choices import AuditAction, ComponentKey, ContestantStatus, StageStatus
from campaigns.components import VOTE_SHARE, score_range
from campaigns.models import Contestant, StageResult
from campaigns.services.campaign_template import create_campaign_from_template
from campaigns.services.contestants import enrol_contestants
from campaigns.services.rules import update_stage_rules
from campaigns.services.stages import close_stage, finalize_stage, open_stage, preview_stage
from staff.models import AuditEvent
from tests.factories.staff import StaffMemberFactory

pytestmark = pytest.mark.django_db


SCORED = {ComponentKey.SATISFACTION, ComponentKey.JUDGE_SCORE}


def _run_stage(stage, *, actor, values_by_key, fake_components):
    """Open, close, preview and finalise one stage with the given component values."""
    now = timezone.now()
    update_stage_rules(
        stage,
        changes={"opens_at": now - dt.timedelta(hours=1), "closes_at": now + dt.timedelta(days=1)},
        actor=actor,
    )
    open_stage(stage, actor=actor)
    contestants = list(Contestant.objects.filter(stage=stage).order_by("staff_member__employee_no"))
    close_stage(stage, actor=actor, reason="voting over")
    for key, value_of in values_by_key.items():
        fake_components.set(
            key,
            {c.pk: value_of(i) for i, c in enumerate(contestants)},
            scale=score_range(0, 10) if key in SCORED else VOTE_SHARE,
        )
    preview_stage(stage, actor=actor)
    finalize_stage(stage, actor=actor, reason="results checked by the committee")


def test_campaign_runs_from_template_to_ten_winners(fake_components, admin_user):
    staff = StaffMemberFactory.create_batch(90)
    campaign = create_campaign_from_template(
        name="满意100服务明星 2027", actor=admin_user, starts_on=dt.date(2027, 1, 1)
    )
    first, second, third = selectors.stages_for_campaign(campaign)
    enrol_contestants(first, actor=admin_user)

    # Stage 1: distinct satisfaction means and SMS votes, so no tie reaches the cut line.
    _run_stage(
        first,
        actor=admin_user,
        values_by_key={
            ComponentKey.SATISFACTION: lambda i: Decimal(100 - i) / 10,
            ComponentKey.SMS_VOTES: lambda i: 500 - i,
        },
        fake_components=fake_components,
    )
    # Stage 2: the judges reverse the order, the audience agrees with them.
    _run_stage(
        second,
        actor=admin_user,
        values_by_key={
            ComponentKey.JUDGE_SCORE: lambda i: Decimal(i) / 10,
            ComponentKey.AUDIENCE_VOTES: lambda i: i,
        },
        fake_components=fake_components,
    )
    stage_two_order = list(
        Contestant.objects.filter(stage=second).order_by("staff_member__employee_no")
    )
    _run_stage(
        third,
        actor=admin_user,
        values_by_key={ComponentKey.WEB_VOTES: lambda i: i, ComponentKey.SMS_VOTES: lambda i: i},
        fake_components=fake_components,
    )

    winners = list(selectors.winners_for_stage(third))
    first.refresh_from_db(), second.refresh_from_db(), third.refresh_from_db()
    assert [s.status for s in (first, second, third)] == [StageStatus.FINALIZED] * 3
    assert Contestant.objects.filter(stage=second).count() == 70
    assert Contestant.objects.filter(stage=third).count() == 23
    assert len(winners) == 10
    # Stage 1 kept the 70 best by satisfaction: the first 70 employee numbers.
    assert {c.staff_member_id for c in stage_two_order} == {
        m.pk for m in sorted(staff, key=lambda m: m.employee_no)[:70]
    }
    assert Contestant.objects.filter(stage=first, status=ContestantStatus.ADVANCED).count() == 70
    assert StageResult.objects.filter(stage__campaign=campaign, is_frozen=False).count() == 0
    actions = list(
        AuditEvent.objects.filter(campaign_id=campaign.pk)
        .order_by("occurred_at", "id")
        .values_list("action", flat=True)
    )
    per_stage = [
        AuditAction.RULES_CHANGED,
        AuditAction.STAGE_OPENED,
        AuditAction.STAGE_CLOSED,
        AuditAction.STAGE_PREVIEWED,
        AuditAction.STAGE_FINALIZED,
    ]
    assert actions[:2] == [AuditAction.CAMPAIGN_CREATED, AuditAction.CONTESTANTS_ENROLLED]
    assert [a for a in actions[2:] if a != AuditAction.CONTESTANTS_ENROLLED] == per_stage * 3
    finalised = AuditEvent.objects.filter(
        campaign_id=campaign.pk, action=AuditAction.STAGE_FINALIZED
    )
    assert {e.reason for e in finalised} == {"results checked by the committee"}
    assert {e.actor_label for e in finalised} == {"hr"}
