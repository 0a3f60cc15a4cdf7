"""The fraud review's served share per candidate (issue 11 item 8): served customers' votes
over valid votes, from the counted votes, on the clusters page of a stage."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from staff.phones import parse_phone
from tests.factories.measurement import ServiceTransactionFactory
from voting.choices import VoteChannel
from voting.counting.tallies import fold_pending_tallies
from voting.fraud.served import served_shares
from voting.ledger.corrections import invalidate_votes
from voting.ledger.services import cast_vote
from voting.models import Vote

pytestmark = pytest.mark.django_db

CLUSTERS = reverse("admin:voting_vote_clusters")


@pytest.fixture
def shares(voting, frozen_now, admin_user):
    """Alice: 4 valid votes, 1 of them served (a fifth, served, invalidated). Bob: 1 served."""
    phones = [f"1370000000{i}" for i in range(6)]
    for phone in (phones[0], phones[4]):
        ServiceTransactionFactory(
            staff_member=voting.alice.staff_member,
            phone=phone,
            served_at=frozen_now - dt.timedelta(hours=3),
        )
    ServiceTransactionFactory(
        staff_member=voting.bob.staff_member,
        phone=phones[5],
        served_at=frozen_now - dt.timedelta(hours=3),
    )
    for phone, number in [*((p, "1234") for p in phones[:5]), (phones[5], "5678")]:
        voter = _voter(phone)
        cast_vote(
            voting.stage,
            contestant_employee_no=number,
            voter_hash=voter.hash,
            phone_masked=voter.masked,
            channel=VoteChannel.WEB,
        )
    invalid = Vote.objects.get(voter_hash=_voter(phones[4]).hash)
    invalidate_votes([invalid.pk], actor=admin_user, reason="same device as another voter")
    fold_pending_tallies(time_budget=5)
    return voting


def _voter(phone):

    return parse_phone(phone)


def test_the_served_share_is_served_over_valid_votes(shares):
    found = [(s.contestant, s.valid, s.served, s.percent) for s in served_shares(shares.stage.pk)]

    assert found == [
        (shares.alice, 4, 1, Decimal("25.0")),
        (shares.bob, 1, 1, Decimal("100.0")),
    ]


def test_the_clusters_page_shows_each_candidates_served_share(admin_client, shares):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    response = admin_client.get(CLUSTERS, {"stage": shares.stage.pk})

    assert response.status_code == 200
    html = response.text
    assert "Served customers per candidate" in html
    assert f'data-contestant="{shares.alice.pk}"' in html
    rows = [(s.contestant.pk, s.percent) for s in response.context["served_shares"]]
    assert rows == [(shares.alice.pk, Decimal("25.0")), (shares.bob.pk, Decimal("100.0"))]
    assert "25.0 %" in html
    assert "100.0 %" in html


def test_a_stage_without_votes_says_so(admin_client, voting):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    response = admin_client.get(CLUSTERS, {"stage": voting.stage.pk})

    assert response.context["served_shares"] == []
    assert "No counted votes in this stage yet." in response.text
