"""The web vote is decided on facts read two ways: ``read_facts_sql`` (one statement, the
PostgreSQL path) and ``read_facts_orm`` (a query each, the SQLite path and the reference).
On PostgreSQL both run side by side on the same generated cases and must agree: the same
facts, hence the same outcome code and the same remaining votes."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from campaigns.choices import ContestantStatus, StageStatus
from campaigns.models import Contestant, Stage
from staff.exceptions import DomainError
from tests.factories.staff import StaffMemberFactory
from tests.factories.voting import VoteFactory
from voting.choices import VoteChannel
from voting.ledger.selectors import VoteFacts, read_facts_orm
from voting.ledger.services import decide_vote
from voting.ledger.sql import lock_voter, read_facts_sql

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the SQL path exists on PostgreSQL only"
    ),
]

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Case:
    """One generated situation: the stage, the candidate asked for, the voter's history."""

    status: str
    opens: int | None  # hours from now
    closes: int | None
    per_day: int
    per_stage: int
    per_candidate: int
    alice_status: str
    by_number: bool
    number: str
    is_staff: bool
    today_alice: int
    today_bob: int
    earlier_alice: int
    repeat_key: bool
    unknown_stage: bool


CASES = st.builds(
    Case,
    status=st.sampled_from(StageStatus.values),
    opens=st.one_of(st.none(), st.integers(-3, 3)),
    closes=st.one_of(st.none(), st.integers(-3, 3)),
    per_day=st.integers(0, 3),
    per_stage=st.integers(0, 4),
    per_candidate=st.integers(0, 3),
    alice_status=st.sampled_from(ContestantStatus.values),
    by_number=st.booleans(),
    number=st.sampled_from(["1234", "5678", "9999"]),
    is_staff=st.booleans(),
    today_alice=st.integers(0, 2),
    today_bob=st.integers(0, 2),
    earlier_alice=st.integers(0, 2),
    repeat_key=st.booleans(),
    unknown_stage=st.booleans(),
)


def decisive(facts: VoteFacts) -> tuple:
    """The facts a decision can depend on: the staff flag and the usage count only for a
    candidate of the stage (the ORM path does not read them otherwise)."""
    found = facts.contestant_id is not None
    return (
        facts.now,
        facts.day,
        facts.limits,
        facts.status,
        facts.opens_at,
        facts.closes_at,
        facts.contestant_id,
        facts.is_staff if found else None,
        facts.usage if found else None,
        facts.original_id,
        facts.weights if facts.limits is not None else None,
    )


def outcome(facts: VoteFacts) -> tuple[str, int | None, int | None]:
    """What ``cast_vote`` would answer on ``facts``: the refusal's code, or ``counted`` with
    the votes left today and in the stage."""
    if facts.original_id is not None:
        return ("replayed", facts.original_id, None)
    try:
        remaining = decide_vote(facts)
    except DomainError as exc:
        return (exc.code, None, None)
    return ("counted", remaining.today, remaining.stage)


def arrange(voting, case: Case, now: dt.datetime) -> int:
    """Put the database in the state ``case`` describes; return the stage id to vote in."""
    Stage.objects.filter(pk=voting.stage.pk).update(
        status=case.status,
        opens_at=None if case.opens is None else now + case.opens * HOUR,
        closes_at=None if case.closes is None else now + case.closes * HOUR,
        votes_per_day=case.per_day,
        votes_per_stage=case.per_stage,
        votes_per_candidate=case.per_candidate,
        finalized_at=now if case.status == StageStatus.FINALIZED else None,
    )
    Contestant.objects.filter(pk=voting.alice.pk).update(status=case.alice_status)
    if case.is_staff:
        StaffMemberFactory(phone=voting.voter.e164)
    history = [
        (voting.alice, now, case.today_alice),
        (voting.bob, now, case.today_bob),
        (voting.alice, now - DAY, case.earlier_alice),
    ]
    for contestant, cast_at, count in history:
        for _ in range(count):
            VoteFactory(
                stage=voting.stage,
                contestant=contestant,
                phone=voting.voter.e164,
                cast_at=cast_at,
                idempotency_key=None,
            )
    if case.repeat_key:
        VoteFactory(
            stage=voting.stage, contestant=voting.bob, phone="13600000000", idempotency_key="k"
        )
    return voting.stage.pk + 1000 if case.unknown_stage else voting.stage.pk


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=CASES)
def test_the_orm_and_the_sql_path_decide_every_case_alike(voting, frozen_now, case):
    assume(case.opens is None or case.closes is None or case.opens < case.closes)
    with transaction.atomic():
        stage_id = arrange(voting, case, frozen_now)
        asked = {
            "voter_hash": voting.voter.hash,
            "contestant_id": None if case.by_number else voting.alice.pk,
            "employee_no": case.number if case.by_number else None,
            "channel": VoteChannel.WEB,
            # The repeated key belongs to another voter: never this voter's original.
            "idempotency_key": "k" if case.repeat_key else None,
            "provider_message_id": None,
        }
        lock_voter(voting.voter.hash)

        by_orm = read_facts_orm(stage_id, **asked)
        by_sql = read_facts_sql(stage_id, **asked)

        assert decisive(by_sql) == decisive(by_orm)
        assert outcome(by_sql) == outcome(by_orm)
        transaction.set_rollback(True)


def test_the_paths_agree_on_a_replayed_key_and_a_provider_message(voting, frozen_now):
    original = VoteFactory(
        stage=voting.stage,
        contestant=voting.alice,
        phone=voting.voter.e164,
        idempotency_key="key-1",
        provider_message_id="m-1",
        channel=VoteChannel.SMS,
    )
    for key, message in (("key-1", None), (None, "m-1"), ("other", "m-1"), ("other", None)):
        asked = {
            "voter_hash": voting.voter.hash,
            "contestant_id": voting.bob.pk,
            "employee_no": None,
            "channel": VoteChannel.SMS,
            "idempotency_key": key,
            "provider_message_id": message,
        }

        by_orm = read_facts_orm(voting.stage.pk, **asked)
        by_sql = read_facts_sql(voting.stage.pk, **asked)

        # With an original the ORM path stops reading (nothing else decides a replay).
        expected = None if (key, message) == ("other", None) else original.pk
        assert (by_sql.original_id, by_orm.original_id) == (expected, expected)
        assert outcome(by_sql) == outcome(by_orm)
