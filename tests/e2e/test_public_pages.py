"""Browser journey on a phone: a customer finds a contestant of the running campaign."""

import pytest

from campaigns.choices import CampaignStatus
from tests.factories.campaigns import CampaignFactory, ContestantFactory, StageFactory
from tests.factories.staff import OrgUnitFactory, PositionFactory, StaffMemberFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 740}
MAX_PAGE_BYTES = 200 * 1024


def test_customer_finds_a_candidate_on_a_phone(live_server, page, screenshot_dir):
    campaign = CampaignFactory(
        name="2026年度满意100服务明星评选",
        description="全体一线员工参与，客户、评委和观众共同选出十位服务明星。",
        status=CampaignStatus.RUNNING,
    )
    first = StageFactory(
        campaign=campaign, order=1, name="第一阶段：客户评价", open=True, timed=True
    )
    StageFactory(campaign=campaign, order=2, name="第二阶段：现场技能比赛", timed=True)
    store = OrgUnitFactory(name="华城人民路营业厅")
    clerk = PositionFactory(code="store_clerk", name="营业员")
    names = ["张晓明", "李静", "王芳", "刘伟", "陈思雨", "杨帆", "赵雪", "黄海燕", "周杰"]
    for number, name in enumerate(names, start=100001):
        ContestantFactory(
            stage=first,
            staff_member=StaffMemberFactory(
                employee_no=str(number),
                name=name,
                unit=store,
                position=clerk,
                story="耐心教老年客户使用智能手机，被大家亲切地称为“贴心小棉袄”。",
            ),
        )
    for number in range(200001, 200022):  # 30 in all: a full first page and a second
        ContestantFactory(
            stage=first, staff_member=StaffMemberFactory(employee_no=str(number), unit=store)
        )
    page.set_viewport_size(PHONE)
    weights: dict[str, int] = {}
    page.on(
        "response",
        lambda response: (
            weights.__setitem__(response.url, len(response.body()))
            if response.request.resource_type in {"document", "stylesheet"}
            else None
        ),
    )

    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "2026年度满意100服务明星评选"
    assert page.locator(".state-open").first.inner_text() == "已开启"
    page.screenshot(path=screenshot_dir / "public-campaign.png", full_page=True)

    weights.clear()
    page.locator(f'.actions a[href="/stages/{first.pk}/contestants/"]').click()
    page.wait_for_selector(".gallery")
    assert page.locator(".person-card").count() == 24
    assert page.locator(".page-of").count() == 1
    page_bytes = sum(weights.values())
    assert set(weights) == {f"{live_server.url}/stages/{first.pk}/contestants/"} | {
        url for url in weights if url.endswith(".css")
    }
    assert 0 < page_bytes < MAX_PAGE_BYTES
    page.screenshot(path=screenshot_dir / "public-contestants.png", full_page=True)

    page.get_by_role("searchbox").fill("李静")
    page.locator(".search-row button[type=submit]").click()
    page.wait_for_url("**/?q=*")
    assert page.locator(".person-card").count() == 1
    page.get_by_role("link", name="李静").click()

    page.wait_for_selector(".profile")
    assert page.get_by_role("heading", level=1).inner_text() == "李静"
    assert "100002" in page.locator(".person-no").inner_text()
    assert "华城人民路营业厅" in page.locator(".facts").inner_text()
    page.screenshot(path=screenshot_dir / "public-candidate.png", full_page=True)


def test_status_pills_language_menu_and_icon_on_a_phone(live_server, page, screenshot_dir):
    campaign = CampaignFactory(name="满意100服务明星", status=CampaignStatus.RUNNING)
    long_name = "第一阶段：全体一线员工客户满意度评价与短信投票（营业厅、客服中心、政企客户经理）"
    StageFactory(campaign=campaign, order=1, name=long_name, open=True, timed=True)
    StageFactory(campaign=campaign, order=2, name="第二阶段：现场技能比赛与观众投票决出二十三强")
    page.set_viewport_size(PHONE)

    for path in ("/", f"/campaigns/{campaign.pk}/"):
        page.goto(f"{live_server.url}{path}")
        pills = page.locator(".state")
        assert pills.count() == 1  # the draft second stage is not the public's
        box = pills.first.bounding_box()
        # One line of text, wider than tall: the pill keeps its shape beside a wrapped title.
        assert box["height"] < 32
        assert box["width"] > box["height"]
    page.screenshot(path=screenshot_dir / "public-campaign-long-title.png", full_page=True)

    options = page.locator("#lang-select option")
    assert options.all_inner_texts() == ["简体中文", "English"]
    page.select_option("#lang-select", "en")
    page.locator(".lang-switch button").click()
    page.wait_for_load_state()
    assert page.locator("#lang-select option").all_inner_texts() == ["简体中文", "English"]
    assert page.locator(".state").first.inner_text() == "Open"

    icon = page.locator('link[rel="icon"]').get_attribute("href")
    response = page.request.get(f"{live_server.url}{icon}")
    assert response.status == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    redirected = page.request.get(f"{live_server.url}/favicon.ico")
    assert redirected.status == 200
    assert redirected.url.endswith("favicon.svg")
