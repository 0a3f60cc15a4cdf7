"""Preview, ties, finalising, withdrawals and reserves, end to end over fake providers."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns import selectors
from campaigns.choices import (
    AuditAction,
    CampaignStatus,
    ComponentKey,
    ContestantStatus,
    ResultOutcome,
    StageStatus,
)
from campaigns.exceptions import (
    InvalidTransitionError,
    ResultsFrozenError,
    StageGuardError,
)
from campaigns.models import Contestant, Stage, StageResult, TieResolution
from campaigns.services.advancement import promote_reserve
from campaigns.services.contestants import withdraw_contestant
from campaigns.services.results import resolve_tie
from campaigns.services.rules import update_stage_rules
from campaigns.services.stages import close_stage, finalize_stage, open_stage, preview_stage
from staff.audit import ReasonError
from staff.exceptions import DomainError
from staff.models import AuditEvent
from tests.factories.campaigns import ContestantFactory, StageFactory
from tests.factories.staff import PositionFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db

Q, R, T, E = (
    ResultOutcome.QUALIFIED,
    ResultOutcome.RESERVE,
    ResultOutcome.TIED_AT_CUT,
    ResultOutcome.ELIMINATED,
)


@pytest.fixture
def run(three_stages, admin_user, fake_components):
    """Stage 1 (quota 3, 2 reserves) opened and closed, its five contestants voted for."""
    campaign, stages, contestants = three_stages
    open_stage(stages[0], actor=admin_user)
    close_stage(stages[0], actor=admin_user)

    def votes(*web: int, sms: tuple[int, ...] = (0, 0, 0, 0, 0)) -> None:
        fake_components.set(ComponentKey.WEB_VOTES, dict(zip(ids, web, strict=True)))
        fake_components.set(ComponentKey.SMS_VOTES, dict(zip(ids, sms, strict=True)))

    ids = [c.id for c in contestants]
    return campaign, stages, contestants, votes


def outcomes(stage: Stage) -> dict[int, str]:
    return dict(StageResult.objects.filter(stage=stage).values_list("contestant_id", "outcome"))


def statuses(stage: Stage) -> dict[int, str]:
    return dict(Contestant.objects.filter(stage=stage).values_list("id", "status"))


def test_preview_stores_ranked_unfrozen_rows_with_channel_subtotals(run, admin_user):
    _campaign, (first, *_), c, votes = run
    votes(100, 80, 60, 40, 20, sms=(10, 10, 10, 0, 4))

    preview_stage(first, actor=admin_user)

    rows = list(selectors.results_for_stage(first))
    assert [(r.contestant_id, r.rank, r.outcome, r.is_frozen) for r in rows] == [
        (c[0].id, 1, Q, False),
        (c[1].id, 2, Q, False),
        (c[2].id, 3, Q, False),
        (c[4].id, 4, R, False),  # 10 + 20 beats 20 + 0
        (c[3].id, 5, R, False),
    ]
    assert (rows[3].web_votes, rows[3].sms_votes, rows[3].total) == (20, 4, Decimal("30.0000"))
    assert rows[0].components[ComponentKey.WEB_VOTES] == {
        "raw": "100",
        "normalised": "100.0000",
        "weight": "0.5",
        "weighted": "50.0000",
        "available": True,
    }
    event = AuditEvent.objects.filter(action=AuditAction.STAGE_PREVIEWED).get()
    assert event.data["summary"] == {
        "contestants": 5,
        "qualified": 3,
        "reserves": 2,
        "tie_groups": [],
        "overflow_groups": [],
        "shortfall": {},
        "unavailable": [],
    }


def test_finalize_freezes_results_and_advances_the_qualifiers(run, admin_user):
    _campaign, (first, second, _third), c, votes = run
    votes(100, 80, 60, 40, 20)
    preview_stage(first, actor=admin_user)

    finalize_stage(first, actor=admin_user, reason="confirmed by HR")

    assert set(StageResult.objects.filter(stage=first).values_list("is_frozen", flat=True)) == {
        True
    }
    assert statuses(first) == {
        c[0].id: ContestantStatus.ADVANCED,
        c[1].id: ContestantStatus.ADVANCED,
        c[2].id: ContestantStatus.ADVANCED,
        c[3].id: ContestantStatus.ELIMINATED,
        c[4].id: ContestantStatus.ELIMINATED,
    }
    assert set(
        Contestant.objects.filter(stage=second).values_list("staff_member_id", "status")
    ) == {
        (c[0].staff_member_id, ContestantStatus.IN),
        (c[1].staff_member_id, ContestantStatus.IN),
        (c[2].staff_member_id, ContestantStatus.IN),
    }
    assert AuditEvent.objects.get(action=AuditAction.STAGE_FINALIZED).data == {
        "from": StageStatus.PREVIEWED,
        "to": StageStatus.FINALIZED,
        "summary": {
            "advanced": 3,
            "eliminated": 2,
            "next_stage_id": second.pk,
            "enrolled_in_next_stage": 3,
        },
    }
    assert [r.contestant_id for r in selectors.winners_for_stage(first)] == [
        c[0].id,
        c[1].id,
        c[2].id,
    ]
    assert Stage.objects.get(pk=first.pk).campaign.status == CampaignStatus.RUNNING


def test_frozen_results_ignore_later_provider_changes_and_refuse_a_new_preview(run, admin_user):
    _campaign, (first, *_), _c, votes = run
    votes(100, 80, 60, 40, 20)
    preview_stage(first, actor=admin_user)
    finalize_stage(first, actor=admin_user)
    frozen = list(StageResult.objects.filter(stage=first).order_by("pk").values())

    votes(0, 0, 0, 0, 1000)
    with pytest.raises(InvalidTransitionError) as excinfo:
        preview_stage(first, actor=admin_user)

    assert excinfo.value.code == "invalid_transition"
    assert list(StageResult.objects.filter(stage=first).order_by("pk").values()) == frozen
    with pytest.raises(ResultsFrozenError):
        update_stage_rules(first, changes={"quota": 4}, actor=admin_user, reason="x")


def test_re_preview_recomputes_unfrozen_rows(run, admin_user):
    _campaign, (first, *_), c, votes = run
    votes(100, 80, 60, 40, 20)
    preview_stage(first, actor=admin_user)

    votes(100, 80, 60, 40, 90)  # e.g. after a fraud invalidation elsewhere
    preview_stage(first, actor=admin_user)

    assert outcomes(first) == {c[0].id: Q, c[4].id: Q, c[1].id: Q, c[2].id: R, c[3].id: R}
    assert StageResult.objects.filter(stage=first).count() == 5


def test_a_tie_at_the_cut_is_reported_and_an_admin_pick_is_recorded(run, admin_user):
    _campaign, (first, second, _), c, votes = run
    votes(100, 80, 60, 60, 20)
    preview_stage(first, actor=admin_user)
    assert outcomes(first) == {c[0].id: Q, c[1].id: Q, c[2].id: T, c[3].id: T, c[4].id: R}
    assert list(selectors.unresolved_ties(first)) == [""]

    resolution = resolve_tie(
        first,
        admit_all=False,
        chosen_contestant_ids=[c[3].id],
        actor=admin_user,
        reason="Better customer letters",
    )
    finalize_stage(first, actor=admin_user)

    assert outcomes(first) == {c[0].id: Q, c[1].id: Q, c[2].id: R, c[3].id: Q, c[4].id: R}
    assert (
        resolution.tied_contestant_ids,
        resolution.places,
        resolution.chosen_contestant_ids,
    ) == (
        sorted([c[2].id, c[3].id]),
        1,
        [c[3].id],
    )
    event = AuditEvent.objects.get(action=AuditAction.TIE_RESOLVED)
    assert (event.reason, event.data) == (
        "Better customer letters",
        {
            "position": "",
            "tied": sorted([c[2].id, c[3].id]),
            "places": 1,
            "admit_all": False,
            "chosen": [c[3].id],
        },
    )
    assert Contestant.objects.filter(stage=second).count() == 3


def test_admitting_everyone_tied_exceeds_the_quota(run, admin_user):
    _campaign, (first, second, _), _c, votes = run
    votes(100, 80, 60, 60, 20)
    preview_stage(first, actor=admin_user)

    resolve_tie(first, admit_all=True, actor=admin_user, reason="Both deserve it")
    finalize_stage(first, actor=admin_user)

    assert Contestant.objects.filter(stage=second).count() == 4


@pytest.mark.parametrize(
    ("chosen", "admit_all", "reason", "code"),
    [
        ([], False, "r", "bad_tie_choice"),
        (["both"], False, "r", "bad_tie_choice"),
        (["outsider"], False, "r", "bad_tie_choice"),
        (["one"], True, "r", "bad_tie_choice"),
        (["one"], False, "  ", "reason_required"),
    ],
)
def test_a_bad_tie_decision_is_refused_and_changes_nothing(
    run, admin_user, chosen, admit_all, reason, code
):
    _campaign, (first, *_), c, votes = run
    votes(100, 80, 60, 60, 20)
    preview_stage(first, actor=admin_user)
    before = outcomes(first)
    ids = {"both": [c[2].id, c[3].id], "one": [c[2].id], "outsider": [c[4].id]}

    with pytest.raises(DomainError) as excinfo:
        resolve_tie(
            first,
            admit_all=admit_all,
            chosen_contestant_ids=[i for key in chosen for i in ids[key]],
            actor=admin_user,
            reason=reason,
        )

    assert excinfo.value.code == code
    assert outcomes(first) == before
    assert TieResolution.objects.count() == 0


def test_overflow_stage_admits_the_whole_tie_without_asking(run, admin_user):
    _campaign, (first, second, _), c, votes = run
    Stage.objects.filter(pk=first.pk).update(allow_tie_overflow=True)
    votes(100, 80, 60, 60, 20)

    preview_stage(first, actor=admin_user)
    finalize_stage(first, actor=admin_user)

    assert outcomes(first) == {c[0].id: Q, c[1].id: Q, c[2].id: Q, c[3].id: Q, c[4].id: R}
    assert Contestant.objects.filter(stage=second).count() == 4


def test_withdrawal_then_promotion_gives_the_place_to_the_next_reserve(run, admin_user):
    _campaign, (first, second, _), c, votes = run
    votes(100, 80, 60, 40, 20)
    preview_stage(first, actor=admin_user)
    finalize_stage(first, actor=admin_user)
    frozen = list(StageResult.objects.filter(stage=first).order_by("pk").values())

    withdraw_contestant(c[1], actor=admin_user, reason="Moved to another city")
    promoted = promote_reserve(first, actor=admin_user, reason="Next in line")

    assert promoted.pk == c[3].id
    assert statuses(first) == {
        c[0].id: ContestantStatus.ADVANCED,
        c[1].id: ContestantStatus.WITHDRAWN,
        c[2].id: ContestantStatus.ADVANCED,
        c[3].id: ContestantStatus.ADVANCED,
        c[4].id: ContestantStatus.ELIMINATED,
    }
    assert set(
        Contestant.objects.filter(stage=second).values_list("staff_member_id", "status")
    ) == {
        (c[0].staff_member_id, ContestantStatus.IN),
        (c[1].staff_member_id, ContestantStatus.WITHDRAWN),
        (c[2].staff_member_id, ContestantStatus.IN),
        (c[3].staff_member_id, ContestantStatus.IN),
    }
    assert list(StageResult.objects.filter(stage=first).order_by("pk").values()) == frozen
    assert [r.contestant_id for r in selectors.winners_for_stage(first)] == [
        c[0].id,
        c[2].id,
        c[3].id,
    ]
    withdrawn, promoted_event = AuditEvent.objects.filter(
        action__in=[AuditAction.CONTESTANT_WITHDRAWN, AuditAction.CONTESTANT_PROMOTED]
    ).order_by("id")
    assert (withdrawn.target_id, withdrawn.reason, withdrawn.data["to"]) == (
        str(c[1].id),
        "Moved to another city",
        ContestantStatus.WITHDRAWN,
    )
    assert (promoted_event.target_id, promoted_event.data["rank"]) == (str(c[3].id), 4)

    with pytest.raises(StageGuardError) as excinfo:
        promote_reserve(first, actor=admin_user, reason="again")
    assert excinfo.value.code == "no_vacancy"


def test_no_promotion_once_the_next_stage_is_open(run, admin_user):
    _campaign, (first, second, _), c, votes = run
    votes(100, 80, 60, 40, 20)
    preview_stage(first, actor=admin_user)
    finalize_stage(first, actor=admin_user)
    open_stage(second, actor=admin_user)

    with pytest.raises(StageGuardError) as withdraw_error:
        withdraw_contestant(c[1], actor=admin_user, reason="too late")
    with pytest.raises(StageGuardError) as promote_error:
        promote_reserve(first, actor=admin_user, reason="too late")

    assert (withdraw_error.value.code, promote_error.value.code) == (
        "withdrawal_not_allowed",
        "next_stage_started",
    )
    assert statuses(first)[c[1].id] == ContestantStatus.ADVANCED


def test_withdrawing_needs_a_reason(run, admin_user):
    _campaign, (first, *_), c, _votes = run

    with pytest.raises(ReasonError) as excinfo:
        withdraw_contestant(c[0], actor=admin_user, reason="")

    assert excinfo.value.code == "reason_required"
    assert statuses(first)[c[0].id] == ContestantStatus.IN


def test_withdrawn_contestants_are_left_out_of_the_results(run, admin_user):
    _campaign, (first, *_), c, votes = run
    votes(100, 80, 60, 40, 20)
    withdraw_contestant(c[0], actor=admin_user, reason="Resigned")

    preview_stage(first, actor=admin_user)

    assert outcomes(first) == {c[1].id: Q, c[2].id: Q, c[3].id: Q, c[4].id: R}


def test_finalizing_the_last_stage_finishes_the_campaign(admin_user, fake_components):
    contestant = ContestantFactory(stage__order=1, stage__quota=1)
    stage = contestant.stage
    for move in (open_stage, close_stage, preview_stage):
        move(stage, actor=admin_user)

    finalize_stage(stage, actor=admin_user)

    assert Stage.objects.get(pk=stage.pk).campaign.status == CampaignStatus.FINISHED
    assert statuses(stage) == {contestant.id: ContestantStatus.ADVANCED}


def test_per_position_quotas_cut_each_position_and_ties_are_decided_per_position(
    admin_user, fake_components
):

    stage = StageFactory(order=1, quota=3, position_quotas={"clerk": 2, "agent": 1})
    clerk, agent = PositionFactory(code="clerk"), PositionFactory(code="agent")
    clerks = [
        ContestantFactory(stage=stage, staff_member=StaffMemberFactory(position=clerk))
        for _ in range(3)
    ]
    agents = [
        ContestantFactory(stage=stage, staff_member=StaffMemberFactory(position=agent))
        for _ in range(3)
    ]
    # The agents outscore every clerk, yet only one agent may go through.
    fake_components.set(
        ComponentKey.WEB_VOTES,
        {clerks[0].id: 10, clerks[1].id: 9, clerks[2].id: 1, **{a.id: 50 for a in agents}},
    )
    fake_components.set(ComponentKey.SMS_VOTES, {})
    for move in (open_stage, close_stage, preview_stage):
        move(stage, actor=admin_user)
    assert outcomes(stage) == {
        clerks[0].id: Q,
        clerks[1].id: Q,
        clerks[2].id: R,
        agents[0].id: T,
        agents[1].id: T,
        agents[2].id: T,
    }
    assert list(selectors.unresolved_ties(stage)) == ["agent"]

    with pytest.raises(StageGuardError) as excinfo:
        resolve_tie(
            stage,
            admit_all=False,
            chosen_contestant_ids=[agents[1].id],
            actor=admin_user,
            reason="r",
            position_code="clerk",
        )
    assert excinfo.value.code == "no_tie"
    resolve_tie(
        stage,
        admit_all=False,
        chosen_contestant_ids=[agents[1].id],
        actor=admin_user,
        reason="Judges' tie-break interview",
        position_code="agent",
    )
    finalize_stage(stage, actor=admin_user)

    assert {cid for cid, outcome in outcomes(stage).items() if outcome == Q} == {
        clerks[0].id,
        clerks[1].id,
        agents[1].id,
    }
    assert TieResolution.objects.get().position_code == "agent"


def test_a_stage_accepts_entries_only_while_open_and_before_its_closing_time():
    now = timezone.now()
    open_stage = StageFactory.build(
        status=StageStatus.OPEN, closes_at=now + dt.timedelta(seconds=1)
    )
    late = StageFactory.build(status=StageStatus.OPEN, closes_at=now)
    closed = StageFactory.build(status=StageStatus.CLOSED)

    assert [s.accepts_entries_at(now) for s in (open_stage, late, closed)] == [True, False, False]


def test_preview_shows_real_channel_subtotals_when_a_channel_is_not_weighted(
    three_stages, admin_user, fake_components
):
    _campaign, (first, *_), c = three_stages
    update_stage_rules(
        first,
        changes={"weights": {ComponentKey.SATISFACTION: "0.6", ComponentKey.SMS_VOTES: "0.4"}},
        actor=admin_user,
    )
    ids = [x.id for x in c]
    fake_components.set(
        ComponentKey.SATISFACTION, dict(zip(ids, (90, 80, 70, 60, 50), strict=True))
    )
    fake_components.set(ComponentKey.SMS_VOTES, dict(zip(ids, (5, 4, 3, 2, 1), strict=True)))
    fake_components.set(ComponentKey.WEB_VOTES, dict(zip(ids, (7352, 0, 9, 0, 1), strict=True)))
    open_stage(first, actor=admin_user)
    close_stage(first, actor=admin_user)

    preview_stage(first, actor=admin_user)

    rows = {r.contestant_id: r for r in selectors.results_for_stage(first)}
    assert [(rows[i].web_votes, rows[i].sms_votes, rows[i].audience_votes) for i in ids] == [
        (7352, 5, 0),
        (0, 4, 0),
        (9, 3, 0),
        (0, 2, 0),
        (1, 1, 0),
    ]
    assert ComponentKey.WEB_VOTES not in rows[ids[0]].components
