"""The host's control, the venue screen's state, the judge component in stage results,
and the judging rules' freeze."""

from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.choices import ComponentKey, StageStatus
from campaigns.models import Stage
from campaigns.results import compute_stage_results
from evaluations.models import Criterion
from evaluations.services import live, scores, setup
from staff.audit import ReasonError
from tests.factories.evaluations import new_key

pytestmark = pytest.mark.django_db


def score_all(contest, contestant, values_by_judge):
    for judge, values in zip(contest.judges, values_by_judge, strict=True):
        scores.submit_score(
            contest.panel,
            judge=judge,
            contestant_id=contestant.pk,
            points=contest.points(*values),
            idempotency_key=new_key(),
        )


def test_reveal_puts_the_weighted_score_on_the_screen(client, contest):
    first = contest.contestants[0]
    # experts 80, 90, 70 (mean 80); public 60, 100 (mean 80): 0.6 x 80 + 0.4 x 80 = 80.
    score_all(
        contest, first, [(40, 20, 20), (40, 30, 20), (30, 20, 20), (20, 20, 20), (40, 30, 30)]
    )
    live.put_on_stage(contest.panel, contestant_id=first.pk, actor=None)

    before = client.get(reverse("evaluations:screen-state", args=[contest.panel.stage_id])).json()
    live.reveal_score(contest.panel, contestant_id=first.pk, actor=None)
    after = client.get(reverse("evaluations:screen-state", args=[contest.panel.stage_id])).json()

    assert (before["on_stage"]["scored"], before["on_stage"]["judges"]) == (5, 5)
    assert "score" not in before["on_stage"]
    assert before["ranking"] == []
    assert after["on_stage"]["score"] == "80.00"
    assert [(r["rank"], r["name"], r["score"]) for r in after["ranking"]] == [
        (1, first.staff_member.name, "80.00")
    ]
    assert before["on_stage"]["audience_url"].endswith(
        reverse(
            "voting:audience-start", args=[contest.panel.stage_id, first.staff_member.employee_no]
        )
    )
    assert before["on_stage"]["qr"].startswith("<svg")
    # The turn is over: audience votes for them are refused, so no code invites any.
    assert after["on_stage"]["audience_url"] == ""
    assert "qr" not in after["on_stage"]


def test_screen_counts_only_judges_who_may_score(client, contest):
    first = contest.contestants[0]
    setup.declare_conflict(contest.public[1], contestant=first, actor=None, reason="同事")
    live.put_on_stage(contest.panel, contestant_id=first.pk, actor=None)

    state = client.get(reverse("evaluations:screen-state", args=[contest.panel.stage_id])).json()

    assert (state["on_stage"]["scored"], state["on_stage"]["judges"]) == (0, 4)


def test_host_pages_need_the_host_permission(client, contest):
    judge_user = contest.experts[0].user
    client.force_login(judge_user)

    page = client.get(reverse("evaluations:host", args=[contest.panel.stage_id]))
    action = client.post(
        reverse("evaluations:host-action", args=[contest.panel.stage_id]),
        {"action": "on_stage", "contestant": contest.contestants[0].pk},
    )

    assert (page.status_code, action.status_code) == (403, 403)
    contest.panel.refresh_from_db()
    assert contest.panel.on_stage is None


def test_host_action_moves_the_stage_and_bumps_the_version(admin_client, contest):
    version = contest.panel.live_version

    response = admin_client.post(
        reverse("evaluations:host-action", args=[contest.panel.stage_id]),
        {"action": "on_stage", "contestant": contest.contestants[2].pk},
    )

    assert response.status_code == 200
    assert response.json()["on_stage"]["id"] == contest.contestants[2].pk
    contest.panel.refresh_from_db()
    assert (contest.panel.on_stage_id, contest.panel.live_version) == (
        contest.contestants[2].pk,
        version + 1,
    )


@pytest.mark.parametrize(
    "data", [{"action": "dance", "contestant": "1"}, {"action": "close", "contestant": "x"}, {}]
)
def test_host_action_bad_input_is_a_400(admin_client, contest, data):
    response = admin_client.post(
        reverse("evaluations:host-action", args=[contest.panel.stage_id]), data
    )

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_host_page_renders(admin_client, contest):
    response = admin_client.get(reverse("evaluations:host", args=[contest.panel.stage_id]))

    assert response.status_code == 200
    assert contest.contestants[0].staff_member.name in response.content.decode()


def test_stage_results_use_the_judge_component(contest):
    first, second = contest.contestants[0], contest.contestants[1]
    score_all(contest, first, [(40, 30, 30)] * 5)
    score_all(contest, second, [(20, 15, 15)] * 5)
    stage = Stage.objects.get(pk=contest.panel.stage_id)

    results = compute_stage_results(stage)

    by_id = results.lines
    judge_first = by_id[first.pk].components[ComponentKey.JUDGE_SCORE]
    judge_second = by_id[second.pk].components[ComponentKey.JUDGE_SCORE]
    assert (judge_first.raw, judge_first.normalised) == (Decimal("100.0000"), Decimal("100.0000"))
    assert (judge_second.raw, judge_second.normalised) == (Decimal("50.0000"), Decimal("50.0000"))


def test_rubric_changes_need_a_reason_once_open_and_freeze_with_scores(contest, admin_user):
    with pytest.raises(ReasonError) as no_reason:
        setup.save_criterion(contest.panel, name="形象", max_points=10, actor=admin_user)
    added = setup.save_criterion(
        contest.panel, name="形象", max_points=10, order=3, actor=admin_user, reason="加项"
    )
    contest.criteria.append(added)
    score_all(contest, contest.contestants[0], [(1, 1, 1, 1)] * 5)

    with pytest.raises(setup.JudgingError) as in_use:
        setup.save_criterion(
            contest.panel, name="仪态", max_points=10, actor=admin_user, reason="x"
        )

    assert (no_reason.value.code, in_use.value.code) == ("reason_required", "rubric_in_use")
    assert list(Criterion.objects.filter(panel=contest.panel).values_list("name", flat=True)) == [
        "业务技能",
        "服务规范",
        "应变沟通",
        "形象",
    ]


def test_panel_rules_freeze_once_results_are_previewed(contest, admin_user):
    Stage.objects.filter(pk=contest.panel.stage_id).update(status=StageStatus.PREVIEWED)

    with pytest.raises(setup.JudgingError) as error:
        setup.update_panel(
            contest.panel, changes={"use_normalisation": True}, actor=admin_user, reason="x"
        )

    assert error.value.code == "rubric_frozen"
    contest.panel.refresh_from_db()
    assert contest.panel.use_normalisation is False


def test_update_panel_refuses_weights_not_adding_up(contest, admin_user):
    with pytest.raises(setup.JudgingError) as error:
        setup.update_panel(
            contest.panel, changes={"expert_weight": "0.7"}, actor=admin_user, reason="x"
        )

    assert error.value.code == "bad_weights"
