"""Inbound SMS in the admin: a read-only log with masked senders and the linked receipt."""

import pytest
from django.urls import reverse

from tests.factories.voting import VoteFactory
from voting.choices import InboundStatus, VoteChannel
from voting.models import InboundSms

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:voting_inboundsms_changelist")


def inbound(n: int, **fields) -> InboundSms:
    values = {
        "provider": "generic",
        "message_id": f"m{n}",
        "phone_masked": "138****5678",
        "text": "TP 1234",
        "status": InboundStatus.HELP,
        **fields,
    }
    return InboundSms.objects.create(**values)


def listed(response) -> list[str]:
    return [row.message_id for row in response.context["cl"].result_list]


@pytest.mark.parametrize("rows", [1, 3])
def test_changelist_query_count_is_constant(hr, django_assert_num_queries, rows):
    for n in range(rows):
        vote = VoteFactory(channel=VoteChannel.SMS)
        inbound(n, status=InboundStatus.COUNTED, vote=vote)

    with django_assert_num_queries(8):
        response = hr.get(CHANGELIST)

    assert response.status_code == 200
    assert len(listed(response)) == rows


def test_changelist_shows_the_outcome_and_the_receipt(hr):
    vote = VoteFactory(channel=VoteChannel.SMS, phone="13812345678")
    inbound(1, status=InboundStatus.COUNTED, vote=vote)

    page = hr.get(CHANGELIST).text

    assert "138****5678" in page
    assert vote.receipt_code in page
    assert "Vote counted" in page


@pytest.mark.parametrize(
    ("term", "expected"),
    [("m2", ["m2"]), ("139****0000", ["m3"]), ("nothing", [])],
)
def test_search_by_message_id_and_masked_number(hr, term, expected):
    inbound(1)
    inbound(2)
    inbound(3, phone_masked="139****0000")

    assert listed(hr.get(CHANGELIST, {"q": term})) == expected


def test_search_by_receipt_typed_loosely(hr):
    vote = VoteFactory(channel=VoteChannel.SMS)
    inbound(1, status=InboundStatus.COUNTED, vote=vote)
    inbound(2)

    assert listed(hr.get(CHANGELIST, {"q": f" {vote.receipt_code.lower()} "})) == ["m1"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"provider": "twilio"}, ["m2"]),
        ({"status__exact": InboundStatus.REFUSED}, ["m3"]),
        ({"code": "limit_reached"}, ["m3"]),
    ],
)
def test_filters_are_exact(hr, params, expected):
    inbound(1)
    inbound(2, provider="twilio")
    inbound(3, status=InboundStatus.REFUSED, code="limit_reached")

    assert listed(hr.get(CHANGELIST, params)) == expected


def test_add_change_and_delete_are_forbidden(hr):
    row = inbound(1)

    responses = [
        hr.get(reverse("admin:voting_inboundsms_add")),
        hr.post(reverse("admin:voting_inboundsms_change", args=[row.pk]), {"text": "TP 9"}),
        hr.post(reverse("admin:voting_inboundsms_delete", args=[row.pk]), {"post": "yes"}),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    row.refresh_from_db()
    assert (InboundSms.objects.count(), row.text) == (1, "TP 1234")


def test_no_full_phone_number_in_the_list_or_detail(hr):
    row = inbound(1, text="TP 1234 from 13912345678 or 139-1234-5679")

    pages = [hr.get(CHANGELIST), hr.get(reverse("admin:voting_inboundsms_change", args=[row.pk]))]

    assert [page.status_code for page in pages] == [200, 200]
    for page in pages:
        assert "13912345678" not in page.text
        assert "1234-5679" not in page.text
        assert "139****5678" in page.text
    assert "139****5679" in pages[1].text
