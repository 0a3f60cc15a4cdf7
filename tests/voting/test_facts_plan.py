"""The vote's one read (``read_facts_sql``) finds its candidate with a fixed number of index
probes, however many contestants the stage has.

Written the other way round (the stage's contestants joined to the staff table), the
planner walked every contestant ``in`` of the stage and probed the staff table once for
each: twenty probes a vote in the bench's stage, and a stage 1 of a whole operator has
thousands of contestants. Likewise the served-customer question asks for the voter's own
transactions, not every transaction of the staff member (a busy one serves thousands of
customers in a stage's window). The plans are read with ``EXPLAIN ANALYZE`` of the
prepared statement itself, generic (what a connection runs after five votes) and custom."""

import pytest
from django.db import connection, transaction

from campaigns.clock import db_now
from evaluations.models import ServiceTransaction
from tests.factories.campaigns import ContestantFactory
from tests.factories.measurement import ServiceTransactionFactory
from tests.factories.staff import StaffMemberFactory
from tests.factories.voting import VoteFactory
from tests.plans import explain, loops, rows_read, shown
from voting.choices import VoteChannel
from voting.ledger import prepared
from voting.ledger.sql import lock_voter, read_facts_sql
from voting.models import Vote

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the SQL path exists on PostgreSQL only"
    ),
]

CONTESTANTS = 60


class _Capture:
    """An execute wrapper that keeps the facts read's ``EXECUTE`` and its parameters."""

    def __init__(self) -> None:
        self.statement: tuple[str, list] | None = None

    def __call__(self, execute, sql, params, many, context):
        if "EXECUTE vote_facts" in sql:
            self.statement = (sql, list(params))
        return execute(sql, params, many, context)


def _explain_facts(stage_id: int, plan_mode: str, **asked) -> tuple[dict, object]:
    """The facts read's plan (``EXPLAIN ANALYZE`` of its prepared statement under
    ``plan_mode``) and the facts it read, in a transaction rolled back after."""
    capture = _Capture()
    with transaction.atomic():
        lock_voter(asked["voter_hash"])
        with connection.execute_wrapper(capture):
            facts = read_facts_sql(stage_id, **asked)
        assert capture.statement is not None
        sql, params = capture.statement
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL plan_cache_mode = {plan_mode}")
        plan = explain(sql, params)
        transaction.set_rollback(True)
    return plan, facts


@pytest.mark.parametrize("plan_mode", ["force_generic_plan", "force_custom_plan"])
@pytest.mark.parametrize("asked_by", ["vote_code", "employee_no", "contestant"])
def test_the_candidate_is_found_with_one_probe_whatever_the_stage_holds(
    voting, plan_mode, asked_by
):
    others = [
        ContestantFactory(
            stage=voting.stage, staff_member=StaffMemberFactory(employee_no=f"8{n:05}")
        )
        for n in range(CONTESTANTS)
    ]
    target = others[CONTESTANTS // 2]
    if asked_by == "employee_no":
        # A letter in the number: it is looked up as an employee number, not a vote code.
        member = StaffMemberFactory(employee_no="AB-77", vote_code="990077")
        target = ContestantFactory(stage=voting.stage, staff_member=member)
    asked = {
        "voter_hash": voting.voter.hash,
        "contestant_id": target.pk if asked_by == "contestant" else None,
        "employee_no": {
            "vote_code": target.staff_member.vote_code,
            "employee_no": "AB-77",
            "contestant": None,
        }[asked_by],
        "channel": VoteChannel.WEB,
        "idempotency_key": None,
        "provider_message_id": None,
    }
    plan, facts = _explain_facts(voting.stage.pk, plan_mode, **asked)

    assert facts.contestant_id == target.pk
    assert loops(plan, "campaigns_contestant") == 1, shown(plan)
    # The staff exclusion asks the staff table once; the number asks it once more.
    assert loops(plan, "staff_staffmember") <= 2, shown(plan)


@pytest.mark.parametrize("plan_mode", ["force_generic_plan", "force_custom_plan"])
def test_the_served_question_reads_the_voters_transactions_not_the_staff_members(voting, plan_mode):
    member = voting.alice.staff_member
    ServiceTransaction.objects.bulk_create(
        ServiceTransactionFactory.build_batch(2000, staff_member=member)
        + ServiceTransactionFactory.build_batch(3, staff_member=member, phone=voting.voter.e164)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {ServiceTransaction._meta.db_table}")

    plan, facts = _explain_facts(
        voting.stage.pk,
        plan_mode,
        voter_hash=voting.voter.hash,
        contestant_id=None,
        employee_no=member.vote_code,
        channel=VoteChannel.WEB,
        idempotency_key=None,
        provider_message_id=None,
    )

    assert facts.is_served is True
    assert rows_read(plan, ServiceTransaction._meta.db_table) <= 3, shown(plan)


@pytest.mark.parametrize("analyzed", [False, True])
def test_the_usage_counts_read_the_voters_own_votes_not_the_stages(voting, analyzed):
    """A connection plans the read once for good (generic plan) at its first votes, often
    on a nearly empty ledger with no statistics; it must still read only this voter's
    votes once the stage holds thousands."""
    asked = {
        "voter_hash": voting.voter.hash,
        "contestant_id": voting.alice.pk,
        "employee_no": None,
        "channel": VoteChannel.WEB,
        "idempotency_key": None,
        "provider_message_id": None,
    }
    with connection.cursor() as cursor:  # a fresh session's statements, planned generic
        cursor.execute("DEALLOCATE ALL")
        cursor.execute("SET plan_cache_mode = force_generic_plan")  # ends with the test
    prepared._prepared.pop(connection.connection, None)
    _explain_facts(voting.stage.pk, "force_generic_plan", **asked)  # planned on no votes
    now = db_now()
    Vote.objects.bulk_create(
        VoteFactory.build(
            stage=voting.stage, contestant=voting.alice, phone=f"1390000{n:04}", cast_at=now
        )
        for n in range(2000)
    )
    mine = VoteFactory.create_batch(
        2, stage=voting.stage, contestant=voting.bob, phone=voting.voter.e164
    )
    if analyzed:  # statistics: the plan is made again
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Vote._meta.db_table}")

    plan, facts = _explain_facts(voting.stage.pk, "force_generic_plan", **asked)

    assert facts.usage.stage == len(mine)
    # The voter's two votes (and the empty probes for a repeated request), not the stage's 2,002.
    assert rows_read(plan, Vote._meta.db_table) <= 2 * len(mine), shown(plan)
