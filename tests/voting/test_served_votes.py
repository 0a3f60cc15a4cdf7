"""Served-customer votes (issue 11 item 8): a vote is served when the voter's phone had a
reported transaction with the candidate inside the stage's window, decided with the vote on
the web and in the SMS batch; the tallies, the recount and the result engine carry the
served split, and the stage's rule weighs served votes or counts only them.

The transactions are real ``evaluations`` rows (``ServiceTransactionFactory``): the voting
code reaches them only through the lookup ``evaluations`` registers in ``campaigns.served``.
"""

import datetime as dt
from collections.abc import Iterator

import pytest

from campaigns.messaging.inbound.router import InboundMessage, route_sms_batch
from campaigns.models import Stage
from campaigns.results import compute_stage_results
from campaigns.served import (
    register_served_customers,
    register_served_lookup,
    register_served_sql,
    unregister_served_lookup,
)
from evaluations.measurement.selectors import served_customers, served_exists_sql, served_pairs
from staff.phones import parse_phone
from tests.factories.measurement import ServiceTransactionFactory
from tests.voting.conftest import VotingSetup
from voting.choices import VoteChannel
from voting.counting.recount import recount_stage
from voting.counting.tallies import counted_votes_served, fold_pending_tallies
from voting.ledger.corrections import invalidate_votes, restore_votes
from voting.ledger.services import cast_vote
from voting.models import Tally, TallyEvent, Vote

pytestmark = pytest.mark.django_db

VOTER = "13812345678"
OTHER_PHONE = "13912345678"


def cast(setup: VotingSetup, employee_no: str = "1234", phone: str = VOTER, **kwargs):
    voter = parse_phone(phone)
    kwargs.setdefault("channel", VoteChannel.WEB)
    return cast_vote(
        setup.stage,
        contestant_employee_no=employee_no,
        voter_hash=voter.hash,
        phone_masked=voter.masked,
        **kwargs,
    )


def served(contestant, phone: str, at: dt.datetime):
    """A transaction reported by a business system: ``contestant`` served ``phone``."""
    return ServiceTransactionFactory(
        staff_member=contestant.staff_member, phone=phone, served_at=at, received_at=at
    )


def sms(id: str, sender: str, text: str = "TP 1234") -> InboundMessage:
    return InboundMessage(id=id, sender=sender, text=text, to="10690000")


@pytest.fixture
def without_evaluations() -> Iterator[None]:
    """No served-customer lookup registered, as without the evaluations app."""
    unregister_served_lookup()
    yield
    register_served_lookup(served_pairs)
    register_served_sql(served_exists_sql)
    register_served_customers(served_customers)


# Deciding is_served -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "phone", "hours_ago", "expected"),
    [
        ("alice", VOTER, 1, True),  # the candidate served this phone in the window
        ("alice", VOTER, 47, True),  # just inside: the stage opened 48 h ago
        ("alice", VOTER, 49, False),  # before the stage opened
        ("bob", VOTER, 1, False),  # another staff member served this phone
        ("alice", OTHER_PHONE, 1, False),  # the candidate served another phone
    ],
)
def test_a_web_vote_is_served_only_for_a_transaction_of_that_candidate_and_phone_in_the_window(
    voting, frozen_now, server, phone, hours_ago, expected
):
    Stage.objects.filter(pk=voting.stage.pk).update(opens_at=frozen_now - dt.timedelta(hours=48))
    served(getattr(voting, server), phone, frozen_now - dt.timedelta(hours=hours_ago))

    result = cast(voting)

    vote = Vote.objects.get(pk=result.vote_id)
    assert vote.is_served is expected
    assert TallyEvent.objects.get(vote=vote).is_served is expected


def test_a_transaction_after_the_stage_closed_does_not_make_a_vote_served(voting, frozen_now):
    # Reported late and dated after closes_at: outside the window.
    served(voting.alice, VOTER, voting.stage.closes_at + dt.timedelta(minutes=1))

    assert Vote.objects.get(pk=cast(voting).vote_id).is_served is False


def test_an_sms_batch_marks_each_vote_by_its_own_candidate_and_sender(voting, frozen_now):
    inside = frozen_now - dt.timedelta(hours=2)
    served(voting.alice, "13700000001", inside)
    served(voting.bob, "13700000002", inside)  # served by bob, votes for alice
    served(voting.alice, "13700000003", frozen_now - dt.timedelta(days=3))  # before opening
    served(voting.bob, "13700000004", inside)  # served by bob, votes for bob

    results = route_sms_batch(
        [
            sms("m1", "13700000001"),
            sms("m2", "13700000002"),
            sms("m3", "13700000003"),
            sms("m4", "13700000004", "TP 5678"),
            sms("m5", "13700000005"),
        ],
        provider="generic",
    )

    assert [r.status for r in results] == ["counted"] * 5
    votes = Vote.objects.order_by("provider_message_id")
    assert [(v.provider_message_id, v.is_served) for v in votes] == [
        ("generic:m1", True),
        ("generic:m2", False),
        ("generic:m3", False),
        ("generic:m4", True),
        ("generic:m5", False),
    ]
    events = dict(TallyEvent.objects.values_list("vote__provider_message_id", "is_served"))
    assert events == {v.provider_message_id: v.is_served for v in votes}


@pytest.mark.usefixtures("without_evaluations")
def test_without_the_evaluations_lookup_no_vote_is_served(voting, frozen_now):
    served(voting.alice, VOTER, frozen_now - dt.timedelta(hours=1))
    served(voting.alice, "13700000001", frozen_now - dt.timedelta(hours=1))

    cast(voting)
    route_sms_batch([sms("m1", "13700000001")], provider="generic")

    assert list(Vote.objects.values_list("is_served", flat=True)) == [False, False]


def test_a_replayed_request_keeps_the_original_answer(voting, frozen_now):
    first = cast(voting, idempotency_key="k1")
    served(voting.alice, VOTER, frozen_now - dt.timedelta(hours=1))  # reported after the vote

    again = cast(voting, idempotency_key="k1")

    assert (again.replayed, again.vote_id) == (True, first.vote_id)
    assert Vote.objects.get().is_served is False


# Tallies and recount ------------------------------------------------------------------------


def _served_voters(setup: VotingSetup, now: dt.datetime, phones: list[str]) -> None:
    for phone in phones:
        served(setup.alice, phone, now - dt.timedelta(hours=1))


def test_tallies_recount_and_corrections_agree_on_the_served_split(voting, frozen_now, admin_user):
    _served_voters(voting, frozen_now, ["13700000001", "13700000002"])
    votes = [cast(voting, phone=p) for p in ["13700000001", "13700000002", "13700000003"]]
    cast(voting, "5678", phone="13700000001")  # a vote for bob, served by alice only

    pending = counted_votes_served(voting.stage)
    fold_pending_tallies(time_budget=5)
    folded = counted_votes_served(voting.stage)
    tally = Tally.objects.get(contestant=voting.alice, channel=VoteChannel.WEB)

    assert (
        pending
        == folded
        == {
            (voting.alice.pk, VoteChannel.WEB): (3, 2),
            (voting.bob.pk, VoteChannel.WEB): (1, 0),
        }
    )
    assert (tally.votes, tally.served_votes) == (3, 2)
    assert recount_stage(voting.stage).ok is True

    invalidate_votes([votes[0].vote_id], actor=admin_user, reason="duplicate voter")
    assert counted_votes_served(voting.stage)[(voting.alice.pk, VoteChannel.WEB)] == (2, 1)
    fold_pending_tallies(time_budget=5)
    assert recount_stage(voting.stage).ok is True
    restore_votes([votes[0].vote_id], actor=admin_user, reason="checked, a real customer")
    fold_pending_tallies(time_budget=5)
    assert counted_votes_served(voting.stage)[(voting.alice.pk, VoteChannel.WEB)] == (3, 2)
    assert recount_stage(voting.stage).ok is True


def test_recount_finds_and_repairs_a_wrong_served_tally(voting, frozen_now, admin_user):
    _served_voters(voting, frozen_now, ["13700000001"])
    cast(voting, phone="13700000001")
    cast(voting, phone="13700000002")
    fold_pending_tallies(time_budget=5)
    Tally.objects.filter(contestant=voting.alice).update(served_votes=2)  # 2 of 2: wrong

    found = recount_stage(voting.stage)
    repaired = recount_stage(voting.stage, repair=True, actor=admin_user, reason="served drift")

    assert found.ok is False
    assert [d for d in found.differences if d["kind"] == "served"] == [
        {
            "kind": "served",
            "contestant_id": voting.alice.pk,
            "channel": VoteChannel.WEB,
            "ledger": 1,
            "tally": 2,
            "pending": 0,
        }
    ]
    assert [d["kind"] for d in found.differences] == ["served"]  # the totals are right
    assert repaired.repaired is True
    tally = Tally.objects.get(contestant=voting.alice)
    assert (tally.votes, tally.served_votes) == (2, 1)
    assert recount_stage(voting.stage).ok is True


# The stage rule in the result engine --------------------------------------------------------


@pytest.fixture
def split_votes(voting, frozen_now) -> VotingSetup:
    """Alice: 3 web votes, none served. Bob: 2 web votes, both from customers he served."""
    for phone in ["13700000011", "13700000012"]:
        served(voting.bob, phone, frozen_now - dt.timedelta(hours=1))
        cast(voting, "5678", phone=phone)
    for phone in ["13700000021", "13700000022", "13700000023"]:
        cast(voting, phone=phone)
    Stage.objects.filter(pk=voting.stage.pk).update(weights={"web_votes": "1"}, quota=1)
    voting.stage.refresh_from_db()
    return voting


def _rule(stage: Stage, *, weight: str = "1", only: bool = False) -> Stage:
    Stage.objects.filter(pk=stage.pk).update(served_vote_weight=weight, served_votes_only=only)
    stage.refresh_from_db()
    return stage


def _raw_and_order(stage: Stage) -> tuple[dict[int, str], list[int]]:
    results = compute_stage_results(stage)
    raw = {cid: str(line.components["web_votes"].raw) for cid, line in results.lines.items()}
    return raw, [row.entry.contestant_id for row in results.ranking.rows]


def test_with_weight_one_served_votes_count_like_any_other(split_votes):
    raw, order = _raw_and_order(_rule(split_votes.stage))

    assert raw == {split_votes.alice.pk: "3", split_votes.bob.pk: "2"}
    assert order == [split_votes.alice.pk, split_votes.bob.pk]


def test_a_served_weight_changes_the_ranking(split_votes):
    raw, order = _raw_and_order(_rule(split_votes.stage, weight="2"))

    assert raw == {split_votes.alice.pk: "3", split_votes.bob.pk: "4"}
    assert order == [split_votes.bob.pk, split_votes.alice.pk]


def test_a_fractional_served_weight_keeps_its_decimals(split_votes):
    raw, _order = _raw_and_order(_rule(split_votes.stage, weight="1.25"))

    assert raw == {split_votes.alice.pk: "3", split_votes.bob.pk: "2.50"}


def test_served_votes_only_leaves_the_other_votes_out(split_votes):
    raw, order = _raw_and_order(_rule(split_votes.stage, only=True))

    assert raw == {split_votes.alice.pk: "0", split_votes.bob.pk: "2"}
    assert order == [split_votes.bob.pk, split_votes.alice.pk]


def test_results_carry_each_candidates_served_votes(split_votes):
    results = compute_stage_results(split_votes.stage)

    assert {cid: line.served_votes for cid, line in results.lines.items()} == {
        split_votes.alice.pk: 0,
        split_votes.bob.pk: 2,
    }
