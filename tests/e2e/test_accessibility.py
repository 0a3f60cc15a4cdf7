"""Accessibility: axe-core checks every public page, the vote flow, the leaderboard, the big
screen and the admin's main pages against WCAG 2.1 A and AA, on a phone (375 px) and on a
desktop, and fails on any serious or critical violation.

axe-core comes from the npm registry at set-up (``make test`` runs ``npm ci``; package.json
pins it) and is injected from ``node_modules``: nothing is downloaded at test time. Without
it (no npm on the machine) the test is skipped with a message. Every run writes its full
report (all impacts) to ``tests/e2e/screenshots/axe-report.json``, kept as a CI artefact.
"""

import datetime as dt
import json
from pathlib import Path

import pytest
from django.utils import timezone

from campaigns.choices import CampaignStatus
from tests.factories.campaigns import CampaignFactory, ContestantFactory, StageFactory
from tests.factories.staff import OrgUnitFactory, PositionFactory, StaffMemberFactory, UserFactory
from voting.counting.publication import publish_stage_leaderboard

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
VIEWPORTS = {"phone": {"width": 375, "height": 740}, "desktop": {"width": 1280, "height": 900}}
PASSWORD = "pass-word-123"  # the UserFactory password


@pytest.fixture(autouse=True)
def _memory_broker(settings) -> None:
    settings.CELERY_BROKER_URL = "memory://"


@pytest.fixture
def axe_source() -> str:
    if not AXE.exists():
        pytest.skip(
            "Accessibility checks skipped: axe-core is not installed (run `npm ci` in the "
            "project, as `make test` does where npm exists)."
        )
    return AXE.read_text()


def audit(page, source: str) -> list[dict]:
    """Run axe on the loaded page; its violations as plain dicts."""
    page.add_script_tag(content=source)
    return page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))",
        TAGS,
    )


def _public_paths() -> list[str]:
    campaign = CampaignFactory(name="满意100服务明星", status=CampaignStatus.RUNNING)
    now = timezone.now()
    stage = StageFactory(
        campaign=campaign,
        order=1,
        name="第一阶段：客户投票",
        open=True,
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=6),
        votes_per_day=5,
    )
    final = StageFactory(campaign=campaign, order=2, name="第二阶段：现场比赛", finalized=True)
    store = OrgUnitFactory(name="华城人民路营业厅")
    clerk = PositionFactory(code="store_clerk", name="营业员")
    for number, name in [("100001", "张晓明"), ("100002", "李静"), ("100003", "王芳")]:
        member = StaffMemberFactory(
            employee_no=number, name=name, unit=store, position=clerk, story="耐心细致。"
        )
        ContestantFactory(stage=stage, staff_member=member)
        ContestantFactory(stage=final, staff_member=member)
    publish_stage_leaderboard(stage)
    return [
        "/",
        "/campaigns/",
        f"/campaigns/{campaign.pk}/",
        f"/campaigns/{campaign.pk}/candidates/100001/",
        f"/stages/{stage.pk}/contestants/",
        f"/stages/{final.pk}/winners/",
        f"/vote/{stage.pk}/100001/",
        f"/vote/live/{stage.pk}/100001/",
        "/vote/receipts/",
        f"/stages/{stage.pk}/leaderboard/",
        f"/stages/{stage.pk}/leaderboard/screen/",
    ]


ADMIN_PATHS = [
    "/admin/",
    "/admin/staff/staffmember/",
    "/admin/staff/staffmember/add/",
    "/admin/staff/staffmember/export/",
    "/admin/staff/orgunit/",
    "/admin/staff/auditevent/",
    "/admin/campaigns/campaign/",
    "/admin/campaigns/stage/",
    "/admin/voting/vote/",
]


def test_pages_have_no_serious_or_critical_wcag_violations(
    live_server, browser, axe_source, screenshot_dir
):
    paths = _public_paths()
    UserFactory(username="a11y", hr_admin=True)
    report: dict[str, list[dict]] = {}
    for size, viewport in VIEWPORTS.items():
        context = browser.new_context(locale="zh-CN", viewport=viewport)
        page = context.new_page()
        for path in paths:
            page.goto(f"{live_server.url}{path}")
            report[f"{size} {path}"] = audit(page, axe_source)
        page.goto(f"{live_server.url}/admin/login/")
        report[f"{size} /admin/login/"] = audit(page, axe_source)
        page.fill("#id_username", "a11y")
        page.fill("#id_password", PASSWORD)
        page.locator("input[type=submit]").click()
        page.wait_for_url("**/admin/")
        for path in ADMIN_PATHS:
            page.goto(f"{live_server.url}{path}")
            report[f"{size} {path}"] = audit(page, axe_source)
        context.close()

    (screenshot_dir / "axe-report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=1)
    )
    blocking = {
        where: [
            f"{v['impact']} {v['id']}: {v['help']} {v['nodes']}"
            for v in violations
            if v["impact"] in BLOCKING
        ]
        for where, violations in report.items()
    }
    blocking = {where: found for where, found in blocking.items() if found}
    assert blocking == {}
