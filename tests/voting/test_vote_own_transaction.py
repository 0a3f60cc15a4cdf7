"""``cast_vote`` on PostgreSQL outside any transaction (a web request) runs its own: BEGIN
with the voter lock and the read, COMMIT with the insert (``_cast_in_own_transaction``).
Whatever happens, no transaction is left open on the connection, and the wake-up is sent
only once the vote is committed."""

import time

import psycopg2
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
from voting.otp.services import VoterSession, issue_voter_token

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


def _post_vote(client, setup, employee_no="1234"):
    # A new request's connection is checked again (Django's close_old_connections, which
    # the test client does not run): as in production, the check is due.
    connection.health_check_done = False
    token = issue_voter_token(
        VoterSession(voter_hash=setup.voter.hash, phone_masked=setup.voter.masked)
    )
    return client.post(
        "/api/votes/",
        {"stage": setup.stage.pk, "employee_no": employee_no, "voter_token": token},
        content_type="application/json",
    )


def test_a_web_vote_is_its_own_health_check(client, voting, monkeypatch):
    assert _post_vote(client, voting, "5678").status_code == 201  # the connection warm
    checks = []
    is_usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or is_usable())

    with CaptureQueriesContext(connection) as queries:
        response = _post_vote(client, voting)

    assert response.status_code == 201
    # Django's per-request health check (CONN_HEALTH_CHECKS): a "SELECT 1" round trip first.
    assert checks == []
    assert [q["sql"].split(" ", 1)[0] for q in queries] == ["BEGIN;", "EXECUTE"]
    assert connection.health_check_done


def test_a_vote_after_the_server_ended_the_session_is_cast_on_a_new_connection(client, voting):
    assert _post_vote(client, voting, "5678").status_code == 201
    old_pid = connection.connection.info.backend_pid
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [old_pid])
            for _ in range(100):  # until the session is gone
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [old_pid])
                if cursor.fetchone()[0] == 0:
                    break
                time.sleep(0.05)
    finally:
        other.close()

    response = _post_vote(client, voting)

    assert response.status_code == 201, response.content
    assert connection.connection.info.backend_pid != old_pid
    assert no_transaction_open()
    assert Vote.objects.filter(pk=response.json()["vote_id"], contestant=voting.alice).exists()
    assert Vote.objects.count() == 2


def test_a_failing_statement_on_a_working_connection_is_not_cast_again(voting, monkeypatch):
    statements = []
    read = ledger_sql.read_facts_sql

    def failing_read(*args, **kwargs):
        statements.append(kwargs)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1/0")  # an error of the statement, not of the session
        return read(*args, **kwargs)

    monkeypatch.setattr(ledger_services, "read_facts_sql", failing_read)
    connection.health_check_done = False  # as at the start of a request

    with pytest.raises(DataError):
        cast(voting)

    assert len(statements) == 1
    assert no_transaction_open()
    assert Vote.objects.count() == 0
