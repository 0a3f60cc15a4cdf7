"""The vote's one read (``read_facts_sql``) finds its candidate with a fixed number of index
probes, however many contestants the stage has.

Written the other way round (the stage's contestants joined to the staff table), the
planner walked every contestant ``in`` of the stage and probed the staff table once for
each: twenty probes a vote in the bench's stage, and a stage 1 of a whole operator has
thousands of contestants. The plans are read with ``EXPLAIN ANALYZE`` of the prepared
statement itself, generic (what a connection runs after five votes) and custom."""

import json

import pytest
from django.db import connection, transaction

from tests.factories.campaigns import ContestantFactory
from tests.factories.staff import StaffMemberFactory
from voting.choices import VoteChannel
from voting.ledger.sql import lock_voter, read_facts_sql

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


def _loops(node: dict, table: str) -> int:
    """How many times the plan under ``node`` scanned ``table``."""
    own = node.get("Actual Loops", 0) if node.get("Relation Name") == table else 0
    return own + sum(_loops(child, table) for child in node.get("Plans", []))


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
    capture = _Capture()
    with transaction.atomic():
        lock_voter(voting.voter.hash)
        with connection.execute_wrapper(capture):
            facts = read_facts_sql(voting.stage.pk, **asked)
        assert capture.statement is not None
        sql, params = capture.statement
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL plan_cache_mode = {plan_mode}")
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
            raw = cursor.fetchone()[0]
        transaction.set_rollback(True)

    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    assert facts.contestant_id == target.pk
    assert _loops(plan, "campaigns_contestant") == 1, json.dumps(plan, indent=1)
    # The staff exclusion asks the staff table once; the number asks it once more.
    assert _loops(plan, "staff_staffmember") <= 2, json.dumps(plan, indent=1)
