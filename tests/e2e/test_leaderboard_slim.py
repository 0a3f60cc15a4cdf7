"""Browser journey: on a phone, a long board polls only the rows its screen shows (the slim
fragment) and still updates itself; the rows below keep their place until a whole poll."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from campaigns.choices import CampaignStatus
from tests.e2e.test_leaderboard import cast, first_name_is
from tests.factories.campaigns import CampaignFactory, ContestantFactory, StageFactory
from tests.factories.staff import StaffMemberFactory
from voting.counting.publication import publish_stage_leaderboard
from voting.counting.tallies import fold_tally_events

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTESTANTS = 60


@pytest.fixture(autouse=True)
def _memory_broker(settings) -> None:
    settings.CELERY_BROKER_URL = "memory://"


def test_phone_board_polls_the_slim_fragment_and_still_updates(live_server, browser):
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    now = timezone.now()
    stage = StageFactory(
        campaign=campaign,
        open=True,
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=6),
    )
    contestants = [
        ContestantFactory(
            stage=stage,
            staff_member=StaffMemberFactory(employee_no=f"3{i:05d}", name=f"选手{i:02d}"),
        )
        for i in range(CONTESTANTS)
    ]
    for i, contestant in enumerate(contestants[:5]):
        cast(stage, contestant, 10 - i)
    fold_tally_events()
    publish_stage_leaderboard(stage)
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740})
    phone = context.new_page()
    polled: list[str] = []
    phone.on("request", lambda request: polled.append(request.url))
    phone.goto(f"{live_server.url}/stages/{stage.pk}/leaderboard/")
    first_before = phone.locator(".board-row .board-name").first.inner_text()

    # 选手04 (fifth, 6 votes) gets 10 more: 16, first place.
    cast(stage, contestants[4], 10)
    fold_tally_events()
    publish_stage_leaderboard(stage)
    first_name_is(phone, ".board-row .board-name", "选手04")
    rows_after = phone.locator(".board-row").count()
    keys = phone.eval_on_selector_all(".board-row", "rows => rows.map(r => r.dataset.key)")
    top_votes = phone.locator(".board-row .board-votes strong").first.inner_text()
    context.close()

    live = [url for url in polled if "/leaderboard/live/" in url]
    assert first_before == "选手00"
    assert top_votes == "16"
    # Every poll but each tenth (a whole one, 30 s apart) asks for the slim fragment: the
    # rows on this phone's screen and a few more (how many depends on the layout), far
    # fewer than the board holds.
    asked = [parse_qs(urlsplit(url).query).get("rows", ["0"])[0] for url in live]
    assert asked[0] != "0"
    assert all(0 < int(rows) < CONTESTANTS / 2 for rows in asked if rows != "0")
    assert rows_after == CONTESTANTS
    assert len(set(keys)) == CONTESTANTS
