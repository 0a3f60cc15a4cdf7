"""Browser journey on a phone: a customer finds a candidate, verifies their number with the
code from the SMS outbox, votes, and checks the receipt."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.choices import CampaignStatus
from campaigns.messaging.models import OutboundSms
from staff.phones import parse_phone
from tests.factories.campaigns import CampaignFactory, ContestantFactory, StageFactory
from tests.factories.staff import OrgUnitFactory, PositionFactory, StaffMemberFactory
from voting.choices import VoteChannel
from voting.models import Vote

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13812345678"


@pytest.fixture(autouse=True)
def _memory_broker(settings) -> None:
    """Wake-ups of the SMS sender go to an in-memory broker: the code stays in the outbox,
    where the test reads it like the phone would."""
    settings.CELERY_BROKER_URL = "memory://"


def test_voter_votes_on_a_phone_with_a_code_from_the_sms(live_server, browser, screenshot_dir):
    campaign = CampaignFactory(name="2026年度满意100服务明星评选", status=CampaignStatus.RUNNING)
    now = timezone.now()
    stage = StageFactory(
        campaign=campaign,
        order=3,
        name="第三阶段：客户网络投票",
        open=True,
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=6),
        votes_per_day=5,
    )
    store = OrgUnitFactory(name="华城人民路营业厅")
    clerk = PositionFactory(code="store_clerk", name="营业员")
    for number, name in [("100001", "张晓明"), ("100002", "李静"), ("100003", "王芳")]:
        ContestantFactory(
            stage=stage,
            staff_member=StaffMemberFactory(
                employee_no=number,
                name=name,
                unit=store,
                position=clerk,
                story="耐心教老年客户使用智能手机，被大家亲切地称为“贴心小棉袄”。",
            ),
        )
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740})
    page = context.new_page()

    page.goto(f"{live_server.url}/stages/{stage.pk}/contestants/")
    page.get_by_role("link", name="李静").click()
    page.wait_for_url(f"**/campaigns/{campaign.pk}/candidates/100002/")
    assert page.get_by_role("heading", level=1).inner_text() == "李静"
    page.screenshot(path=screenshot_dir / "voter-1-candidate.png", full_page=True)

    page.get_by_role("link", name="投票", exact=True).click()
    page.wait_for_url(f"**/vote/{stage.pk}/100002/")
    sms_instruction = page.locator(".vote-sms").inner_text()
    assert ("TP 100002" in sms_instruction, "10690000" in sms_instruction) == (True, True)
    page.locator("input[name=phone]").fill(PHONE)
    page.screenshot(path=screenshot_dir / "voter-2-phone.png", full_page=True)
    page.locator(".vote-panel button[type=submit]").click()

    page.wait_for_url(f"**/vote/{stage.pk}/100002/code/")
    assert "如果该号码可以接收短信，验证码正在发送中。" in page.locator(".notice").inner_text()
    code = (
        OutboundSms.objects.filter(phone_hash=parse_phone(PHONE).hash).latest("pk").params["code"]
    )
    code_input = page.locator("input[name=code]")
    assert code_input.get_attribute("inputmode") == "numeric"
    assert code_input.get_attribute("autocomplete") == "one-time-code"
    code_input.fill(code)
    page.screenshot(path=screenshot_dir / "voter-3-code.png", full_page=True)
    page.locator("form:has(input[name=code]) button[type=submit]").click()

    page.locator(".vote-counted").wait_for()
    vote = Vote.objects.get()
    assert page.locator(".receipt-code").inner_text() == vote.receipt_code
    assert (vote.contestant.staff_member.employee_no, vote.channel) == ("100002", VoteChannel.WEB)
    page.screenshot(path=screenshot_dir / "voter-4-result.png", full_page=True)

    page.locator(f'a[href="/vote/receipts/{vote.receipt_code}/"]').click()
    page.wait_for_url(f"**/vote/receipts/{vote.receipt_code}/")
    assert page.locator(".receipt-status").inner_text() == "已计入"
    assert "138****5678" not in page.locator("main").inner_text()
    page.screenshot(path=screenshot_dir / "voter-5-receipt.png", full_page=True)
    context.close()
