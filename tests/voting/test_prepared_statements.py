"""voting.ledger.prepared: each statement is prepared once per database session, and still
runs after a reconnect, a rollback or a failed execution; SQLite keeps plain statements."""

import pytest
from django.db import DataError, NotSupportedError, OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from voting.choices import VoteChannel
from voting.ledger.prepared import execute_prepared
from voting.ledger.services import cast_vote

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="server-side prepared statements: PostgreSQL"
)
ADD = "SELECT %(a)s::int + %(b)s::int, '100%%'"
DIVIDE = "SELECT 100 / %(d)s::int"


def run(*statements: tuple[str, str, dict]) -> tuple:
    with connection.cursor() as cursor:
        execute_prepared(cursor, statements)
        return cursor.fetchone()


def prepared_names() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements ORDER BY name")
        return [name for (name,) in cursor.fetchall()]


@on_postgresql
@pytest.mark.django_db
def test_a_statement_is_prepared_once_and_run_with_each_call_s_values():
    first = run(("test_add", ADD, {"a": 1, "b": 2}))
    second = run(("test_add", ADD, {"b": 20, "a": 10}))

    assert (first, second) == ((3, "100%"), (30, "100%"))
    assert len([name for name in prepared_names() if name.startswith("test_add_")]) == 1


@on_postgresql
@pytest.mark.django_db
def test_statements_in_one_round_trip_run_in_order_and_the_last_one_answers():
    with CaptureQueriesContext(connection) as queries:
        row = run(("test_divide", DIVIDE, {"d": 4}), ("test_add", ADD, {"a": 1, "b": 1}))

    assert row == (2, "100%")
    assert len(queries) == 1  # the EXECUTEs; a first PREPARE is not logged as a query
    assert queries[0]["sql"].count("EXECUTE") == 2


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_reconnected_connection_prepares_again():
    run(("test_add", ADD, {"a": 1, "b": 2}))

    connection.close()
    row = run(("test_add", ADD, {"a": 2, "b": 3}))

    assert row == (5, "100%")
    assert any(name.startswith("test_add_") for name in prepared_names())


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_statement_prepared_in_a_rolled_back_transaction_stays_usable():
    with transaction.atomic():
        run(("test_add", ADD, {"a": 1, "b": 2}))
        transaction.set_rollback(True)

    assert run(("test_add", ADD, {"a": 4, "b": 4})) == (8, "100%")


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_failed_execution_leaves_the_statement_usable():
    with pytest.raises(DataError), transaction.atomic():
        run(("test_divide", DIVIDE, {"d": 0}))

    assert run(("test_divide", DIVIDE, {"d": 5})) == (20,)


@pytest.mark.django_db
def test_a_vote_runs_prepared_statements_on_postgresql_and_plain_ones_on_sqlite(voting):
    with CaptureQueriesContext(connection) as queries:
        cast_vote(
            voting.stage,
            contestant_employee_no="1234",
            voter_hash=voting.voter.hash,
            phone_masked=voting.voter.masked,
            channel=VoteChannel.WEB,
        )

    verbs = [query["sql"].split(" ", 1)[0] for query in queries]
    if connection.vendor == "postgresql":
        # In the test's transaction: the lock and the read in one round trip, the insert.
        assert verbs == ["SAVEPOINT", "EXECUTE", "EXECUTE", "RELEASE"]
    else:
        assert "EXECUTE" not in verbs
        assert "PREPARE" not in verbs


@on_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("DEALLOCATE ALL", OperationalError),  # the session lost its statements
        ("ALTER TABLE test_prepared ALTER n TYPE bigint", NotSupportedError),  # a migration
    ],
    ids=["deallocated", "column-type-changed"],
)
def test_a_session_whose_statement_went_stale_is_closed_after_the_request(change, error):
    read = ("test_read", "SELECT n FROM test_prepared WHERE n = %(n)s", {"n": 1})
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE test_prepared (n integer)")
        cursor.execute("INSERT INTO test_prepared VALUES (1)")
    run(read)
    with connection.cursor() as cursor:
        cursor.execute(change)

    with pytest.raises(error):
        run(read)
    connection.close_if_unusable_or_obsolete()  # what Django does when a request ends

    assert connection.connection is None
    assert run(("test_add", ADD, {"a": 2, "b": 2})) == (4, "100%")
