"""Browser journeys of issue 14: a stage offers only the channels its rules weight (the
template's stage 1 counts SMS and satisfaction, stage 3 web and SMS), the vote page states
the limit, a number with no votes left learns it before any SMS, and a resend within the
minute says how long to wait."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.choices import CampaignStatus, StageStatus
from campaigns.messaging.models import OutboundSms
from campaigns.models import Campaign, Stage
from campaigns.services.campaign_template import create_campaign_from_template
from tests.factories.campaigns import ContestantFactory
from tests.factories.staff import StaffMemberFactory
from tests.factories.voting import VoteFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13812345678"


@pytest.fixture(autouse=True)
def _memory_broker(settings) -> None:
    settings.CELERY_BROKER_URL = "memory://"


@pytest.fixture
def template_stages() -> tuple[Stage, Stage]:
    """Stages 1 and 3 of the campaign template, both open, one candidate (100002) in each."""
    campaign = create_campaign_from_template(
        name="2026年度满意100服务明星评选", actor=None, starts_on=timezone.localdate()
    )
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.RUNNING)
    now = timezone.now()
    stages = campaign.stages.filter(order__in=(1, 3)).order_by("order")
    stages.update(
        status=StageStatus.OPEN,
        opened_at=now,
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=6),
    )
    member = StaffMemberFactory(employee_no="100002", name="李静")
    first, third = stages
    for stage in (first, third):
        ContestantFactory(stage=stage, staff_member=member)
    return first, third


def test_stage_1_offers_no_web_vote_and_stage_3_does(live_server, browser, template_stages):
    first, third = template_stages
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740})
    page = context.new_page()

    page.goto(f"{live_server.url}/vote/{first.pk}/100002/")
    first_notice = page.locator(".notice").inner_text()
    first_sms = page.locator(".vote-sms").inner_text()
    first_phone_inputs = page.locator("input[name=phone]").count()
    page.goto(f"{live_server.url}/vote/{third.pk}/100002/")
    third_phone_inputs = page.locator("input[name=phone]").count()
    third_limit = page.locator(".vote-limit").inner_text()
    page.goto(f"{live_server.url}/campaigns/{first.campaign_id}/candidates/100002/")
    vote_links = [
        page.locator(".entry-vote").nth(i).get_attribute("href")
        for i in range(page.locator(".entry-vote").count())
    ]
    context.close()

    assert first_notice == "本阶段不计网页投票。"
    assert ("TP 100002" in first_sms, first_phone_inputs) == (True, 0)
    assert third_phone_inputs == 1
    assert third_limit == "每天可投 1 票。"
    assert vote_links == [f"/vote/{third.pk}/100002/"]


def test_no_votes_left_is_said_before_a_code_and_a_resend_says_how_long_to_wait(
    live_server, browser, template_stages
):
    _first, third = template_stages
    VoteFactory(stage=third, contestant=third.contestants.get(), phone="13900000001")
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740})
    page = context.new_page()

    page.goto(f"{live_server.url}/vote/{third.pk}/100002/")
    page.locator("input[name=phone]").fill("13900000001")
    page.locator(".vote-panel button[type=submit]").click()
    page.locator(".field-error").wait_for()
    refusal = page.locator("main").inner_text()
    codes_for_spent_number = OutboundSms.objects.count()

    page.locator("input[name=phone]").fill(PHONE)
    page.locator(".vote-panel button[type=submit]").click()
    page.wait_for_url(f"**/vote/{third.pk}/100002/code/")
    page.locator(".vote-resend button[type=submit]").click()
    page.locator(".notice").wait_for()
    wait_notice = page.locator(".notice").inner_text()
    context.close()

    assert "您今天的 1 票已全部投出，零点后可再次投票。" in refusal
    assert codes_for_spent_number == 0
    assert OutboundSms.objects.count() == 1
    seconds = wait_notice.removeprefix("请 ").removesuffix(" 秒后再试。")
    assert wait_notice == f"请 {seconds} 秒后再试。"
    assert 0 < int(seconds) <= 60
