"""The tally outbox and its fold: every counted change is folded exactly once."""

from collections import Counter

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from staff import wakeups
from staff.phones import parse_phone
from tests.factories.campaigns import ContestantFactory, StageFactory
from tests.factories.voting import VoteFactory
from tests.race import run_together
from voting.choices import VoteChannel, VoteStatus
from voting.counting.recount import count_state
from voting.counting.tallies import counted_votes, fold_pending_tallies, fold_tally_events
from voting.exceptions import UnknownCandidateError
from voting.ledger.corrections import invalidate_votes, restore_votes
from voting.ledger.outbox import record_tally_events
from voting.ledger.services import cast_vote
from voting.models import Tally, TallyEvent, Vote
from voting.tasks import fold_tallies_task

pytestmark = pytest.mark.django_db

_numbers = iter(range(10**6))


def cast(stage, contestant, channel=VoteChannel.WEB):
    phone = parse_phone(f"198{next(_numbers):08d}")
    return cast_vote(
        stage,
        contestant=contestant,
        voter_hash=phone.hash,
        phone_masked=phone.masked,
        channel=channel,
    )


def tallies(stage) -> dict[tuple[int, str], int]:
    return {
        (row.contestant_id, row.channel): row.votes
        for row in Tally.objects.filter(stage=stage)
        if row.votes
    }


def ledger(stage) -> dict[tuple[int, str], int]:
    rows = Vote.objects.filter(stage=stage, status=VoteStatus.VALID).values_list(
        "contestant_id", "channel"
    )
    return dict(Counter(rows))


def test_cast_vote_writes_one_plus_one_event_with_the_vote(voting):
    result = cast(voting.stage, voting.alice, VoteChannel.SMS)

    assert list(TallyEvent.objects.values_list("vote_id", "stage_id", "contestant_id", "channel", "delta")) == [
        (result.vote_id, voting.stage.pk, voting.alice.pk, VoteChannel.SMS, 1)
    ]  # fmt: skip


def test_refused_vote_writes_no_event(voting):
    with pytest.raises(UnknownCandidateError):
        cast_vote(
            voting.stage,
            contestant_employee_no="9999",
            voter_hash=voting.voter.hash,
            phone_masked=voting.voter.masked,
            channel=VoteChannel.WEB,
        )

    assert TallyEvent.objects.count() == 0


def test_fold_adds_deltas_and_deletes_the_events(voting):
    for _ in range(3):
        cast(voting.stage, voting.alice)
    cast(voting.stage, voting.bob, VoteChannel.SMS)

    folded = fold_tally_events()

    assert folded == 4
    assert tallies(voting.stage) == {(voting.alice.pk, "web"): 3, (voting.bob.pk, "sms"): 1}
    assert TallyEvent.objects.count() == 0


def test_fold_increments_existing_tallies_rather_than_overwriting(voting):
    cast(voting.stage, voting.alice)
    fold_tally_events()
    cast(voting.stage, voting.alice)
    cast(voting.stage, voting.alice)

    fold_tally_events()

    assert tallies(voting.stage) == {(voting.alice.pk, "web"): 3}


def test_invalidate_and_restore_write_minus_and_plus_one(voting):
    ids = [cast(voting.stage, voting.alice).vote_id for _ in range(3)]
    fold_tally_events()

    invalidate_votes(ids[:2], actor=None, reason="Same IP block")
    invalidate_votes(ids[:2], actor=None, reason="Again")  # idempotent: no events
    assert sorted(TallyEvent.objects.values_list("vote_id", "delta")) == [
        (ids[0], -1),
        (ids[1], -1),
    ]
    fold_tally_events()
    assert tallies(voting.stage) == {(voting.alice.pk, "web"): 1}

    restore_votes([ids[0]], actor=None, reason="Reviewed: genuine")
    fold_tally_events()

    assert tallies(voting.stage) == {(voting.alice.pk, "web"): 2}
    assert tallies(voting.stage) == ledger(voting.stage)


def test_counted_votes_include_pending_events_in_one_query(voting, django_assert_num_queries):
    cast(voting.stage, voting.alice)
    fold_tally_events()
    cast(voting.stage, voting.alice)
    cast(voting.stage, voting.bob, VoteChannel.AUDIENCE)

    with django_assert_num_queries(1):
        counted = counted_votes(voting.stage)

    assert counted == {(voting.alice.pk, "web"): 2, (voting.bob.pk, "audience"): 1}
    assert counted == ledger(voting.stage)


def test_fold_pending_tallies_drains_in_batches(voting):
    for _ in range(5):
        cast(voting.stage, voting.bob)

    folded = fold_pending_tallies(batch_size=2, time_budget=60)

    assert folded == 5
    assert TallyEvent.objects.count() == 0
    assert tallies(voting.stage) == {(voting.bob.pk, "web"): 5}


def test_fold_pending_tallies_stops_when_the_time_budget_is_spent(voting):
    for _ in range(5):
        cast(voting.stage, voting.bob)

    folded = fold_pending_tallies(batch_size=2, time_budget=0)

    assert folded == 2
    assert TallyEvent.objects.count() == 3


def test_duplicate_task_delivery_changes_nothing(voting):
    for _ in range(4):
        cast(voting.stage, voting.alice)

    first = fold_tallies_task.apply().get()
    second = fold_tallies_task.apply().get()

    assert (first, second) == (4, 0)
    assert tallies(voting.stage) == {(voting.alice.pk, "web"): 4}


def test_events_of_other_stages_are_folded_into_their_own_tallies(voting):
    other = VoteFactory()
    record_tally_events(
        [(other.pk, other.stage_id, other.contestant_id, other.channel, False)], delta=1
    )
    cast(voting.stage, voting.alice)

    fold_tally_events()

    assert tallies(other.stage) == {(other.contestant_id, "web"): 1}
    assert tallies(voting.stage) == {(voting.alice.pk, "web"): 1}


def test_cast_vote_wakes_the_fold_on_commit(
    voting, sent_wakeups, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = cast(voting.stage, voting.alice)
        assert sent_wakeups == []

    for callback in callbacks:
        callback()
    assert sent_wakeups == ["voting.fold_tallies"]
    assert Vote.objects.filter(pk=result.vote_id).exists()


def test_cast_vote_survives_a_dead_broker(
    voting, settings, django_capture_on_commit_callbacks, caplog
):
    settings.WAKEUPS_ENABLED = True
    settings.WAKEUP_TIMEOUT = 0.2
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 0, "socket_connect_timeout": 0.2}
    wakeups.reset_wakeups()

    with django_capture_on_commit_callbacks(execute=True):
        result = cast(voting.stage, voting.alice)

    wakeups.reset_wakeups()
    assert Vote.objects.filter(pk=result.vote_id).exists()
    assert "wake-up of voting.fold_tallies failed" in caplog.text


# -- the invariant, for any interleaving ----------------------------------------------

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("cast"), st.integers(0, 2), st.sampled_from(VoteChannel.values)),
        st.tuples(st.just("invalidate"), st.integers(0, 50), st.just("")),
        st.tuples(st.just("restore"), st.integers(0, 50), st.just("")),
        st.tuples(st.just("fold"), st.integers(1, 4), st.just("")),
    ),
    max_size=25,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=OPERATIONS)
def test_tallies_equal_the_recount_for_any_interleaving(frozen_now, operations):
    stage = StageFactory(open=True, every_channel=True)
    contestants = ContestantFactory.create_batch(3, stage=stage)
    cast_ids: list[int] = []

    for operation, number, channel in operations:
        if operation == "cast":
            cast_ids.append(cast(stage, contestants[number], channel).vote_id)
        elif operation in {"invalidate", "restore"} and cast_ids:
            change = invalidate_votes if operation == "invalidate" else restore_votes
            change([cast_ids[number % len(cast_ids)]], actor=None, reason="hypothesis")
        elif operation == "fold":
            fold_tally_events(batch_size=number)
        # At every step: ledger == tally + pending (one consistent read).
        assert all(k.ledger == k.tally + k.pending for k in count_state(stage.pk).values())

    fold_pending_tallies(batch_size=1000, time_budget=60)
    assert tallies(stage) == ledger(stage)
    assert not TallyEvent.objects.filter(stage=stage).exists()


# -- concurrency, on PostgreSQL -------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_folds_never_double_count():
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED races need PostgreSQL (SQLite serialises all writers)")
    stage = StageFactory(open=True)
    contestants = ContestantFactory.create_batch(4, stage=stage)
    votes = [
        VoteFactory(stage=stage, contestant=contestants[i % 4], channel=VoteChannel.values[i % 3])
        for i in range(400)
    ]
    record_tally_events(
        [(v.pk, v.stage_id, v.contestant_id, v.channel, v.is_served) for v in votes], delta=1
    )
    folded = run_together([lambda: fold_pending_tallies(batch_size=7, time_budget=60)] * 4)

    assert sum(folded) == 400
    assert tallies(stage) == ledger(stage)
    assert TallyEvent.objects.count() == 0
