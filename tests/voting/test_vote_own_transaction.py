"""``cast_vote`` on PostgreSQL outside any transaction (a web request) runs its own: BEGIN
with the voter lock and the read, COMMIT with the insert (``_cast_in_own_transaction``).
Whatever happens, no transaction is left open on the connection, and the wake-up is sent
only once the vote is committed."""

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext
from psycopg2.extensions import TRANSACTION_STATUS_IDLE

from staff import wakeups
from tests.factories.voting import VoteFactory
from tests.voting.conftest import set_limits
from voting.choices import VoteChannel
from voting.exceptions import LimitReachedError
from voting.ledger import services as ledger_services
from voting.ledger import sql as ledger_sql
from voting.ledger.outbox import FOLD_TASK
from voting.ledger.services import cast_vote
from voting.models import TallyEvent, Vote, Voter

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the folded transaction is PostgreSQL's"
    ),
]


def cast(setup, employee_no="1234", **kwargs):
    return cast_vote(
        setup.stage.pk,
        contestant_employee_no=employee_no,
        voter_hash=setup.voter.hash,
        phone_masked=setup.voter.masked,
        channel=VoteChannel.WEB,
        **kwargs,
    )


def no_transaction_open() -> bool:
    return connection.connection.info.transaction_status == TRANSACTION_STATUS_IDLE


def test_a_vote_commits_in_two_round_trips_then_wakes_the_fold(voting, sent_wakeups, monkeypatch):
    cast(voting, "5678")  # the statements prepared, the connection warm
    sent_wakeups.clear()
    wakeups.reset_wakeups()  # the first vote's wake-up would hold the second back
    seen_when_woken = []
    wake = ledger_services.wake_tally_fold
    monkeypatch.setattr(
        ledger_services,
        "wake_tally_fold",
        lambda: (seen_when_woken.append(no_transaction_open()), wake()),
    )

    with CaptureQueriesContext(connection) as queries:
        result = cast(voting)

    assert [q["sql"].split(" ", 1)[0] for q in queries] == ["BEGIN;", "EXECUTE"]
    assert queries[1]["sql"].endswith("; COMMIT")
    assert no_transaction_open()
    assert (seen_when_woken, sent_wakeups) == ([True], [FOLD_TASK])
    vote = Vote.objects.get(pk=result.vote_id)
    assert (vote.receipt_code, vote.contestant_id) == (result.receipt_code, voting.alice.pk)
    assert list(TallyEvent.objects.filter(vote=vote).values_list("delta", flat=True)) == [1]


def test_a_refusal_rolls_back_and_writes_nothing(voting, sent_wakeups):
    set_limits(voting.stage, day=1)
    VoteFactory(stage=voting.stage, contestant=voting.bob, phone="13812345678")
    Voter.objects.all().delete()  # the lock's first contact would insert the voter row
    sent_wakeups.clear()

    with pytest.raises(LimitReachedError):
        cast(voting)

    assert no_transaction_open()
    assert (Vote.objects.count(), Voter.objects.count(), sent_wakeups) == (1, 0, [])


def test_a_replayed_key_rolls_back_and_answers_the_original(voting):
    first = cast(voting, idempotency_key="k-1")

    again = cast(voting, idempotency_key="k-1")

    assert no_transaction_open()
    assert (again.vote_id, again.replayed, Vote.objects.count()) == (first.vote_id, True, 1)


def test_an_error_between_the_statements_rolls_back(voting, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("python failed between the read and the insert")

    monkeypatch.setattr(ledger_services, "hash_ip", broken)

    with pytest.raises(RuntimeError):
        cast(voting, ip="203.0.113.7")

    assert no_transaction_open()
    assert (Vote.objects.count(), Voter.objects.count()) == (0, 0)


def test_a_failed_insert_skips_the_commit_and_rolls_back(voting, monkeypatch):
    monkeypatch.setattr(ledger_services, "hash_user_agent", lambda agent: "x" * 500)

    with pytest.raises(DataError):
        cast(voting, user_agent="too long a hash for its column")

    assert no_transaction_open()
    assert (Vote.objects.count(), TallyEvent.objects.count(), Voter.objects.count()) == (0, 0, 0)
    monkeypatch.undo()
    assert cast(voting).vote_id  # the connection is still usable


def test_a_receipt_collision_casts_the_vote_again_with_another_code(voting, monkeypatch):
    taken = cast(voting, "5678").receipt_code
    codes = iter([taken, "ZZZZZZZZZZ"])
    monkeypatch.setattr(ledger_sql, "new_receipt_code", lambda: next(codes))

    result = cast(voting)

    assert no_transaction_open()
    assert Vote.objects.get(pk=result.vote_id).receipt_code == "ZZZZZZZZZZ"
    assert sorted(TallyEvent.objects.values_list("vote_id", flat=True)) == sorted(
        Vote.objects.values_list("pk", flat=True)
    )


def test_inside_a_caller_s_transaction_the_vote_is_part_of_it(voting):
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        cast(voting)

    executed = [q["sql"] for q in queries if "EXECUTE" in q["sql"]]
    assert [sql.split(" ", 1)[0] for sql in executed] == ["EXECUTE", "EXECUTE"]
    assert not any(sql.endswith("COMMIT") for sql in executed)
    assert Vote.objects.count() == 1
