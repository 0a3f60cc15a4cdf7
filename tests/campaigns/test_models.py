"""Constraints and ``clean()`` of the campaigns models: what the database itself refuses."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.choices import ResultOutcome, StageStatus
from campaigns.models import Campaign, Contestant, Stage, StageResult
from tests.factories.campaigns import ContestantFactory, StageFactory, StageResultFactory

pytestmark = pytest.mark.django_db


def refused(queryset, **values) -> bool:
    try:
        with transaction.atomic():
            queryset.update(**values)
    except IntegrityError:
        return True
    return False


def test_statuses_outside_the_choices_are_refused_by_the_database():
    contestant = ContestantFactory()

    assert refused(Stage.objects.filter(pk=contestant.stage_id), status="paused")
    assert refused(Contestant.objects.filter(pk=contestant.pk), status="maybe")
    assert refused(Campaign.objects.filter(pk=contestant.stage.campaign_id), status="gone")


def test_a_finalized_stage_must_say_when():
    stage = StageFactory()

    assert refused(Stage.objects.filter(pk=stage.pk), status=StageStatus.FINALIZED)


def test_a_frozen_result_cannot_hold_an_unresolved_tie_or_lack_a_freeze_time():
    result = StageResultFactory(outcome=ResultOutcome.TIED_AT_CUT)
    rows = StageResult.objects.filter(pk=result.pk)

    assert refused(rows, is_frozen=True, frozen_at=timezone.now())
    assert refused(rows, is_frozen=True, outcome=ResultOutcome.QUALIFIED)
    assert not refused(
        rows, is_frozen=True, outcome=ResultOutcome.QUALIFIED, frozen_at=timezone.now()
    )


def test_a_stage_closes_after_it_opens_and_has_a_unique_order():
    stage = StageFactory(order=1)
    now = timezone.now()

    assert refused(Stage.objects.filter(pk=stage.pk), opens_at=now, closes_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        StageFactory(campaign=stage.campaign, order=1)


def test_a_staff_member_is_a_contestant_once_per_stage():
    contestant = ContestantFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        ContestantFactory(stage=contestant.stage, staff_member=contestant.staff_member)


def test_a_campaign_ends_after_it_starts():
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.create(
            name="x", starts_on=dt.date(2026, 5, 1), ends_on=dt.date(2026, 4, 1)
        )


def test_clean_checks_position_quotas_add_up_to_the_quota(english):
    stage = StageFactory.build(quota=70, position_quotas={"clerk": 40, "agent": 20, "manager": 5})

    with pytest.raises(ValidationError) as excinfo:
        stage.clean()

    assert excinfo.value.message_dict == {
        "position_quotas": ["Per-position quotas add up to 65 but the stage quota is 70."]
    }
