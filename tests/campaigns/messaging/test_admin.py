"""SMS in the admin: the read-only inbound log (masked senders, the outcome's reference) and
the read-only outbox, both under the campaigns app."""

import pytest
from django.db import connection
from django.urls import reverse

from campaigns.messaging.choices import InboundStatus
from campaigns.messaging.models import InboundSms, OutboundSms
from tests.factories.messaging import OutboundSmsFactory
from tests.factories.voting import VoteFactory
from voting.choices import VoteChannel

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:campaigns_inboundsms_changelist")


def inbound(n: int, *, vote=None, **fields) -> InboundSms:
    if vote is not None:
        fields.update(handled_by="votes", outcome_ref=vote.pk, outcome_label=vote.receipt_code)
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

    # session, user, count, rows, and the values of the three plain-column filters (from
    # the newest rows); on PostgreSQL the planner's estimate of the table is read first.
    # (+ 2: an HR admin's own and group permissions, read once per request)
    with django_assert_num_queries(10 if connection.vendor == "postgresql" else 9):
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
        hr.get(reverse("admin:campaigns_inboundsms_add")),
        hr.post(reverse("admin:campaigns_inboundsms_change", args=[row.pk]), {"text": "TP 9"}),
        hr.post(reverse("admin:campaigns_inboundsms_delete", args=[row.pk]), {"post": "yes"}),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    row.refresh_from_db()
    assert (InboundSms.objects.count(), row.text) == (1, "TP 1234")


def test_no_full_phone_number_in_the_list_or_detail(hr):
    row = inbound(1, text="TP 1234 from 13912345678 or 139-1234-5679")

    pages = [
        hr.get(CHANGELIST),
        hr.get(reverse("admin:campaigns_inboundsms_change", args=[row.pk])),
    ]

    assert [page.status_code for page in pages] == [200, 200]
    for page in pages:
        assert "13912345678" not in page.text
        assert "1234-5679" not in page.text
        assert "139****5678" in page.text
    assert "139****5679" in pages[1].text


# the outbox ------------------------------------------------------------------------------


def test_outbox_shows_masked_number_label_and_text_never_the_destination(hr):
    sms = OutboundSms.objects.create(
        to_e164="+8613812345670",
        phone_hash="h",
        phone_masked="138****5670",
        template="otp",
        language="en",
        body="[Service Star] Your verification code is 123456.",
    )

    listing = hr.get(reverse("admin:campaigns_outboundsms_changelist"))
    detail = hr.get(reverse("admin:campaigns_outboundsms_change", args=[sms.pk]))

    assert "138****5670" in listing.text
    assert "One-time code" in listing.text  # the label voting registered for "otp"
    assert "Your verification code is 123456" in detail.text
    for page in (listing, detail):
        assert "13812345670" not in page.text


def test_outbox_filters_by_registered_template(hr):
    OutboundSmsFactory(template="otp", params={"code": "1"})
    receipt = OutboundSmsFactory()

    response = hr.get(
        reverse("admin:campaigns_outboundsms_changelist"), {"template": "vote_receipt"}
    )

    assert [row.pk for row in response.context["cl"].result_list] == [receipt.pk]


def test_outbox_is_read_only(hr):
    sms = OutboundSmsFactory(status="sent", to_e164="")
    base = "admin:campaigns_outboundsms"

    responses = [
        hr.get(reverse(f"{base}_add")),
        hr.post(reverse(f"{base}_change", args=[sms.pk]), {"status": "pending"}),
        hr.post(reverse(f"{base}_delete", args=[sms.pk]), {"post": "yes"}),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    sms.refresh_from_db()
    assert (OutboundSms.objects.count(), sms.status) == (1, "sent")
