"""Selectors: remaining allowances, receipts, and the votes components of the result engine."""

import pytest

from campaigns import components
from campaigns.choices import ComponentKey
from staff.phones import parse_phone
from tests.factories.voting import VoteFactory
from tests.voting.conftest import set_limits
from voting.choices import VoteChannel
from voting.counting.components import audience_votes, sms_votes, web_votes
from voting.counting.tallies import fold_tally_events
from voting.ledger.corrections import invalidate_votes
from voting.ledger.receipts import normalize_receipt_code
from voting.ledger.rules import RemainingVotes
from voting.ledger.selectors import remaining_votes, vote_by_receipt
from voting.ledger.services import cast_vote

pytestmark = pytest.mark.django_db


def test_remaining_votes_counts_day_stage_and_candidate(voting):
    set_limits(voting.stage, day=3, stage_total=4, candidate=2)
    VoteFactory(stage=voting.stage, contestant=voting.alice, phone="13812345678")
    VoteFactory(stage=voting.stage, contestant=voting.bob, phone="13812345678", invalidated=True)

    remaining = remaining_votes(voting.stage, voting.voter.hash, contestant_id=voting.alice.pk)

    assert remaining == RemainingVotes(today=1, stage=2, candidate=1)


def test_remaining_votes_unlimited_is_none(voting):
    assert remaining_votes(voting.stage, voting.voter.hash) == RemainingVotes(
        today=None, stage=None
    )


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("0123456789", "0123456789"),
        ("o123-456-789", "0123456789"),
        (" abcdefghjk ", "ABCDEFGHJK"),
        ("ILO1234567", "1101234567"),
        ("U123456789", None),
        ("123", None),
        ("", None),
    ],
)
def test_normalize_receipt_code(typed, canonical):
    assert normalize_receipt_code(typed) == canonical


def test_vote_by_receipt_with_a_malformed_code_costs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert vote_by_receipt("not a code!") is None


def test_vote_by_receipt_loads_what_the_receipt_page_shows(voting, django_assert_num_queries):
    vote = VoteFactory(stage=voting.stage, contestant=voting.alice)

    with django_assert_num_queries(1):
        found = vote_by_receipt(vote.receipt_code.lower())
        assert (found.stage.campaign.name, found.contestant.staff_member.employee_no) == (
            voting.stage.campaign.name,
            "1234",
        )


def test_votes_components_count_valid_votes_per_channel(voting, django_assert_num_queries):
    def cast(contestant, channel=VoteChannel.WEB):
        phone = parse_phone(f"1981234{next(numbers):04d}")
        return cast_vote(
            voting.stage,
            contestant=contestant,
            voter_hash=phone.hash,
            phone_masked=phone.masked,
            channel=channel,
        )

    numbers = iter(range(100))
    for _ in range(3):
        cast(voting.alice)
    cast(voting.bob)
    invalidate_votes([cast(voting.bob).vote_id], actor=None, reason="Same IP block")
    cast(voting.bob, VoteChannel.SMS)
    cast(voting.alice, VoteChannel.AUDIENCE)
    VoteFactory()  # another stage
    fold_tally_events()  # components count folded and pending votes alike
    cast(voting.alice)

    with django_assert_num_queries(1):
        web = web_votes(voting.stage)

    assert web == {voting.alice.pk: 4, voting.bob.pk: 1}
    assert sms_votes(voting.stage) == {voting.bob.pk: 1}
    assert audience_votes(voting.stage) == {voting.alice.pk: 1}


def test_votes_components_are_registered_with_the_result_engine():
    registered = components.registered_components()

    assert registered[ComponentKey.WEB_VOTES].fetch is web_votes
    assert registered[ComponentKey.SMS_VOTES].fetch is sms_votes
    assert registered[ComponentKey.AUDIENCE_VOTES].fetch is audience_votes
    assert registered[ComponentKey.WEB_VOTES].scale == components.VOTE_SHARE
