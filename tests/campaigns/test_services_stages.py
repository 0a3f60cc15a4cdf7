"""The stage state machine: every move of the table, its guards and its audit events."""

import datetime as dt
from decimal import Decimal
from itertools import product

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from campaigns.choices import (
    STAGE_TRANSITION_ACTIONS,
    STAGE_TRANSITIONS,
    AuditAction,
    CampaignStatus,
    ResultOutcome,
    StageStatus,
)
from campaigns.clock import db_now
from campaigns.exceptions import InvalidRulesError, InvalidTransitionError, StageGuardError
from campaigns.models import Stage, StageResult
from campaigns.services.stages import (
    discard_preview,
    finalize_stage,
    open_stage,
    preview_stage,
    schedule_stage,
    transition_stage,
)
from staff.models import AuditEvent
from tests.factories.campaigns import ContestantFactory, StageFactory, StageResultFactory

pytestmark = pytest.mark.django_db

TRAITS = {
    StageStatus.DRAFT: {},
    StageStatus.SCHEDULED: {"scheduled": True},
    StageStatus.OPEN: {"open": True},
    StageStatus.CLOSED: {"closed": True},
    StageStatus.PREVIEWED: {"closed": True, "status": StageStatus.PREVIEWED},
    StageStatus.FINALIZED: {"finalized": True},
}
ALL_MOVES = list(product(StageStatus.values, StageStatus.values))
ALLOWED = [(a, b) for a, b in ALL_MOVES if b in STAGE_TRANSITIONS[a]]
REFUSED = [(a, b) for a, b in ALL_MOVES if b not in STAGE_TRANSITIONS[a]]


def stage_in(status: str) -> Stage:
    """A first stage in ``status`` whose every guard is satisfied, with three contestants
    (and, once previewed, result rows without a tie)."""
    stage = StageFactory(order=1, timed=True, quota=2, **TRAITS[status])
    contestants = ContestantFactory.create_batch(3, stage=stage)
    if status == StageStatus.PREVIEWED:
        outcomes = [ResultOutcome.QUALIFIED, ResultOutcome.QUALIFIED, ResultOutcome.RESERVE]
        for rank, (contestant, outcome) in enumerate(zip(contestants, outcomes, strict=True), 1):
            StageResultFactory(
                stage=stage, contestant=contestant, rank=rank, position_rank=rank, outcome=outcome
            )
    return stage


def snapshot(stage: Stage) -> dict:
    return model_to_dict(Stage.objects.get(pk=stage.pk)) | {
        "status": Stage.objects.get(pk=stage.pk).status
    }


def test_every_allowed_move_has_an_audit_action():
    assert set(STAGE_TRANSITION_ACTIONS) == set(ALLOWED)


@pytest.mark.parametrize(("source", "target"), ALLOWED, ids=lambda s: str(s))
def test_every_allowed_move_works_and_is_audited(source, target, admin_user, fake_components):
    stage = stage_in(source)

    moved = transition_stage(stage, target, actor=admin_user, reason="as planned")

    assert (moved.status, Stage.objects.get(pk=stage.pk).status) == (target, target)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.reason, event.campaign_id, event.target_id) == (
        STAGE_TRANSITION_ACTIONS[(source, target)],
        admin_user,
        "as planned",
        stage.campaign_id,
        str(stage.pk),
    )
    assert (event.data["from"], event.data["to"]) == (source, target)


@pytest.mark.parametrize(("source", "target"), REFUSED, ids=lambda s: str(s))
def test_every_other_move_is_refused_and_changes_nothing(source, target, admin_user):
    stage = stage_in(source)
    before = snapshot(stage)
    results_before = list(StageResult.objects.values())

    with pytest.raises(InvalidTransitionError) as excinfo:
        transition_stage(stage, target, actor=admin_user)

    assert excinfo.value.code == "invalid_transition"
    assert snapshot(stage) == before
    assert list(StageResult.objects.values()) == results_before
    assert AuditEvent.objects.count() == 0


def test_the_refusal_names_both_statuses(admin_user, english):
    stage = stage_in(StageStatus.DRAFT)

    with pytest.raises(InvalidTransitionError) as excinfo:
        finalize_stage(stage, actor=admin_user)

    assert str(excinfo.value.message) == "A stage cannot go from “Draft” to “Finalised”."


def test_opening_stamps_the_time_audits_and_starts_the_campaign(admin_user):
    stage = stage_in(StageStatus.SCHEDULED)
    now = db_now()  # the clock that stamps the move (on PostgreSQL: this transaction's start)

    open_stage(stage, actor=admin_user, reason="launch")

    stage.refresh_from_db()
    assert stage.opened_at >= now
    assert stage.campaign.status == CampaignStatus.RUNNING
    event = AuditEvent.objects.get()
    assert (event.action, event.data) == (
        AuditAction.STAGE_OPENED,
        {"from": StageStatus.SCHEDULED, "to": StageStatus.OPEN},
    )


def test_a_stage_opens_only_after_the_previous_one_is_finalized(three_stages, admin_user):
    _campaign, (first, second, _third), _ = three_stages
    ContestantFactory(stage=second)
    open_stage(first, actor=admin_user)
    before = snapshot(second)

    with pytest.raises(StageGuardError) as excinfo:
        open_stage(second, actor=admin_user)

    assert excinfo.value.code == "previous_stage_not_finalized"
    assert snapshot(second) == before
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [AuditAction.STAGE_OPENED]


def test_a_stage_without_contestants_cannot_open(admin_user):
    stage = StageFactory(order=1)

    with pytest.raises(StageGuardError) as excinfo:
        open_stage(stage, actor=admin_user)

    assert excinfo.value.code == "no_contestants"
    assert Stage.objects.get(pk=stage.pk).status == StageStatus.DRAFT


def test_scheduling_needs_both_times(admin_user):
    stage = StageFactory(order=1, opens_at=timezone.now() + dt.timedelta(hours=1))

    with pytest.raises(StageGuardError) as excinfo:
        schedule_stage(stage, actor=admin_user)

    assert excinfo.value.code == "schedule_incomplete"
    assert Stage.objects.get(pk=stage.pk).status == StageStatus.DRAFT


def test_a_stage_whose_closing_time_passed_cannot_open(admin_user):
    stage = StageFactory(
        order=1,
        opens_at=timezone.now() - dt.timedelta(days=2),
        closes_at=timezone.now() - dt.timedelta(days=1),
    )
    ContestantFactory(stage=stage)

    with pytest.raises(StageGuardError) as excinfo:
        open_stage(stage, actor=admin_user)

    assert excinfo.value.code == "closes_at_passed"
    assert Stage.objects.get(pk=stage.pk).opened_at is None


def test_a_stage_with_an_unresolved_tie_cannot_be_finalized(admin_user):
    stage = stage_in(StageStatus.PREVIEWED)
    StageResult.objects.filter(stage=stage, rank__gte=2).update(outcome=ResultOutcome.TIED_AT_CUT)

    with pytest.raises(StageGuardError) as excinfo:
        finalize_stage(stage, actor=admin_user)

    assert excinfo.value.code == "unresolved_tie"
    assert Stage.objects.get(pk=stage.pk).status == StageStatus.PREVIEWED
    assert StageResult.objects.filter(stage=stage, is_frozen=True).count() == 0


def test_invalid_rules_refuse_opening(admin_user, english):
    stage = stage_in(StageStatus.DRAFT)
    Stage.objects.filter(pk=stage.pk).update(weights={"web_votes": "0.4"})

    with pytest.raises(InvalidRulesError) as excinfo:
        open_stage(stage, actor=admin_user)

    assert excinfo.value.code == "invalid_rules"
    assert str(excinfo.value.message) == "Component weights must add up to exactly 1."


def test_discarding_a_preview_deletes_its_rows(admin_user):
    stage = stage_in(StageStatus.PREVIEWED)

    discard_preview(stage, actor=admin_user, reason="weights were wrong")

    assert StageResult.objects.filter(stage=stage).count() == 0
    assert Stage.objects.get(pk=stage.pk).previewed_at is None
    assert AuditEvent.objects.get().data == {
        "from": StageStatus.PREVIEWED,
        "to": StageStatus.CLOSED,
        "discarded_results": 3,
    }


def test_preview_totals_are_decimal(admin_user, fake_components):
    stage = stage_in(StageStatus.CLOSED)

    preview_stage(stage, actor=admin_user)

    assert set(StageResult.objects.values_list("total", flat=True)) == {Decimal("0.0000")}
