"""The SMS batch reads its senders' votes with one probe of ``vote_voter_usage`` per sender,
whatever the ledger holds, with statistics or without (a young ledger has none), and counts
them as the ORM's ``GROUP BY`` does."""

import pytest
from django.db import connection

from campaigns.clock import db_now, local_day
from tests.factories.voting import VoteFactory
from tests.plans import explain, rows_read, shown
from voting.models import Vote
from voting.sms_votes.handler import _usage, usage_sql

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's"),
]


@pytest.mark.parametrize("analyzed", [False, True])
def test_the_senders_votes_are_probed_not_the_ledger(voting, analyzed):
    now = db_now()
    others = [
        VoteFactory.build(
            stage=voting.stage, contestant=voting.alice, phone=f"1390{n:07}", cast_at=now
        )
        for n in range(4000)
    ]
    Vote.objects.bulk_create(others)
    mine = VoteFactory.create_batch(
        3, stage=voting.stage, contestant=voting.bob, phone=voting.voter.e164
    )
    if analyzed:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Vote._meta.db_table}")
    senders = [voting.voter.hash, others[0].voter_hash, *(f"{n:064x}" for n in range(98))]
    day = local_day(now)

    plan = explain(usage_sql(), [day, senders])
    per_stage, per_candidate = _usage([*senders, voting.voter.hash], {voting.stage.pk}, day=day)

    assert per_stage == {
        (voting.voter.hash, voting.stage.pk): [len(mine), len(mine)],
        (others[0].voter_hash, voting.stage.pk): [1, 1],
    }
    assert per_candidate == {
        (voting.voter.hash, voting.stage.pk, voting.bob.pk): len(mine),
        (others[0].voter_hash, voting.stage.pk, voting.alice.pk): 1,
    }
    # The two senders' four votes, not the ledger's 4,003.
    assert rows_read(plan, Vote._meta.db_table) <= 10, shown(plan)
