"""The live contest's admin: progress grid, results, chart, sign-in sheet, exports, and
reopening a score with a reason."""

import csv
import io

import pytest
from django.urls import reverse

from evaluations.models import ScoreReopening
from evaluations.services import scores, setup
from staff.models import AuditEvent
from tests.factories.evaluations import new_key

pytestmark = pytest.mark.django_db


def give(contest, judge, contestant, *values):
    return scores.submit_score(
        contest.panel,
        judge=judge,
        contestant_id=contestant.pk,
        points=contest.points(*values),
        idempotency_key=new_key(),
    ).score


def test_progress_grid_shows_each_cell(admin_client, contest, admin_user):
    reopened = give(contest, contest.experts[0], contest.contestants[0], 10, 10, 10)
    scores.reopen_score(reopened, actor=admin_user, reason="重评")
    give(contest, contest.experts[1], contest.contestants[0], 10, 10, 10)
    setup.declare_conflict(
        contest.experts[2], contestant=contest.contestants[0], actor=None, reason="亲属"
    )

    response = admin_client.get(
        reverse("admin:evaluations_panel_progress", args=[contest.panel.pk])
    )

    grid = response.context["grid"]
    assert grid.rows[0][1] == ["reopened", "scored", "recused", "waiting", "waiting"]
    assert grid.counts == {"reopened": 1, "scored": 1, "recused": 1, "waiting": 17}


def test_results_page_shows_raw_and_normalised_and_counts(admin_client, contest):
    give(contest, contest.experts[0], contest.contestants[0], 40, 30, 30)
    give(contest, contest.experts[0], contest.contestants[1], 20, 15, 15)

    response = admin_client.get(reverse("admin:evaluations_panel_results", args=[contest.panel.pk]))

    rows = response.context["rows"]
    assert [(r.contestant.pk, r.raw.score, r.raw.n_scores) for r in rows[:2]] == [
        (contest.contestants[0].pk, 100, 1),
        (contest.contestants[1].pk, 50, 1),
    ]
    assert response.context["panel"].use_normalisation is False


def test_reopen_action_asks_a_reason_then_reopens(admin_client, contest, admin_user):
    score = give(contest, contest.experts[0], contest.contestants[0], 10, 10, 10)
    url = reverse("admin:evaluations_score_changelist")

    ask = admin_client.post(url, {"action": "reopen_selected", "_selected_action": [score.pk]})
    done = admin_client.post(
        url,
        {
            "action": "reopen_selected",
            "_selected_action": [score.pk],
            "confirm": "1",
            "reason": "录入错误",
        },
    )

    assert ask.status_code == 200
    assert done.status_code == 302
    assert ScoreReopening.objects.get().reason == "录入错误"
    assert AuditEvent.objects.get(action="evaluations.score.reopened").actor == admin_user


def test_score_sheet_csv_escapes_formulas(admin_client, contest):
    scores.submit_score(
        contest.panel,
        judge=contest.experts[0],
        contestant_id=contest.contestants[0].pk,
        points=contest.points(10, 10, 10),
        comment="=HYPERLINK(1)",
        idempotency_key=new_key(),
    )

    response = admin_client.get(
        reverse("admin:evaluations_panel_export", args=[contest.panel.pk, "judge", "csv"])
    )

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1][-2] == "'=HYPERLINK(1)"
    assert rows[1][6:10] == ["1", "10", "10", "10"]


def test_score_sheet_xlsx_and_chart_and_links_render(admin_client, contest):
    give(contest, contest.experts[0], contest.contestants[0], 10, 10, 10)
    pk = contest.panel.pk

    xlsx = admin_client.get(
        reverse("admin:evaluations_panel_export", args=[pk, "contestant", "xlsx"])
    )
    chart = admin_client.get(reverse("admin:evaluations_panel_chart", args=[pk]))
    issue = admin_client.post(reverse("admin:evaluations_panel_links", args=[pk]))
    sheet = admin_client.get(reverse("admin:evaluations_panel_links", args=[pk]))

    assert xlsx.content[:2] == b"PK"
    assert [len(j.values) for j in chart.context["judges"]] == [1, 0, 0, 0, 0]
    assert issue.status_code == 302
    assert len(sheet.context["cards"]) == 5


def test_panel_change_form_renders(admin_client, contest):
    response = admin_client.get(reverse("admin:evaluations_panel_change", args=[contest.panel.pk]))

    assert response.status_code == 200


def _panel_form(stage, judges, *, reason="", criteria=()):
    data = {
        "stage": stage.pk,
        "expert_weight": "0.6",
        "public_weight": "0.4",
        "trim_threshold": "5",
        "judges": [j.pk for j in judges],
        "change_reason": reason,
        "criteria-TOTAL_FORMS": str(len(criteria)),
        "criteria-INITIAL_FORMS": "0",
        "criteria-MIN_NUM_FORMS": "0",
        "criteria-MAX_NUM_FORMS": "1000",
    }
    for index, (name, top) in enumerate(criteria):
        data |= {
            f"criteria-{index}-order": str(index),
            f"criteria-{index}-name": name,
            f"criteria-{index}-max_points": str(top),
            f"criteria-{index}-description": "",
        }
    return data


def test_admin_creates_a_panel_with_its_rubric(admin_client):
    from evaluations.models import Panel
    from tests.factories.evaluations import JudgeFactory, LiveStageFactory

    stage = LiveStageFactory()
    judges = [JudgeFactory(), JudgeFactory(public=True)]

    response = admin_client.post(
        reverse("admin:evaluations_panel_add"),
        _panel_form(stage, judges, criteria=[("业务技能", 40), ("服务规范", 60)]),
    )

    assert response.status_code == 302
    panel = Panel.objects.get(stage=stage)
    assert [(c.name, c.max_points) for c in panel.criteria.order_by("order")] == [
        ("业务技能", 40),
        ("服务规范", 60),
    ]
    assert set(panel.judges.all()) == set(judges)
    assert AuditEvent.objects.filter(action="evaluations.rubric.changed").count() == 2


def test_admin_rubric_change_after_opening_without_reason_is_refused(admin_client, contest):
    from evaluations.models import Criterion

    data = _panel_form(contest.panel.stage, contest.judges, criteria=[("形象", 10)])
    data["criteria-INITIAL_FORMS"] = "0"

    response = admin_client.post(
        reverse("admin:evaluations_panel_change", args=[contest.panel.pk]), data
    )

    assert response.status_code == 200
    assert "请填写原因" in response.content.decode()
    assert not Criterion.objects.filter(name="形象").exists()
