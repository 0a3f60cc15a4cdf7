"""The fraud review's subnet pattern: the /24 (or /48) key of a vote and its clusters."""

import datetime as dt

import pytest
from django.urls import reverse

from campaigns.messaging.inbound.router import InboundMessage, route_sms_batch
from tests.factories.voting import VoteFactory
from tests.voting.admin.conftest import CLUSTER_AT
from voting import fraud, services
from voting.choices import VoteChannel
from voting.fingerprints import hash_ip, hash_ip_subnet
from voting.models import Vote

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("203.0.113.7", "203.0.113.250", True),
        ("203.0.113.7", "203.0.114.7", False),
        ("203.0.113.7", "::ffff:203.0.113.9", True),
        ("2001:db8:1:aaaa::1", "2001:db8:1:bbbb::2", True),
        ("2001:db8:1::1", "2001:db8:2::1", False),
    ],
)
def test_subnet_key_groups_a_24_or_a_48(first, second, same):
    assert (hash_ip_subnet(first) == hash_ip_subnet(second)) is same
    assert len(hash_ip_subnet(first)) == 64
    assert hash_ip_subnet(first) not in {hash_ip(first), hash_ip(second)}


@pytest.mark.parametrize("value", [None, "", "not an address", "999.1.1.1"])
def test_subnet_key_is_empty_without_an_address(value):
    assert hash_ip_subnet(value) == ""


def test_cast_vote_stores_the_subnet_key_and_sms_votes_have_none(voting, frozen_now):
    services.cast_vote(
        voting.stage,
        contestant_employee_no="1234",
        voter_hash=voting.voter.hash,
        phone_masked=voting.voter.masked,
        channel=VoteChannel.WEB,
        ip="198.51.100.23",
    )
    route_sms_batch(
        [InboundMessage(id="m1", sender="13900001111", text="TP 1234", to="10690000")],
        provider="generic",
    )

    keys = dict(Vote.objects.values_list("channel", "ip_subnet_hash"))
    assert keys == {VoteChannel.WEB: hash_ip_subnet("198.51.100.1"), VoteChannel.SMS: ""}


@pytest.fixture
def subnet_cluster(ledger):
    """Twenty votes for Alice from twenty addresses of one /24 within a minute (each IP
    alone stays under the IP pattern's threshold), and twenty for Bob from twenty /24s."""
    planted = [
        VoteFactory(
            stage=ledger.stage,
            contestant=ledger.alice,
            ip_hash=hash_ip(f"192.0.2.{i + 1}"),
            ip_subnet_hash=hash_ip_subnet(f"192.0.2.{i + 1}"),
            cast_at=CLUSTER_AT + dt.timedelta(seconds=2 * i),
        )
        for i in range(20)
    ]
    for i in range(20):
        VoteFactory(
            stage=ledger.stage,
            contestant=ledger.bob,
            ip_hash=hash_ip(f"10.{i}.0.1"),
            ip_subnet_hash=hash_ip_subnet(f"10.{i}.0.1"),
            cast_at=CLUSTER_AT + dt.timedelta(seconds=2 * i),
        )
    return planted


def test_subnet_pattern_is_on_now_that_the_ledger_has_the_column():
    assert fraud.subnet_available()
    assert fraud.PATTERN_SUBNET in fraud.patterns()


def test_a_planted_24_cluster_is_flagged_and_nothing_else(hr, ledger, subnet_cluster):
    response = hr.get(reverse("admin:voting_vote_changelist"), {"suspicious": "subnet"})

    assert response.status_code == 200
    assert {vote.pk for vote in response.context["cl"].result_list} == {
        vote.pk for vote in subnet_cluster
    }


def test_the_subnet_cluster_is_listed_with_a_key_that_selects_it(ledger, subnet_cluster):
    [cluster] = [c for c in fraud.top_clusters(ledger.stage.pk) if c.pattern == "subnet"]

    selected = fraud.suspicious_votes(Vote.objects.all(), cluster.key)

    assert (cluster.contestant, cluster.votes) == (ledger.alice, 20)
    assert set(selected.values_list("pk", flat=True)) == {v.pk for v in subnet_cluster}


def test_subnet_pattern_needs_the_threshold(ledger, subnet_cluster, settings):
    settings.VOTING_FRAUD_SUBNET_VOTES = 21

    assert not fraud.suspicious_votes(Vote.objects.all(), "subnet").exists()
