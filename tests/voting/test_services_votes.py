"""cast_vote: window, candidate, staff exclusion, limits, idempotency; invalidate/restore."""

import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from campaigns.choices import ContestantStatus, StageStatus
from campaigns.clock import local_day
from campaigns.models import Stage
from staff.audit import ReasonError
from staff.models import AuditEvent
from staff.phones import parse_phone
from tests.factories.campaigns import ContestantFactory, StageFactory
from tests.factories.staff import StaffMemberFactory, UserFactory
from tests.factories.voting import VoteFactory
from tests.voting.conftest import finalise, set_limits
from voting.choices import AuditAction, LimitKind, VoteChannel, VoteStatus
from voting.exceptions import (
    IdempotencyConflictError,
    LimitReachedError,
    StaffCannotVoteError,
    StageClosedError,
    StageFrozenError,
    UnknownCandidateError,
    UnknownStageError,
)
from voting.ledger import services as ledger_services
from voting.ledger import sql as ledger_sql
from voting.ledger.corrections import invalidate_votes, restore_votes
from voting.ledger.rules import window_open
from voting.ledger.services import cast_vote
from voting.models import TallyEvent, Vote, Voter

pytestmark = pytest.mark.django_db


def cast(setup, employee_no="1234", *, voter=None, **kwargs):
    voter = voter or setup.voter
    kwargs.setdefault("channel", VoteChannel.WEB)
    return cast_vote(
        setup.stage,
        contestant_employee_no=employee_no,
        voter_hash=voter.hash,
        phone_masked=voter.masked,
        **kwargs,
    )


def test_cast_vote_writes_one_ledger_row_by_the_database_clock(voting, frozen_now):
    result = cast(voting, ip="10.0.0.1", user_agent="Mozilla/5.0")

    vote = Vote.objects.get()
    assert (vote.pk, vote.receipt_code) == (result.vote_id, result.receipt_code)
    assert vote.contestant == voting.alice
    assert vote.voter_hash == voting.voter.hash
    assert vote.phone_masked == "138****5678"
    assert vote.channel == VoteChannel.WEB
    assert vote.status == VoteStatus.VALID
    assert vote.cast_at == frozen_now
    assert vote.local_day == local_day(frozen_now)
    assert len(vote.ip_hash) == len(vote.user_agent_hash) == 64
    assert "10.0.0.1" not in vote.ip_hash
    assert (result.remaining_today, result.remaining_stage, result.replayed) == (None, None, False)
    assert Voter.objects.filter(voter_hash=voting.voter.hash).count() == 1


def test_cast_vote_statement_count(voting, django_assert_num_queries):
    # PostgreSQL: the voter lock and one SELECT of everything decided on (the stage's
    # weights and the served-customer question included, campaigns.served.served_sql) in
    # one round trip, one INSERT of the vote and its tally event, inside the test's
    # savepoint (bench: BEGIN/COMMIT). SQLite keeps the ORM path: the lock, a query per
    # fact, the lookup, the vote in a savepoint, the event.
    cast(voting)

    with django_assert_num_queries(4 if connection.vendor == "postgresql" else 12):
        cast(voting, "5678")

    assert Vote.objects.count() == 2


def test_a_receipt_collision_draws_another_code_and_writes_one_event(voting, monkeypatch):
    taken = cast(voting).receipt_code
    codes = iter([taken, "ZZZZZZZZZZ"])
    # The random draw is the boundary here: the first draw repeats a stored code.
    for module in (ledger_sql, ledger_services):
        monkeypatch.setattr(module, "new_receipt_code", lambda: next(codes))

    result = cast(voting, "5678")

    assert result.receipt_code == "ZZZZZZZZZZ"
    assert Vote.objects.get(pk=result.vote_id).receipt_code == "ZZZZZZZZZZ"
    assert sorted(TallyEvent.objects.values_list("vote_id", flat=True)) == sorted(
        Vote.objects.values_list("pk", flat=True)
    )


def test_receipt_codes_use_the_unambiguous_alphabet(voting):
    codes = {cast(voting).receipt_code for _ in range(20)}

    assert len(codes) == 20
    assert all(len(code) == 10 and not set(code) & set("ILOU") for code in codes)


@pytest.mark.parametrize(
    ("offset_open", "offset_close", "counted"),
    [
        pytest.param(dt.timedelta(seconds=1), dt.timedelta(days=1), False, id="1s-before-open"),
        pytest.param(dt.timedelta(0), dt.timedelta(days=1), True, id="exactly-at-open"),
        pytest.param(-dt.timedelta(days=1), dt.timedelta(seconds=1), True, id="1s-before-close"),
        pytest.param(-dt.timedelta(days=1), dt.timedelta(0), False, id="exactly-at-close"),
        pytest.param(-dt.timedelta(days=1), -dt.timedelta(seconds=1), False, id="after-close"),
    ],
)
def test_stage_window_is_open_inclusive_and_close_exclusive_by_db_time(
    voting, frozen_now, offset_open, offset_close, counted
):
    Stage.objects.filter(pk=voting.stage.pk).update(
        opens_at=frozen_now + offset_open, closes_at=frozen_now + offset_close
    )

    if counted:
        cast(voting)
        assert Vote.objects.count() == 1
    else:
        with pytest.raises(StageClosedError) as excinfo:
            cast(voting)
        assert excinfo.value.code == "stage_closed"
        assert Vote.objects.count() == 0


@pytest.mark.parametrize("status", [StageStatus.SCHEDULED, StageStatus.CLOSED, StageStatus.DRAFT])
def test_cast_vote_refuses_a_stage_that_is_not_open(voting, status):
    Stage.objects.filter(pk=voting.stage.pk).update(status=status)

    with pytest.raises(StageClosedError):
        cast(voting)

    assert Vote.objects.count() == 0


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the app clock is the DB clock on SQLite"
)
def test_window_follows_the_database_clock_not_a_skewed_app_clock(voting, frozen_now):
    Stage.objects.filter(pk=voting.stage.pk).update(closes_at=frozen_now + dt.timedelta(minutes=5))

    with time_machine.travel(frozen_now + dt.timedelta(minutes=10), tick=False):
        result = cast(voting)

    assert Vote.objects.get().pk == result.vote_id


def test_cast_vote_refuses_an_unknown_stage(voting):
    with pytest.raises(UnknownStageError):
        cast_vote(
            999_999,
            contestant_employee_no="1234",
            voter_hash=voting.voter.hash,
            phone_masked=voting.voter.masked,
            channel=VoteChannel.WEB,
        )

    assert Vote.objects.count() == 0


@pytest.mark.parametrize(
    "employee_no",
    ["9999", "9" * 40, "-1", "12.5", "", " ", "１２３４x", None, 12.0, True, [1234], {"a": 1}],
)
def test_cast_vote_refuses_unknown_or_malformed_candidates(voting, employee_no):
    with pytest.raises(UnknownCandidateError) as excinfo:
        cast(voting, employee_no)

    assert excinfo.value.code == "unknown_candidate"
    assert Vote.objects.count() == 0


def test_malformed_employee_numbers_are_refused_before_any_query(voting, django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(UnknownCandidateError):
        cast(voting, "9" * 40)


def test_full_width_employee_number_is_normalised(voting):
    cast(voting, "１２３４")

    assert Vote.objects.get().contestant == voting.alice


@pytest.mark.parametrize("status", [ContestantStatus.ELIMINATED, ContestantStatus.WITHDRAWN])
def test_cast_vote_refuses_a_contestant_no_longer_in_the_running(voting, status):
    voting.alice.status = status
    voting.alice.save(update_fields=["status"])

    with pytest.raises(UnknownCandidateError):
        cast(voting)


def test_cast_vote_refuses_a_contestant_of_another_stage(voting, frozen_now):
    other_stage = StageFactory(open=True)
    ContestantFactory(stage=other_stage, staff_member=StaffMemberFactory(employee_no="4321"))

    with pytest.raises(UnknownCandidateError):
        cast(voting, "4321")

    assert Vote.objects.count() == 0


@pytest.mark.parametrize("typed", ["13912345678", "+86 139 1234 5678", "0086-139-1234-5678"])
@pytest.mark.parametrize("is_active", [True, False])
def test_staff_cannot_vote_in_any_phone_format_active_or_not(voting, typed, is_active):
    StaffMemberFactory(phone="139 1234 5678", is_active=is_active)

    with pytest.raises(StaffCannotVoteError) as excinfo:
        cast(voting, voter=parse_phone(typed))

    assert excinfo.value.code == "staff_cannot_vote"
    assert Vote.objects.count() == 0


def test_day_limit_refuses_the_next_vote_and_says_which_limit(voting):
    set_limits(voting.stage, day=2)
    first = cast(voting)
    second = cast(voting, "5678")

    with pytest.raises(LimitReachedError) as excinfo:
        cast(voting)

    assert (first.remaining_today, second.remaining_today) == (1, 0)
    assert excinfo.value.code == "limit_reached"
    assert excinfo.value.limit == LimitKind.DAY
    assert str(excinfo.value.message) == (
        "You have used all 2 of your votes for today. New votes from midnight."
    )
    assert Vote.objects.count() == 2


def test_stage_limit_counts_across_days(voting, frozen_now):
    set_limits(voting.stage, day=5, stage_total=2)
    yesterday = frozen_now - dt.timedelta(days=1)
    VoteFactory(stage=voting.stage, contestant=voting.bob, phone="13812345678", cast_at=yesterday)
    result = cast(voting)

    with pytest.raises(LimitReachedError) as excinfo:
        cast(voting)

    assert (result.remaining_today, result.remaining_stage) == (0, 0)
    assert excinfo.value.limit == LimitKind.STAGE


def test_candidate_limit_leaves_other_candidates_open(voting):
    set_limits(voting.stage, candidate=1)
    cast(voting)

    with pytest.raises(LimitReachedError) as excinfo:
        cast(voting)
    cast(voting, "5678")

    assert excinfo.value.limit == LimitKind.CANDIDATE
    assert Vote.objects.count() == 2


def test_invalidated_votes_still_use_the_allowance(voting):
    set_limits(voting.stage, day=1)
    VoteFactory(stage=voting.stage, contestant=voting.bob, phone="13812345678", invalidated=True)

    with pytest.raises(LimitReachedError):
        cast(voting)


def test_limits_are_per_voter(voting):
    set_limits(voting.stage, day=1)
    cast(voting)

    cast(voting, voter=parse_phone("13800000001"))

    assert Vote.objects.count() == 2


SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (dt.datetime(2026, 5, 1, 23, 59, 59, 999999, tzinfo=SHANGHAI), dt.date(2026, 5, 1)),
        (dt.datetime(2026, 5, 2, 0, 0, 0, tzinfo=SHANGHAI), dt.date(2026, 5, 2)),
        # 16:00 UTC is already the next day in Shanghai; the server runs in UTC.
        (dt.datetime(2026, 5, 1, 15, 59, 59, tzinfo=dt.UTC), dt.date(2026, 5, 1)),
        (dt.datetime(2026, 5, 1, 16, 0, 0, tzinfo=dt.UTC), dt.date(2026, 5, 2)),
    ],
)
def test_local_day_turns_at_shanghai_midnight(moment, day):
    assert local_day(moment) == day


def test_day_limit_renews_at_shanghai_midnight(voting, frozen_now):
    set_limits(voting.stage, day=1)
    today = local_day(frozen_now)
    last_second_of_yesterday = dt.datetime.combine(
        today, dt.time(0, 0), tzinfo=SHANGHAI
    ) - dt.timedelta(microseconds=1)
    VoteFactory(
        stage=voting.stage,
        contestant=voting.alice,
        phone="13812345678",
        cast_at=last_second_of_yesterday,
    )

    result = cast(voting)

    assert Vote.objects.get(pk=result.vote_id).local_day == today
    assert result.remaining_today == 0
    with pytest.raises(LimitReachedError):
        cast(voting)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="moves the DB clock: SQLite only")
def test_day_limit_across_midnight_with_the_clock_moving(voting):
    set_limits(voting.stage, day=1)
    Stage.objects.filter(pk=voting.stage.pk).update(opens_at=None, closes_at=None)
    before = dt.datetime(2026, 5, 1, 23, 59, 59, 999000, tzinfo=SHANGHAI)

    with time_machine.travel(before, tick=False):
        cast(voting)
        with pytest.raises(LimitReachedError):
            cast(voting)
    with time_machine.travel(before + dt.timedelta(milliseconds=1), tick=False):
        cast(voting)

    assert sorted(Vote.objects.values_list("local_day", flat=True)) == [
        dt.date(2026, 5, 1),
        dt.date(2026, 5, 2),
    ]


def test_idempotency_key_replays_the_original_result(voting):
    set_limits(voting.stage, day=3)
    first = cast(voting, idempotency_key="k-1")
    cast(voting, "5678")

    again = cast(voting, idempotency_key="k-1")

    assert Vote.objects.count() == 2
    assert (again.vote_id, again.receipt_code, again.remaining_today) == (
        first.vote_id,
        first.receipt_code,
        first.remaining_today,
    )
    assert again.replayed is True


def test_idempotency_key_replays_even_after_the_stage_closed(voting):
    first = cast(voting, idempotency_key="k-1")
    Stage.objects.filter(pk=voting.stage.pk).update(status=StageStatus.CLOSED)

    again = cast(voting, idempotency_key="k-1")

    assert again.vote_id == first.vote_id


def test_idempotency_key_for_another_candidate_is_a_conflict(voting):
    cast(voting, idempotency_key="k-1")

    with pytest.raises(IdempotencyConflictError) as excinfo:
        cast(voting, "5678", idempotency_key="k-1")

    assert excinfo.value.code == "idempotency_conflict"
    assert Vote.objects.count() == 1


def test_idempotency_keys_are_scoped_to_the_voter(voting):
    cast(voting, idempotency_key="same")

    cast(voting, voter=parse_phone("13800000001"), idempotency_key="same")

    assert Vote.objects.count() == 2


def test_provider_message_id_counts_once(voting):
    first = cast(voting, channel=VoteChannel.SMS, provider_message_id="m-1")

    again = cast(voting, channel=VoteChannel.SMS, provider_message_id="m-1")

    assert again.vote_id == first.vote_id
    assert Vote.objects.count() == 1


# invalidate / restore ----------------------------------------------------------------------


def test_invalidate_votes_changes_status_fields_and_audits_once(voting):
    hr = UserFactory(username="hr", hr_admin=True)
    votes = [VoteFactory(stage=voting.stage, contestant=voting.alice) for _ in range(3)]
    ids = [v.pk for v in votes]

    changed = invalidate_votes(ids, actor=hr, reason="One /24 within minutes")
    again = invalidate_votes(ids, actor=hr, reason="One /24 within minutes")

    assert changed == sorted(ids)
    assert again == []
    rows = Vote.objects.filter(pk__in=ids)
    assert {(v.status, v.invalidated_reason, v.invalidated_by_id) for v in rows} == {
        (VoteStatus.INVALIDATED, "One /24 within minutes", hr.pk)
    }
    event = AuditEvent.objects.get()
    assert event.action == AuditAction.VOTES_INVALIDATED == "voting.vote.invalidated"
    assert event.campaign_id == voting.stage.campaign_id
    assert event.data == {"vote_ids": sorted(ids), "count": 3}
    assert event.reason == "One /24 within minutes"
    assert event.actor == hr


def test_restore_votes_is_idempotent_and_audited(voting):
    votes = [VoteFactory(stage=voting.stage, contestant=voting.alice, invalidated=True)]
    valid = VoteFactory(stage=voting.stage, contestant=voting.alice)

    changed = restore_votes([votes[0].pk, valid.pk], actor=None, reason="Reviewed: fine")
    again = restore_votes([votes[0].pk], actor=None, reason="Reviewed: fine")

    assert (changed, again) == ([votes[0].pk], [])
    restored = Vote.objects.get(pk=votes[0].pk)
    assert (restored.status, restored.invalidated_reason, restored.invalidated_at) == (
        VoteStatus.VALID,
        "",
        None,
    )
    assert list(AuditEvent.objects.values_list("action", "actor_label")) == [
        (AuditAction.VOTES_RESTORED, "system")
    ]


def test_invalidation_writes_one_event_per_stage(voting):
    other = VoteFactory()
    mine = VoteFactory(stage=voting.stage, contestant=voting.alice)

    invalidate_votes([other.pk, mine.pk], actor=None, reason="Fraud")

    assert sorted(AuditEvent.objects.values_list("campaign_id", flat=True)) == sorted(
        [voting.stage.campaign_id, other.stage.campaign_id]
    )


@pytest.mark.parametrize("reason", ["", "   "])
def test_invalidation_needs_a_reason(voting, reason):
    vote = VoteFactory(stage=voting.stage, contestant=voting.alice)

    with pytest.raises(ReasonError) as excinfo:
        invalidate_votes([vote.pk], actor=None, reason=reason)

    assert excinfo.value.code == "reason_required"
    assert Vote.objects.get().status == VoteStatus.VALID
    assert AuditEvent.objects.count() == 0


def test_invalidation_reason_is_trimmed_normalised_and_bounded(voting):
    vote = VoteFactory(stage=voting.stage, contestant=voting.alice)

    with pytest.raises(ReasonError) as too_long:
        invalidate_votes([vote.pk], actor=None, reason="x" * 1001)
    invalidate_votes([vote.pk], actor=None, reason="  line one\r\nline two  ")

    assert too_long.value.code == "reason_too_long"
    assert Vote.objects.get().invalidated_reason == "line one\nline two"


FROZEN = "The results of this stage are final: its votes can no longer be changed."


@pytest.mark.parametrize("change", [invalidate_votes, restore_votes])
def test_votes_of_a_finalised_stage_are_frozen_for_the_service(voting, change):
    valid = VoteFactory(stage=voting.stage, contestant=voting.alice)
    invalid = VoteFactory(stage=voting.stage, contestant=voting.alice, invalidated=True)
    other = VoteFactory()  # an open stage's vote in the same call: all or nothing
    before = dict(Vote.objects.values_list("pk", "status"))
    finalise(voting.stage)

    with pytest.raises(StageFrozenError) as refused:
        change([other.pk, valid.pk, invalid.pk], actor=None, reason="late review")

    assert (refused.value.code, str(refused.value.message)) == ("stage_frozen", FROZEN)
    assert dict(Vote.objects.values_list("pk", "status")) == before
    assert AuditEvent.objects.count() == 0
    assert TallyEvent.objects.filter(delta=-1).count() == 0


def test_votes_of_a_finalised_stage_are_frozen_for_any_update(voting):
    vote = VoteFactory(stage=voting.stage, contestant=voting.alice)
    finalise(voting.stage)

    # The database trigger (migration vote_frozen_stage_trigger), behind the service's back.
    with pytest.raises(IntegrityError, match="stage_frozen"), transaction.atomic():
        Vote.objects.filter(pk=vote.pk).update(contestant=voting.bob)

    assert Vote.objects.get().contestant_id == voting.alice.pk


@pytest.mark.parametrize("status", [StageStatus.OPEN, StageStatus.CLOSED])
@pytest.mark.parametrize("opens", [None, -1, 0, 1])
@pytest.mark.parametrize("closes", [None, -1, 0, 1])
def test_window_rule_on_plain_values_is_the_stages_rule(frozen_now, status, opens, closes):
    def at(seconds):
        return None if seconds is None else frozen_now + dt.timedelta(seconds=seconds)

    stage = Stage(status=status, opens_at=at(opens), closes_at=at(closes))

    assert window_open(status, at(opens), at(closes), frozen_now) == (
        stage.accepts_entries_at(frozen_now) and (opens is None or at(opens) <= frozen_now)
    )
