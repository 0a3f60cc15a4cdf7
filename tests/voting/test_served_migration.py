"""The served-votes migrations on a database that already holds votes (issue 11 item 8):
existing votes, tally events and tallies come out unserved, existing stages keep counting
every vote alike, and a vote cast afterwards is decided as usual.

Runs on SQLite and PostgreSQL (``transaction=True``: migrations run DDL outside the test's
transaction; the schema is migrated forward again whatever happens).
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from campaigns.models import Stage, StageResult
from tests.factories.campaigns import ContestantFactory, StageFactory
from tests.factories.voting import VoteFactory
from voting.models import Tally, TallyEvent, Vote

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("voting", "0009_wrong_code"),
    ("campaigns", "0005_mask_numbers_in_inbound_text"),
]
AT = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _write_old_rows(apps, contestant) -> int:
    """A counted vote with its pending event and a folded tally, as before the migration."""
    vote_model = apps.get_model("voting", "Vote")
    vote = vote_model.objects.create(
        stage_id=contestant.stage_id,
        contestant_id=contestant.pk,
        voter_hash="v" * 64,
        phone_masked="138****5678",
        channel="web",
        cast_at=AT,
        local_day=AT.date(),
        receipt_code="ABCDEFGHJK",
    )
    apps.get_model("voting", "TallyEvent").objects.create(
        vote_id=vote.pk,
        stage_id=contestant.stage_id,
        contestant_id=contestant.pk,
        channel="web",
        delta=1,
    )
    apps.get_model("voting", "Tally").objects.create(
        stage_id=contestant.stage_id, contestant_id=contestant.pk, channel="web", votes=7
    )
    apps.get_model("campaigns", "StageResult").objects.create(
        stage_id=contestant.stage_id,
        contestant_id=contestant.pk,
        position_code="clerk",
        total=Decimal("50.0000"),
        rank=1,
        position_rank=1,
        outcome="qualified",
        computed_at=AT,
    )
    return vote.pk


def test_existing_votes_tallies_and_stages_come_out_unserved():
    contestant = ContestantFactory(stage=StageFactory(open=True))
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        vote_id = _write_old_rows(_migrate(BEFORE), contestant)
    finally:
        _migrate(latest)

    assert Vote.objects.get(pk=vote_id).is_served is False
    assert list(TallyEvent.objects.values_list("vote_id", "is_served")) == [(vote_id, False)]
    assert list(Tally.objects.values_list("votes", "served_votes")) == [(7, 0)]
    stage = Stage.objects.get(pk=contestant.stage_id)
    assert (stage.served_vote_weight, stage.served_votes_only) == (Decimal(1), False)
    assert StageResult.objects.get().served_votes == 0


def test_the_frozen_stage_trigger_survives_the_migration_both_ways():
    # SQLite rebuilds the vote table to add a column, which drops its triggers.
    contestant = ContestantFactory(stage=StageFactory(open=True))
    vote = VoteFactory(stage=contestant.stage, contestant=contestant)
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        _migrate(BEFORE)
    finally:
        _migrate(latest)
    Stage.objects.filter(pk=contestant.stage_id).update(status="finalized", finalized_at=AT)

    with pytest.raises(IntegrityError, match="stage_frozen"), transaction.atomic():
        Vote.objects.filter(pk=vote.pk).update(is_served=True)

    assert Vote.objects.get(pk=vote.pk).is_served is False
