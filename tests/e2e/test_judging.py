"""Browser journeys of the live contest: a tablet scoring through a network drop, and the
venue screen following the host's page. Screenshots of the tablet (portrait and
landscape), the host page and the screen go to tests/e2e/screenshots/."""

import pytest
from django.urls import reverse

from evaluations.models import Score
from evaluations.services import links, live, scores
from tests.factories.evaluations import Contest, build_contest, new_key
from tests.factories.staff import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def contest(transactional_db) -> Contest:
    return build_contest()


# A hang guard (the pages poll every second), not a timing assertion.
DEADLINE_MS = 15_000


def sign_in_tablet(browser, live_server, contest, judge, viewport):
    context = browser.new_context(locale="zh-CN", viewport=viewport, service_workers="block")
    page = context.new_page()
    link = links.issue_sign_in_link(contest.panel, judge=judge, actor=None)
    page.goto(live_server.url + reverse("evaluations:link-sign-in", args=[links.link_token(link)]))
    page.wait_for_selector("[data-contestant]")
    return context, page


def score(page, contestant, presses: int) -> None:
    page.locator(f'[data-contestant="{contestant.pk}"]').click()
    for button in page.locator('[data-step="1"]').all():
        for _ in range(presses):
            button.click()
    page.locator("[data-submit]").click()
    page.locator("[data-confirm-yes]").click()


def test_tablet_scores_offline_and_each_score_arrives_once(
    live_server, browser, contest, screenshot_dir
):
    judge = contest.experts[0]
    context, page = sign_in_tablet(
        browser, live_server, contest, judge, {"width": 768, "height": 1024}
    )
    page.screenshot(path=screenshot_dir / "judging_tablet_portrait.png")

    context.set_offline(True)
    page.wait_for_selector(".is-offline", timeout=DEADLINE_MS)
    score(page, contest.contestants[0], 3)
    score(page, contest.contestants[1], 5)
    banner = page.locator("[data-banner]")
    banner.wait_for(state="visible", timeout=DEADLINE_MS)
    # The banner counts the queued scores as each is stored: wait for the second.
    page.wait_for_function(
        "() => document.querySelector('[data-banner]').innerText.includes('2')",
        timeout=DEADLINE_MS,
    )
    page.screenshot(path=screenshot_dir / "judging_tablet_offline.png")
    assert Score.objects.count() == 0

    context.set_offline(False)
    banner.wait_for(state="hidden", timeout=DEADLINE_MS)
    page.wait_for_selector(
        f'[data-contestant="{contest.contestants[1].pk}"].state-submitted', timeout=DEADLINE_MS
    )

    stored = list(
        Score.objects.order_by("contestant__running_order").values_list("contestant", "total")
    )
    assert stored == [(contest.contestants[0].pk, 9), (contest.contestants[1].pk, 15)]
    context.close()


def test_tablet_in_landscape_follows_the_host(live_server, browser, contest, screenshot_dir):
    context, page = sign_in_tablet(
        browser, live_server, contest, contest.public[0], {"width": 1024, "height": 768}
    )

    live.put_on_stage(contest.panel, contestant_id=contest.contestants[2].pk, actor=None)

    name = contest.contestants[2].staff_member.name
    page.wait_for_function(
        "name => document.querySelector('[data-sheet-name]').textContent === name",
        arg=name,
        timeout=DEADLINE_MS,
    )
    page.locator('[data-step="1"]').first.click()
    page.screenshot(path=screenshot_dir / "judging_tablet_landscape.png")
    context.close()


def test_screen_follows_the_host_page(live_server, browser, contest, screenshot_dir):
    UserFactory(username="host", hr_admin=True)
    for judge in contest.judges:
        scores.submit_score(
            contest.panel,
            judge=judge,
            contestant_id=contest.contestants[0].pk,
            points=contest.points(34, 26, 25),
            idempotency_key=new_key(),
        )
    screen_context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
    screen = screen_context.new_page()
    screen.goto(live_server.url + reverse("evaluations:screen", args=[contest.panel.stage_id]))
    host_context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    host = host_context.new_page()
    host.goto(f"{live_server.url}/admin/login/?next=/host/{contest.panel.stage_id}/")
    host.get_by_label("用户名").fill("host")
    host.get_by_label("密码").fill("pass-word-123")
    host.locator("input[type=submit]").click()
    host.wait_for_selector("[data-host]")

    first = contest.contestants[0]
    host.locator(f'[data-action="on_stage"][data-contestant="{first.pk}"]').click()
    screen.wait_for_function(
        "name => { const n = document.querySelector('.scr-name'); return n && n.textContent === name; }",
        arg=first.staff_member.name,
        timeout=DEADLINE_MS,
    )
    assert "5" in screen.locator(".scr-progress").inner_text()
    screen.wait_for_selector(".scr-vote svg", timeout=DEADLINE_MS)
    host.locator(f'[data-action="reveal"][data-contestant="{first.pk}"]').click()
    screen.wait_for_selector(".scr-score", timeout=DEADLINE_MS)
    # The turn is over: the audience-vote code leaves the screen with it.
    screen.wait_for_selector(".scr-vote", state="detached", timeout=DEADLINE_MS)

    assert screen.locator(".scr-score").inner_text() == "85.00"
    assert screen.locator(".scr-table tr").count() == 1
    host.wait_for_function(
        "() => document.querySelector('[data-score]').textContent === '85.00'", timeout=DEADLINE_MS
    )
    host.screenshot(path=screenshot_dir / "judging_host.png", full_page=True)
    screen.wait_for_timeout(1500)  # let the reveal animation finish for the picture
    screen.screenshot(path=screenshot_dir / "judging_screen.png")
    screen_context.close()
    host_context.close()
