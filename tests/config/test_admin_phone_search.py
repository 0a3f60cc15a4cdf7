"""Admin changelists searched by phone number: the number goes in a POST body and comes
back as the keyed hash (``?phone_hash=``), never in a URL (``staff.admin_phone_search``).
Every changelist of rows keyed by a phone takes it: staff, inbound and outbound SMS, votes,
voters and one-time codes."""

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from campaigns.messaging.choices import InboundStatus
from campaigns.messaging.models import InboundSms
from staff.phones import parse_phone
from tests.factories.messaging import OutboundSmsFactory
from tests.factories.staff import StaffMemberFactory, UserFactory
from tests.factories.voting import OtpChallengeFactory, VoteFactory, VoterFactory

pytestmark = pytest.mark.django_db

WANTED, OTHER = "13900000001", "13900000002"


def _inbound(phone: str) -> InboundSms:
    parsed = parse_phone(phone)
    return InboundSms.objects.create(
        provider="generic",
        message_id=f"m{phone}",
        phone_hash=parsed.hash,
        phone_masked=parsed.masked,
        status=InboundStatus.HELP,
    )


ROWS: dict[str, Callable[[str], object]] = {
    "staff_staffmember": lambda phone: StaffMemberFactory(phone=phone),
    "campaigns_inboundsms": _inbound,
    "campaigns_outboundsms": lambda phone: OutboundSmsFactory(phone=phone),
    "voting_vote": lambda phone: VoteFactory(phone=phone),
    "voting_voter": lambda phone: VoterFactory(phone=phone),
    "voting_otpchallenge": lambda phone: OtpChallengeFactory(phone_hash=parse_phone(phone).hash),
}
CHANGELISTS = list(ROWS)


@pytest.fixture
def hr(client):
    client.force_login(UserFactory(in_hr_admins=True))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def listed(response) -> list[int]:
    return sorted(row.pk for row in response.context["cl"].result_list)


@pytest.mark.parametrize("admin_name", CHANGELISTS)
def test_a_number_posted_finds_its_rows_through_the_hash(hr, admin_name):
    wanted, _other = ROWS[admin_name](WANTED), ROWS[admin_name](OTHER)
    changelist = reverse(f"admin:{admin_name}_changelist")

    page = hr.get(changelist)
    found = hr.post(
        reverse(f"admin:{admin_name}_phone_search"),
        {"phone": "+86 139-0000-0001", "_changelist_filters": "q=x&p=2&o=1"},
    )
    result = hr.get(found["Location"])

    assert 'id="phone-search"' in page.text
    assert 'method="post"' in page.text
    assert found.status_code == 302
    location = urlsplit(found["Location"])
    assert location.path == changelist
    assert parse_qs(location.query) == {"phone_hash": [parse_phone(WANTED).hash], "o": ["1"]}
    assert "0001" not in found["Location"]
    assert listed(result) == [wanted.pk]
    assert "The number searched for" in result.text


@pytest.mark.parametrize("admin_name", ["staff_staffmember", "voting_vote"])
@pytest.mark.parametrize("typed", ["12345", "", "x" * 41, "+1 415 555 0100"])
def test_a_bad_number_is_refused_with_a_message_and_no_filter(hr, admin_name, typed):
    ROWS[admin_name](WANTED)

    response = hr.post(
        reverse(f"admin:{admin_name}_phone_search"),
        {"phone": typed, "_changelist_filters": "o=1"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse(f"admin:{admin_name}_changelist") + "?o=1"
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1
    assert len(listed(response)) == 1


@pytest.mark.parametrize("admin_name", CHANGELISTS)
def test_the_search_takes_only_a_post_from_someone_who_may_view(client, hr, admin_name):
    url = reverse(f"admin:{admin_name}_phone_search")
    nobody = UserFactory(is_staff=True)

    as_get = hr.get(url, {"phone": WANTED})
    client.force_login(nobody)
    without_permission = client.post(url, {"phone": WANTED})

    assert as_get.status_code == 405
    assert without_permission.status_code == 403


def test_a_view_permission_is_enough_to_search(client):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboundsms"))
    client.force_login(viewer)

    response = client.post(reverse("admin:campaigns_outboundsms_phone_search"), {"phone": WANTED})

    assert response.status_code == 302
    assert "phone_hash=" in response["Location"]


def test_a_fraud_job_reapplies_the_phone_filter(db):
    from voting.fraud.filters import VoteFilter

    wanted, _other = VoteFactory(phone=WANTED), VoteFactory(phone=OTHER)
    query = {"phone_hash": parse_phone(WANTED).hash}

    selection = VoteFilter.from_query(query, max_vote_id=None).apply()

    assert [vote.pk for vote in selection] == [wanted.pk]
