"""The demo campaign: ``campaigns.demo.seed_demo_campaign`` and its part of ``seed_demo``."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from campaigns.choices import AuditAction, CampaignStatus, ContestantStatus, StageStatus
from campaigns.demo import DEMO_CAMPAIGN_NAME, seed_demo_campaign
from campaigns.models import Campaign, Contestant
from staff.demo import seed_demo_directory
from staff.models import AuditEvent, StaffMember

pytestmark = pytest.mark.django_db


def test_seed_demo_campaign_opens_stage_1_for_every_active_member():
    seed_demo_directory(staff_count=60)
    StaffMember.objects.filter(employee_no="100001").update(is_active=False)
    before = timezone.now()

    campaign = seed_demo_campaign()

    after = timezone.now()
    assert (campaign.name, campaign.status) == (DEMO_CAMPAIGN_NAME, CampaignStatus.RUNNING)
    stages = list(campaign.stages.order_by("order"))
    assert [(s.order, s.status, s.quota) for s in stages] == [
        (1, StageStatus.OPEN, 70),
        (2, StageStatus.DRAFT, 23),
        (3, StageStatus.DRAFT, 10),
    ]
    first, second, third = stages
    assert before - dt.timedelta(days=21) <= first.opens_at <= after - dt.timedelta(days=21)
    assert campaign.starts_on == timezone.localdate(first.opens_at)
    assert before + dt.timedelta(days=30) <= first.closes_at <= after + dt.timedelta(days=30)
    assert first.closes_at < second.opens_at < second.closes_at < third.opens_at < third.closes_at
    enrolled = set(
        Contestant.objects.filter(stage=first, status=ContestantStatus.IN).values_list(
            "staff_member__employee_no", flat=True
        )
    )
    assert enrolled == set(StaffMember.objects.active().values_list("employee_no", flat=True))
    assert len(enrolled) == 59
    assert Contestant.objects.exclude(stage=first).count() == 0
    actions = list(
        AuditEvent.objects.filter(campaign_id=campaign.pk)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        AuditAction.CAMPAIGN_CREATED,
        AuditAction.RULES_CHANGED,
        AuditAction.RULES_CHANGED,
        AuditAction.RULES_CHANGED,
        AuditAction.CONTESTANTS_ENROLLED,
        AuditAction.STAGE_OPENED,
    ]


def test_seed_demo_campaign_twice_creates_nothing():
    seed_demo_directory(staff_count=30)
    campaign = seed_demo_campaign()
    counts = (Campaign.objects.count(), Contestant.objects.count(), AuditEvent.objects.count())

    again = seed_demo_campaign()

    assert again.pk == campaign.pk
    assert (Campaign.objects.count(), Contestant.objects.count(), AuditEvent.objects.count()) == (
        counts
    )


def test_seed_demo_campaign_leaves_stage_1_a_draft_without_staff():
    campaign = seed_demo_campaign()

    first = campaign.stages.get(order=1)
    assert (campaign.status, first.status, first.contestants.count()) == (
        CampaignStatus.DRAFT,
        StageStatus.DRAFT,
        0,
    )
    assert first.opens_at is not None


def test_seed_demo_command_seeds_7000_staff_into_the_open_campaign(settings):
    settings.DEBUG = True
    out = io.StringIO()

    with translation.override("en"):
        call_command("seed_demo", "--votes", "0", "--quiet", stdout=out)

    campaign = Campaign.objects.get()
    first = campaign.stages.get(order=1)
    assert first.status == StageStatus.OPEN
    assert first.contestants.count() == 7000
    lines = out.getvalue().splitlines()
    assert lines[1] == f"Campaign: {DEMO_CAMPAIGN_NAME}; stage 1 Open with 7000 contestants."
    assert f"  Campaign:     http://127.0.0.1:8000/campaigns/{campaign.pk}/" in lines
