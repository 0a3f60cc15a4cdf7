"""Employee numbers with letters, as HR has them, and the vote codes customers use: staff
imported with numbers like ``BJ010086`` can be voted for by SMS with their vote code, on
the web by either number, and every receipt names the vote code."""

import csv
import io
import json

import pytest

from campaigns.choices import CampaignStatus
from campaigns.messaging.inbound.router import InboundMessage, route_sms_batch
from campaigns.messaging.models import OutboundSms
from campaigns.models import Campaign
from staff.importing.checking import check_staff_rows
from staff.importing.reading import read_staff_file
from staff.importing.services import import_staff
from staff.models import StaffMember
from staff.phones import parse_phone
from tests.factories.campaigns import ContestantFactory
from tests.factories.staff import OrgUnitFactory, PositionFactory
from voting.choices import VoteChannel
from voting.models import Vote

pytestmark = pytest.mark.django_db

PHONE = "13812345678"


@pytest.fixture
def imported(voting):
    """Two staff imported from a file with letter employee numbers, enrolled in the open
    stage of the ``voting`` fixture."""
    OrgUnitFactory(code="BJ01")
    PositionFactory(code="clerk", name="营业员")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["工号", "姓名", "单位编码", "岗位", "手机"])
    writer.writerow(["BJ010086", "赵敏", "BJ01", "clerk", "13900139001"])
    writer.writerow(["bj-010087", "钱进", "BJ01", "clerk", "13900139002"])
    checked = check_staff_rows(read_staff_file(buffer.getvalue().encode(), filename="s.csv"))
    import_staff(checked, actor=None)
    members = {m.employee_no: m for m in StaffMember.objects.filter(employee_no__startswith="BJ")}
    for member in members.values():
        ContestantFactory(stage=voting.stage, staff_member=member)
    return members


def test_imported_letter_numbers_get_vote_codes(imported):
    assert {no: m.vote_code for no, m in imported.items()} == {
        "BJ010086": "800001",
        "BJ-010087": "800002",
    }


def test_an_sms_with_the_vote_code_counts_for_that_staff_member(imported, voting):
    zhao = imported["BJ010086"]

    results = route_sms_batch(
        [
            InboundMessage(id="m1", sender=PHONE, text=f"TP {zhao.vote_code}", to="10690000"),
            InboundMessage(id="m2", sender="13812345679", text="TP BJ010086", to="10690000"),
        ],
        provider="generic",
    )

    assert [(r.status, r.code) for r in results] == [("counted", ""), ("help", "")]
    vote = Vote.objects.get()
    assert (vote.contestant.staff_member_id, vote.channel) == (zhao.pk, VoteChannel.SMS)
    receipt = OutboundSms.objects.get(phone_hash=parse_phone(PHONE).hash)
    assert receipt.params["employee_no"] == "800001"
    assert "800001" in results[0].reply


@pytest.mark.parametrize("number", ["800002", "BJ-010087", "bj-010087", "ＢＪ－０１００８７"])
def test_the_web_vote_api_takes_the_vote_code_or_the_employee_number(
    imported, voting, client, number
):
    client.post("/api/otp/", {"phone": PHONE}, content_type="application/json")
    code = OutboundSms.objects.filter(template="otp").latest("pk").params["code"]

    response = client.post(
        "/api/votes/",
        json.dumps({"stage": voting.stage.pk, "employee_no": number, "phone": PHONE, "code": code}),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    vote = Vote.objects.get(pk=response.json()["vote_id"])
    assert vote.contestant.staff_member_id == imported["BJ-010087"].pk
    receipt = client.get(f"/api/receipts/{vote.receipt_code}/").json()
    assert receipt["candidate"]["vote_code"] == "800002"
    assert receipt["candidate"]["employee_no"] == "BJ-010087"


def test_the_vote_page_is_found_by_either_number(imported, voting, client):
    Campaign.objects.filter(pk=voting.stage.campaign_id).update(status=CampaignStatus.RUNNING)

    by_code = client.get(f"/vote/{voting.stage.pk}/800001/")
    by_number = client.get(f"/vote/{voting.stage.pk}/bj010086/")

    assert by_code.status_code == by_number.status_code == 200
    assert "赵敏" in by_code.text
    assert "赵敏" in by_number.text
    assert client.get(f"/vote/{voting.stage.pk}/BJ%20010086/").status_code == 404
