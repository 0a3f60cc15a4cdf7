"""A vote's one foreign key (voting 0014): its candidate must exist and be of its stage,
checked at commit; a candidate with votes cannot be deleted, whatever deletes it."""

import pytest
from django.db import IntegrityError, connection, transaction

from campaigns.models import Contestant
from tests.factories.campaigns import ContestantFactory, StageFactory
from tests.factories.voting import VoteFactory
from voting.models import TallyEvent, Vote

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite keeps no foreign key on the ledger"
    ),
]


def _committed() -> None:
    """Runs the deferred checks now, as the test's transaction will never commit."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_a_vote_for_a_candidate_of_its_stage_commits():
    vote = VoteFactory()
    _committed()
    assert Vote.objects.filter(pk=vote.pk, contestant__stage=vote.stage).exists()


def test_a_vote_whose_candidate_is_of_another_stage_is_refused():
    vote = VoteFactory()
    elsewhere = ContestantFactory(stage=StageFactory(open=True))
    with transaction.atomic():
        Vote.objects.filter(pk=vote.pk).update(contestant=elsewhere)
        with pytest.raises(IntegrityError, match="vote_contestant_in_stage"):
            _committed()
        transaction.set_rollback(True)  # back to the savepoint, past the failed check
    assert Vote.objects.get(pk=vote.pk).contestant_id == vote.contestant_id


def test_a_vote_for_a_candidate_that_does_not_exist_is_refused():
    vote = VoteFactory()
    missing = Contestant.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    with transaction.atomic():
        Vote.objects.filter(pk=vote.pk).update(contestant_id=missing)
        with pytest.raises(IntegrityError, match="vote_contestant_in_stage"):
            _committed()
        transaction.set_rollback(True)  # back to the savepoint, past the failed check


def test_a_candidate_with_votes_cannot_be_deleted_by_raw_sql():
    vote = VoteFactory()
    with transaction.atomic():
        Contestant.objects.filter(pk=vote.contestant_id)._raw_delete(connection.alias)
        with pytest.raises(IntegrityError, match="vote_contestant_in_stage"):
            _committed()
        transaction.set_rollback(True)  # back to the savepoint, past the failed check
    assert Contestant.objects.filter(pk=vote.contestant_id).exists()


def test_deleting_a_vote_through_django_still_takes_its_tally_events():
    """The event's key to its vote has no database constraint; Django's cascade remains."""
    vote = VoteFactory()
    TallyEvent.objects.create(
        vote=vote, stage=vote.stage, contestant=vote.contestant, channel=vote.channel, delta=1
    )
    vote.delete()
    _committed()
    assert not TallyEvent.objects.filter(vote_id=vote.pk).exists()
