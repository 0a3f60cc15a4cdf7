"""Browser journey of an audience member at a live contest: the vote page of a contestant
who is not on stage says so; the one on stage takes a number and a code; a vote sent after
the host closed the turn is refused with the reason."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.choices import CampaignStatus
from campaigns.messaging.models import OutboundSms
from evaluations.services import live
from staff.phones import parse_phone
from tests.factories.campaigns import CampaignFactory, ContestantFactory
from tests.factories.evaluations import LiveStageFactory, PanelFactory
from tests.factories.staff import StaffMemberFactory
from voting.models import Vote

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13812345678"


@pytest.fixture(autouse=True)
def _memory_broker(settings) -> None:
    settings.CELERY_BROKER_URL = "memory://"


def test_audience_votes_follow_the_host(live_server, browser, screenshot_dir):
    campaign = CampaignFactory(name="服务技能现场大赛", status=CampaignStatus.RUNNING)
    now = timezone.now()
    stage = LiveStageFactory(
        campaign=campaign,
        open=True,
        opens_at=now - dt.timedelta(hours=1),
        closes_at=now + dt.timedelta(hours=3),
    )
    panel = PanelFactory(stage=stage)
    on_stage, _waiting = (
        ContestantFactory(
            stage=stage,
            running_order=n,
            staff_member=StaffMemberFactory(employee_no=number, name=name),
        )
        for n, (number, name) in enumerate([("200001", "陈晨"), ("200002", "刘洋")], start=1)
    )
    live.put_on_stage(panel, contestant_id=on_stage.pk, actor=None)
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740})
    page = context.new_page()

    page.goto(f"{live_server.url}/vote/live/{stage.pk}/200002/")
    assert "这位选手现在不在台上" in page.locator(".notice").inner_text()
    assert page.locator("input[name=phone]").count() == 0
    page.screenshot(path=screenshot_dir / "audience-1-not-on-stage.png", full_page=True)

    page.goto(f"{live_server.url}/vote/live/{stage.pk}/200001/")
    page.locator("input[name=phone]").fill(PHONE)
    page.locator(".vote-panel button[type=submit]").click()
    page.wait_for_url(f"**/vote/live/{stage.pk}/200001/code/")
    code = (
        OutboundSms.objects.filter(phone_hash=parse_phone(PHONE).hash).latest("pk").params["code"]
    )
    page.locator("input[name=code]").fill(code)
    live.close_scoring(panel, contestant_id=on_stage.pk, actor=None)
    page.locator("form:has(input[name=code]) button[type=submit]").click()

    page.locator(".vote-reason").wait_for()
    assert page.locator(".vote-reason").inner_text() == "这位选手的现场观众投票已结束。"
    page.screenshot(path=screenshot_dir / "audience-2-turn-closed.png", full_page=True)
    assert Vote.objects.count() == 0
    context.close()
