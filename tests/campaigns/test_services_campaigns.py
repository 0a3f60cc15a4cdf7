"""The campaign template, enrolment and rule changes."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.choices import (
    AuditAction,
    CampaignStatus,
    ComponentKey,
    StageKind,
    StageStatus,
    Visibility,
)
from campaigns.exceptions import CampaignError, InvalidRulesError, StageGuardError
from campaigns.models import Contestant, Stage
from campaigns.services.campaign_template import create_campaign_from_template
from campaigns.services.contestants import enrol_contestants
from campaigns.services.rules import update_stage_rules
from campaigns.validators import weighted_channels
from staff.models import AuditEvent
from tests.factories.campaigns import StageFactory
from tests.factories.staff import StaffMemberFactory

pytestmark = pytest.mark.django_db


def test_template_creates_the_three_stage_campaign(admin_user):
    campaign = create_campaign_from_template(
        name="满意100服务明星 2026", actor=admin_user, starts_on=dt.date(2026, 3, 1)
    )

    stages = list(campaign.stages.order_by("order"))
    assert [(s.order, s.kind, s.quota, s.status) for s in stages] == [
        (1, StageKind.EVALUATION, 70, StageStatus.DRAFT),
        (2, StageKind.LIVE_CONTEST, 23, StageStatus.DRAFT),
        (3, StageKind.CUSTOMER_VOTE, 10, StageStatus.DRAFT),
    ]
    assert [s.weights for s in stages] == [
        {ComponentKey.SATISFACTION: "0.6", ComponentKey.SMS_VOTES: "0.4"},
        {ComponentKey.JUDGE_SCORE: "0.7", ComponentKey.AUDIENCE_VOTES: "0.3"},
        {ComponentKey.WEB_VOTES: "0.5", ComponentKey.SMS_VOTES: "0.5"},
    ]
    assert [(s.visibility, s.hide_final_hours) for s in stages] == [
        (Visibility.RANKS_ONLY, 0),
        (Visibility.RANKS_ONLY, 0),
        (Visibility.HIDDEN_FINAL_HOURS, 24),
    ]
    assert all(s.tie_break_order and s.name for s in stages)
    assert (campaign.status, campaign.ends_on) == (CampaignStatus.DRAFT, dt.date(2026, 10, 27))
    event = AuditEvent.objects.get()
    assert (event.action, event.campaign_id, event.data) == (
        AuditAction.CAMPAIGN_CREATED,
        campaign.pk,
        {"template": "satisfied_100", "quotas": [70, 23, 10]},
    )
    for stage in stages:
        stage.full_clean()


def test_enrol_takes_every_active_staff_member_once(admin_user):
    stage = StageFactory(order=1)
    active = StaffMemberFactory.create_batch(3)
    StaffMemberFactory(is_active=False)

    first = enrol_contestants(stage, actor=admin_user)
    again = enrol_contestants(stage, actor=admin_user)

    assert (first, again) == (3, 0)
    assert set(Contestant.objects.values_list("staff_member_id", flat=True)) == {
        m.pk for m in active
    }
    assert [e.data for e in AuditEvent.objects.order_by("id")] == [{"added": 3}, {"added": 0}]


def test_enrol_by_ids_or_queryset(admin_user):
    stage = StageFactory(order=1)
    a, b, _c = StaffMemberFactory.create_batch(3)

    enrol_contestants(stage, staff_ids=[a.pk], actor=admin_user)
    enrol_contestants(stage, staff_qs=type(b).objects.filter(pk__in=[b.pk, a.pk]), actor=admin_user)

    assert set(Contestant.objects.values_list("staff_member_id", flat=True)) == {a.pk, b.pk}


def test_enrolment_closes_when_the_stage_opens(admin_user):
    stage = StageFactory(order=1, open=True)
    StaffMemberFactory()

    with pytest.raises(StageGuardError) as excinfo:
        enrol_contestants(stage, actor=admin_user)

    assert excinfo.value.code == "enrolment_closed"
    assert Contestant.objects.count() == 0


def test_rules_change_freely_before_opening_and_are_audited(admin_user):
    stage = StageFactory(order=1, quota=2)

    update_stage_rules(
        stage,
        changes={"quota": 3, "position_quotas": {"clerk": 2, "agent": 1}},
        actor=admin_user,
    )

    stage.refresh_from_db()
    assert (stage.quota, stage.position_quotas) == (3, {"clerk": 2, "agent": 1})
    assert AuditEvent.objects.get().data == {
        "status": StageStatus.DRAFT,
        "before": {"quota": 2, "position_quotas": {}},
        "after": {"quota": 3, "position_quotas": {"clerk": 2, "agent": 1}},
    }


def test_rules_of_an_open_stage_need_a_reason(admin_user):
    stage = StageFactory(order=1, open=True, quota=2)

    with pytest.raises(StageGuardError) as excinfo:
        update_stage_rules(stage, changes={"quota": 5}, actor=admin_user)

    assert excinfo.value.code == "rules_locked"
    assert Stage.objects.get(pk=stage.pk).quota == 2
    assert AuditEvent.objects.count() == 0


def test_rules_of_an_open_stage_change_with_a_reason_recorded(admin_user):
    closes = timezone.now() + dt.timedelta(days=3)
    stage = StageFactory(order=1, open=True)

    update_stage_rules(
        stage, changes={"closes_at": closes}, actor=admin_user, reason="Typhoon: extend by a day"
    )

    event = AuditEvent.objects.get()
    assert (event.action, event.reason, event.data) == (
        AuditAction.RULES_CHANGED,
        "Typhoon: extend by a day",
        {
            "status": StageStatus.OPEN,
            "before": {"closes_at": None},
            "after": {"closes_at": closes.isoformat()},
        },
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"position_quotas": {"clerk": 1}},
            "Per-position quotas add up to 1 but the stage quota is 2.",
        ),
        (
            {"weights": {"web_votes": 0.5, "sms_votes": 0.5}},
            'Write weights as decimal strings, e.g. "0.5".',
        ),
        ({"weights": {"likes": "1"}}, "Unknown score component: likes."),
        (
            {"tie_break_order": ["sms_votes", "sms_votes"]},
            "A component appears twice in the tie-break order.",
        ),
        ({"status": "open"}, "These fields are not stage rules: status."),
    ],
)
def test_inconsistent_rules_are_refused_with_a_message(admin_user, changes, message, english):
    stage = StageFactory(order=1, quota=2)
    before = Stage.objects.filter(pk=stage.pk).values().get()

    with pytest.raises(InvalidRulesError) as excinfo:
        update_stage_rules(stage, changes=changes, actor=admin_user)

    assert (excinfo.value.code, str(excinfo.value.message)) == ("invalid_rules", message)
    assert Stage.objects.filter(pk=stage.pk).values().get() == before


def test_a_naive_time_is_refused(admin_user):
    stage = StageFactory(order=1)

    naive = dt.datetime(2026, 5, 1, 9)  # noqa: DTZ001 -- a naive time is the input under test

    with pytest.raises(InvalidRulesError):
        update_stage_rules(stage, changes={"opens_at": naive}, actor=admin_user)

    assert Stage.objects.get(pk=stage.pk).opens_at is None


def test_an_unchanged_rule_writes_nothing(admin_user):
    stage = StageFactory(order=1, quota=2)

    update_stage_rules(stage, changes={"quota": 2}, actor=admin_user)

    assert AuditEvent.objects.count() == 0


def test_a_previewed_stage_refuses_rule_changes(admin_user):
    stage = StageFactory(order=1, closed=True, status=StageStatus.PREVIEWED)

    with pytest.raises(CampaignError) as excinfo:
        update_stage_rules(stage, changes={"quota": 3}, actor=admin_user, reason="r")

    assert excinfo.value.code == "stage_previewed"


def test_template_stages_count_the_channels_of_the_seed_campaign(admin_user):
    campaign = create_campaign_from_template(
        name="模板", actor=admin_user, starts_on=dt.date(2026, 3, 1)
    )

    channels = {stage.order: weighted_channels(stage.weights) for stage in campaign.stages.all()}
    assert channels == {1: {"sms"}, 2: {"audience"}, 3: {"web", "sms"}}
