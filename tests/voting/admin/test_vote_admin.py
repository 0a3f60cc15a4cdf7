"""The vote ledger in the admin: list, filters, suspicious patterns, clusters page."""

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse

from tests.factories.voting import VoteFactory
from tests.voting.admin.conftest import CLEAN_PHONES, CLUSTER_AT, CLUSTER_PHONES
from voting.choices import VoteStatus
from voting.fingerprints import hash_ip
from voting.fraud.filters import VoteFilter

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:voting_vote_changelist")
CLUSTERS = reverse("admin:voting_vote_clusters")


def listed(response) -> set[int]:
    return {vote.pk for vote in response.context["cl"].result_list}


@pytest.mark.parametrize("votes", [1, 3])
def test_changelist_query_count_is_constant(hr, django_assert_num_queries, votes):
    stage = VoteFactory().stage
    VoteFactory.create_batch(votes - 1, stage=stage)

    # session, user, stage filter lookups, count, page rows; on PostgreSQL the planner's
    # estimate of the table is read first (too small here: counted exactly).
    # (+ 2: an HR admin's own and group permissions, read once per request)
    with django_assert_num_queries(8 if connection.vendor == "postgresql" else 7):
        response = hr.get(CHANGELIST)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == votes


def test_changelist_shows_candidate_masked_phone_and_ip_prefix(hr, ledger):
    vote = ledger.cluster[0]

    response = hr.get(CHANGELIST)

    assert vote.receipt_code in response.text
    assert "138****5670" in response.text
    assert vote.ip_hash[:8] in response.text
    assert f"{ledger.alice.staff_member.name} (1234)" in response.text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"channel__exact": "sms"}, lambda led: {led.clean[2].pk}),
        ({"hour": "10"}, lambda led: {v.pk for v in led.cluster}),
        ({"hour": "20"}, lambda led: {led.clean[0].pk}),
        ({"contestant__id__exact": "BOB"}, lambda led: {v.pk for v in led.clean}),
        ({"status__exact": "invalidated"}, lambda led: set()),
        (
            {"cast_at__year": "2026", "cast_at__month": "11", "cast_at__day": "21"},
            lambda led: {led.clean[1].pk, led.clean[2].pk},
        ),
        ({"q": "138****5672"}, lambda led: {led.cluster[2].pk}),
        ({"q": "1234"}, lambda led: {v.pk for v in led.cluster}),
    ],
)
def test_changelist_filters_are_exact(hr, ledger, params, expected):
    VoteFactory(phone="13999999999")  # another stage: never listed with a stage filter
    if params.get("contestant__id__exact") == "BOB":
        params = {"contestant__id__exact": str(ledger.bob.pk)}
    query = {"stage__id__exact": str(ledger.stage.pk), **params}

    response = hr.get(CHANGELIST, query)

    assert response.status_code == 200
    assert listed(response) == expected(ledger)


def test_receipt_search_finds_one_vote_typed_loosely(hr, ledger):
    vote = ledger.clean[1]

    response = hr.get(CHANGELIST, {"q": vote.receipt_code.lower()})

    assert listed(response) == {vote.pk}


def test_candidate_filter_lists_the_stage_candidates(hr, ledger):
    response = hr.get(CHANGELIST, {"stage__id__exact": ledger.stage.pk})

    assert f"1234 {ledger.alice.staff_member.name}" in response.text
    assert f"5678 {ledger.bob.staff_member.name}" in response.text


@pytest.mark.parametrize("pattern", ["ip", "sequence", "any"])
def test_suspicious_filter_finds_the_planted_cluster_and_not_the_clean_votes(hr, ledger, pattern):
    response = hr.get(CHANGELIST, {"suspicious": pattern})

    assert listed(response) == {v.pk for v in ledger.cluster}


def test_suspicious_ip_pattern_needs_the_threshold(hr, ledger, settings):
    settings.VOTING_FRAUD_IP_VOTES = 7

    response = hr.get(CHANGELIST, {"suspicious": "ip"})

    assert listed(response) == set()


def test_suspicious_counts_invalidated_votes_too(hr, ledger):
    # Invalidating part of a cluster must not make the rest look clean.
    for vote in ledger.cluster[:3]:
        VoteFactory._meta.model.objects.filter(pk=vote.pk).update(
            status=VoteStatus.INVALIDATED, invalidated_reason="x", invalidated_at=CLUSTER_AT
        )

    response = hr.get(CHANGELIST, {"suspicious": "ip", "status__exact": "valid"})

    assert listed(response) == {v.pk for v in ledger.cluster[3:]}


def test_sequence_pattern_ignores_unrelated_numbers_from_one_window(hr, ledger):
    # Four different voters in one window whose numbers are not consecutive: not a cluster.
    for i, phone in enumerate(["13500001111", "13600002222", "15000003333", "18800004444"]):
        VoteFactory(
            stage=ledger.stage,
            contestant=ledger.bob,
            phone=phone,
            ip_hash=hash_ip(f"192.0.2.{i}"),
            cast_at=CLUSTER_AT,
        )

    response = hr.get(CHANGELIST, {"suspicious": "sequence"})

    assert listed(response) == {v.pk for v in ledger.cluster}


def test_clusters_page_lists_the_cluster_and_links_to_it(hr, ledger):
    response = hr.get(CLUSTERS, {"stage": ledger.stage.pk})

    rows = response.context["rows"]
    assert [(r["cluster"].pattern, r["cluster"].votes, r["cluster"].voters) for r in rows] == [
        ("ip", 6, 6),
        ("sequence", 6, 6),
    ]
    assert rows[1]["cluster"].shown_key == "138****567x"
    assert rows[0]["window"][0] == dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
    followed = hr.get(rows[0]["url"])
    assert listed(followed) == {v.pk for v in ledger.cluster}


def test_cluster_key_of_another_pattern_value_lists_nothing(hr, ledger):
    response = hr.get(CHANGELIST, {"suspicious": "ip:1:zz:1"})

    assert listed(response) == set()


def test_no_full_phone_number_on_any_fraud_review_page(hr, ledger):
    vote = ledger.cluster[0]
    pages = [
        hr.get(CHANGELIST),
        hr.get(CHANGELIST, {"suspicious": "any"}),
        hr.get(reverse("admin:voting_vote_change", args=[vote.pk])),
        hr.get(CLUSTERS, {"stage": ledger.stage.pk}),
        hr.post(CHANGELIST, {"action": "invalidate_selected", "_selected_action": [vote.pk]}),
        hr.get(reverse("admin:voting_voter_changelist")),
    ]

    assert [page.status_code for page in pages] == [200] * len(pages)
    for page in pages:
        for phone in CLUSTER_PHONES + CLEAN_PHONES:
            assert phone not in page.text
            assert phone[3:] not in page.text


def test_pattern_helpers_agree_with_the_filter(ledger):
    vote_filter = VoteFilter(params={"stage__id__exact": str(ledger.stage.pk), "suspicious": "any"})

    assert set(vote_filter.apply().values_list("pk", flat=True)) == {v.pk for v in ledger.cluster}
