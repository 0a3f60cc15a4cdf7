"""Browser journey: the public leaderboard on a phone and the big screen at the venue
update themselves when a new board is published (votes cast, folded and published in the
test process, as the workers would)."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.choices import CampaignStatus
from staff.phones import parse_phone
from tests.factories.campaigns import CampaignFactory, ContestantFactory, StageFactory
from tests.factories.staff import OrgUnitFactory, PositionFactory, StaffMemberFactory
from voting.choices import VoteChannel
from voting.counting.publication import publish_stage_leaderboard
from voting.counting.tallies import fold_tally_events
from voting.ledger.services import cast_vote

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A hang guard for "updates by itself" (the page polls every 3 s), not a timing assertion.
DEADLINE_MS = 15_000
PEOPLE = [
    ("200001", "张晓明", "华城人民路营业厅", 42),
    ("200002", "李静", "华城东门营业厅", 38),
    ("200003", "王芳", "客服中心一组", 35),
    ("200004", "陈伟", "政企客户部", 31),
    ("200005", "刘洋", "华城西站营业厅", 27),
    ("200006", "赵敏", "客服中心二组", 22),
    ("200007", "孙磊", "南区营业厅", 18),
    ("200008", "周婷", "VIP客户经理团队", 14),
    ("200009", "吴昊", "北区营业厅", 9),
    ("200010", "郑雪", "客服中心三组", 5),
]
_numbers = iter(range(10**6))


@pytest.fixture(autouse=True)
def _memory_broker(settings) -> None:
    settings.CELERY_BROKER_URL = "memory://"


def cast(stage, contestant, times: int) -> None:
    for _ in range(times):
        phone = parse_phone(f"188{next(_numbers):08d}")
        cast_vote(
            stage,
            contestant=contestant,
            voter_hash=phone.hash,
            phone_masked=phone.masked,
            channel=VoteChannel.WEB if times % 3 else VoteChannel.SMS,
        )


def first_name_is(page, selector: str, name: str) -> None:
    page.wait_for_function(
        "([selector, name]) => {"
        "  const first = document.querySelector(selector);"
        "  return first !== null && first.textContent.includes(name);"
        "}",
        arg=[selector, name],
        timeout=DEADLINE_MS,
    )


def test_leaderboard_updates_itself_on_a_phone_and_on_the_big_screen(
    live_server, browser, screenshot_dir
):
    campaign = CampaignFactory(name="2026年度满意100服务明星评选", status=CampaignStatus.RUNNING)
    now = timezone.now()
    stage = StageFactory(
        campaign=campaign,
        order=3,
        name="第三阶段：客户网络投票",
        open=True,
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=6),
    )
    clerk = PositionFactory(code="store_clerk", name="营业员")
    contestants = {}
    for number, name, unit, votes in PEOPLE:
        contestant = ContestantFactory(
            stage=stage,
            staff_member=StaffMemberFactory(
                employee_no=number, name=name, unit=OrgUnitFactory(name=unit), position=clerk
            ),
        )
        contestants[name] = contestant
        cast(stage, contestant, votes)
    fold_tally_events()
    publish_stage_leaderboard(stage)

    phone_context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740})
    phone = phone_context.new_page()
    phone.goto(f"{live_server.url}/stages/{stage.pk}/leaderboard/")
    screen_context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
    screen = screen_context.new_page()
    screen.goto(f"{live_server.url}/stages/{stage.pk}/leaderboard/screen/")

    assert phone.locator(".board-row .board-name").first.inner_text() == "张晓明"
    assert screen.locator(".screen-row .board-name").first.inner_text().startswith("张晓明")
    assert screen.locator(".screen-row").count() == 10
    assert screen.evaluate(
        "document.documentElement.scrollHeight <= window.innerHeight"
        " && document.documentElement.scrollWidth <= window.innerWidth"
    )

    # 王芳 (third, 35 votes) gets 10 more: 45, first place.
    cast(stage, contestants["王芳"], 10)
    fold_tally_events()
    publish_stage_leaderboard(stage)

    first_name_is(phone, ".board-row .board-name", "王芳")
    first_name_is(screen, ".screen-row .board-name", "王芳")
    assert phone.locator(".board-row").first.get_attribute("class") == (
        "board-row board-top board-top-1 moved-up"
    )
    assert "moved-up" in (screen.locator(".screen-row").first.get_attribute("class") or "")
    assert screen.locator(".screen-row.moved-down").count() == 2
    assert phone.locator(".board-row .board-votes strong").first.inner_text() == "45"
    # Let the slide finish (0.8-1 s transitions) before the pictures are taken.
    phone.wait_for_timeout(1500)
    phone.screenshot(path=screenshot_dir / "leaderboard-phone.png", full_page=True)
    screen.screenshot(path=screenshot_dir / "leaderboard-screen.png")

    phone_context.close()
    screen_context.close()
