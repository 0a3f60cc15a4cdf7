"""Browser journey: an HR admin runs stage 1 of a campaign from the template to finalised.

The live server runs in this process, so component providers registered here (fake
customer satisfaction and SMS votes) are the ones its result engine sees.
"""

from decimal import Decimal

import pytest

from campaigns import components
from campaigns.choices import ComponentKey, StageStatus
from campaigns.components import VOTE_SHARE, score_range
from campaigns.models import Campaign, Stage
from tests.factories.staff import OrgUnitFactory, PositionFactory, StaffMemberFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# employee number → (satisfaction mean on 1-10, SMS votes); totals fall in this order.
SCORES = {
    "20001": ("9.5", 40),
    "20002": ("9.0", 35),
    "20003": ("8.8", 30),
    "20004": ("8.1", 25),
    "20005": ("7.7", 20),
    "20006": ("7.0", 15),
    "20007": ("6.5", 10),
    "20008": ("6.0", 5),
}
NAMES = ["张晓明", "李静", "王芳", "赵磊", "刘洋", "陈晨", "杨帆", "黄蕾"]


def _by_employee_no(stage: Stage, index: int) -> dict[int, Decimal]:
    return {
        c.pk: Decimal(str(SCORES[c.staff_member.employee_no][index]))
        for c in stage.contestants.select_related("staff_member")
    }


def satisfaction(stage: Stage) -> dict[int, Decimal]:
    return _by_employee_no(stage, 0)


def sms_votes(stage: Stage) -> dict[int, Decimal]:
    return _by_employee_no(stage, 1)


def submit(page) -> None:
    page.locator("#content-main input[type=submit].default").click()
    page.wait_for_load_state()


def test_hr_admin_runs_stage_one_from_template_to_finalised(live_server, page, screenshot_dir):
    UserFactory(username="hr", password="pass-word-123", hr_admin=True)
    store = OrgUnitFactory(name="人民路营业厅")
    clerk = PositionFactory(code="clerk", name="营业员")
    for (employee_no, _score), name in zip(SCORES.items(), NAMES, strict=True):
        StaffMemberFactory(employee_no=employee_no, name=name, unit=store, position=clerk)
    saved = components.registered_components()
    for key in saved:
        components.unregister_component(key)
    components.register_component(ComponentKey.SATISFACTION, satisfaction, scale=score_range(1, 10))
    components.register_component(ComponentKey.SMS_VOTES, sms_votes, scale=VOTE_SHARE)
    try:
        page.goto(f"{live_server.url}/admin/")
        page.get_by_label("用户名").fill("hr")
        page.get_by_label("密码").fill("pass-word-123")
        page.get_by_role("button", name="登录").click()

        # 1. A campaign from the template.
        page.goto(f"{live_server.url}/admin/campaigns/campaign/")
        page.locator("#from-template").click()
        page.locator("#id_name").fill("满意100服务明星 2026")
        page.locator("#id_starts_on").fill("2026-03-01")
        submit(page)
        campaign = Campaign.objects.get(name="满意100服务明星 2026")
        first, second = campaign.stages.order_by("order")[:2]
        assert page.url.endswith(f"/admin/campaigns/campaign/{campaign.pk}/change/")
        assert page.locator("#stages-group tbody tr.has_original").count() == 3
        page.screenshot(path=screenshot_dir / "campaign-1-created.png", full_page=True)

        # 2. Stage 1 takes the top 3 of our 8 staff (its rules are free while draft).
        page.goto(f"{live_server.url}/admin/campaigns/stage/{first.pk}/change/")
        page.locator("#id_quota").fill("3")
        page.locator("input[name=_continue]").click()
        page.wait_for_load_state()
        assert page.locator("#id_quota").input_value() == "3"
        # The template's weights (0.6 / 0.4) show as percentages, one input per component.
        assert page.get_by_label("客户满意度 %").input_value() == "60"
        assert page.get_by_label("短信投票 %").input_value() == "40"
        assert page.get_by_label("网页投票 %").input_value() == ""
        page.screenshot(path=screenshot_dir / "campaign-2-rules.png", full_page=True)

        # 3. Enrol all active staff.
        page.locator("a.stage-enrol").click()
        assert page.locator("#enrol-sample tbody tr").count() == 8
        page.screenshot(path=screenshot_dir / "campaign-3-enrol.png", full_page=True)
        page.locator("#enrol-confirm").click()
        page.wait_for_load_state()
        assert first.contestants.count() == 8

        # 4. Open, then close.
        page.locator("a.stage-move-open").click()
        page.screenshot(path=screenshot_dir / "campaign-4-open-confirm.png", full_page=True)
        submit(page)
        first.refresh_from_db()
        assert first.status == StageStatus.OPEN
        # While open, the stage page leads to provisional results and to the dashboard.
        page.locator("a.stage-provisional-results").click()
        page.wait_for_load_state()
        assert page.locator("#results-provisional").count() == 1
        assert page.locator("#results-table tbody tr").count() == 8
        assert page.locator("#export-links a").count() == 2
        page.screenshot(path=screenshot_dir / "campaign-4b-provisional.png", full_page=True)
        page.goto(f"{live_server.url}/admin/campaigns/stage/{first.pk}/change/")
        page.locator("a.stage-link", has_text="阶段看板").click()
        page.wait_for_load_state()
        assert page.url.endswith(f"/dashboard/?stage={first.pk}")
        page.screenshot(path=screenshot_dir / "campaign-4c-dashboard.png", full_page=True)
        page.goto(f"{live_server.url}/admin/campaigns/stage/{first.pk}/change/")
        page.locator("a.stage-move-close").click()
        page.locator("#id_reason").fill("投票期结束")
        submit(page)
        first.refresh_from_db()
        assert first.status == StageStatus.CLOSED
        page.screenshot(path=screenshot_dir / "campaign-5-closed.png", full_page=True)

        # 5. Preview: the table and the bar chart.
        page.locator("a.stage-move-preview").click()
        page.screenshot(path=screenshot_dir / "campaign-6-preview-confirm.png", full_page=True)
        submit(page)
        assert page.locator("#bar-chart .bar-row").count() == 8
        assert page.locator("#results-table tbody tr").count() == 8
        assert page.locator("#results-table tbody tr").first.inner_text().count("张晓明") == 1
        page.screenshot(path=screenshot_dir / "campaign-7-preview.png", full_page=True)

        # 6. Finalise with a reason.
        page.locator("#finalize-link").click()
        assert page.locator("#finalize-qualifiers tbody tr").count() == 3
        page.locator("#id_reason").fill("评委会确认")
        page.screenshot(path=screenshot_dir / "campaign-8-finalise-confirm.png", full_page=True)
        submit(page)
        assert page.locator("#results-frozen").count() == 1
        assert page.locator("#export-links a").count() == 4
        page.screenshot(path=screenshot_dir / "campaign-9-finalised.png", full_page=True)

        # 7. Stage 2 now has the three qualifiers.
        page.goto(f"{live_server.url}/admin/campaigns/contestant/?stage__id__exact={second.pk}")
        rows = page.locator("#result_list tbody tr")
        assert rows.count() == 3
        names = sorted(rows.nth(i).locator("td.field-name").inner_text() for i in range(3))
        assert names == sorted(NAMES[:3])
        page.screenshot(path=screenshot_dir / "campaign-10-stage-2.png", full_page=True)
        page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/change/")
        stage_rows = page.locator("#stages-group tbody tr.has_original")
        assert stage_rows.nth(1).locator("td.field-contestant_count").inner_text() == "3"
        page.screenshot(path=screenshot_dir / "campaign-11-campaign.png", full_page=True)
    finally:
        for key in components.registered_components():
            components.unregister_component(key)
        for key, provider in saved.items():
            components.register_component(key, provider.fetch, scale=provider.scale)
