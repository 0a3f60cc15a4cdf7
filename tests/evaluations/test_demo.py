"""The live-contest demo that ``seed_demo`` creates beside the demo campaign."""

import pytest
from django.urls import reverse

from campaigns.choices import StageStatus
from campaigns.models import Campaign
from evaluations.choices import AppearanceStep
from evaluations.demo import LIVE_DEMO_NAME, seed_live_contest
from evaluations.models import Appearance, Panel, Score, SignInLink
from evaluations.selectors import progress_grid
from staff.demo import seed_demo_directory

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    seed_demo_directory(staff_count=200)
    return seed_live_contest(base_url="http://venue.lan:8000")


def test_seed_live_contest_builds_an_evening_under_way(seeded):
    panel = Panel.objects.select_related("stage").get(stage__campaign__name=LIVE_DEMO_NAME)

    assert panel.stage.status == StageStatus.OPEN
    assert panel.stage.contestants.count() == 23
    assert sorted(panel.stage.contestants.values_list("running_order", flat=True)) == list(
        range(1, 24)
    )
    assert [c.name for c in panel.criteria.all()] == ["业务技能", "服务规范", "应变沟通"]
    assert panel.judges.count() == 7
    assert SignInLink.objects.filter(panel=panel).count() == 7
    steps = sorted(Appearance.objects.filter(panel=panel).values_list("step", flat=True))
    assert steps == sorted(
        [AppearanceStep.REVEALED] * 3 + [AppearanceStep.CLOSED, AppearanceStep.ON_STAGE]
    )
    assert Score.objects.filter(panel=panel).count() == 4 * 7 - _recused_first_four(panel) + 2
    assert progress_grid(panel).counts["recused"] >= 1


def _recused_first_four(panel):
    grid = progress_grid(panel)
    by_order = {c.running_order: cells for c, cells in grid.rows}
    return sum(cells.count("recused") for order, cells in by_order.items() if order <= 4)


def test_seed_live_contest_prints_pages_and_links(seeded):
    text = str(seeded)

    panel = Panel.objects.get(stage__campaign__name=LIVE_DEMO_NAME)
    assert f"http://venue.lan:8000{reverse('evaluations:tablet-home')}" in text
    assert f"http://venue.lan:8000{reverse('evaluations:host', args=[panel.stage_id])}" in text
    assert f"http://venue.lan:8000{reverse('evaluations:screen', args=[panel.stage_id])}" in text
    assert text.count("/judge/link/") == 7


def test_seed_live_contest_twice_creates_nothing(seeded):
    again = seed_live_contest(base_url="http://venue.lan:8000")

    assert Campaign.objects.filter(name=LIVE_DEMO_NAME).count() == 1
    assert str(again) == str(seeded)


def test_printed_link_signs_a_public_judge_in(client, seeded):
    path = next(p for name, p in seeded.links if "大众评委" in name)

    response = client.get(path)

    panel = Panel.objects.get(stage__campaign__name=LIVE_DEMO_NAME)
    assert response["Location"] == reverse("evaluations:tablet", args=[panel.stage_id])
