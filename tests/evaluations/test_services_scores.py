"""Submitting and reopening judge scores: locked once in, idempotent, recusals, closing."""

import pytest

from campaigns.choices import StageStatus
from campaigns.models import Stage
from evaluations.models import Conflict, Score, ScoreReopening
from evaluations.services import live, scores, setup
from staff.audit import ReasonError
from staff.models import AuditEvent
from tests.factories.evaluations import new_key
from tests.factories.staff import OrgUnitFactory

pytestmark = pytest.mark.django_db


def submit(contest, judge, contestant, *values, key=None):
    return scores.submit_score(
        contest.panel,
        judge=judge,
        contestant_id=contestant.pk,
        points=contest.points(*values),
        idempotency_key=key or new_key(),
    )


def test_submit_score_stores_total_and_audits(contest):
    judge, contestant = contest.experts[0], contest.contestants[0]

    result = submit(contest, judge, contestant, 35, 25, 20)

    assert result.created is True
    assert (result.score.total, result.score.version, result.score.supersedes) == (80, 1, None)
    event = AuditEvent.objects.get(action="evaluations.score.submitted")
    assert event.data == {"contestant": contestant.pk, "version": 1, "total": 80}
    assert event.actor == judge.user


def test_submit_score_same_key_twice_stores_once(contest):
    judge, contestant, key = contest.experts[0], contest.contestants[0], new_key()
    first = submit(contest, judge, contestant, 35, 25, 20, key=key)

    second = submit(contest, judge, contestant, 1, 1, 1, key=key)

    assert second.created is False
    assert second.score.pk == first.score.pk
    assert Score.objects.count() == 1


def test_submit_score_refuses_a_second_score(contest):
    judge, contestant = contest.experts[0], contest.contestants[0]
    submit(contest, judge, contestant, 35, 25, 20)

    with pytest.raises(scores.ScoreRefusedError) as error:
        submit(contest, judge, contestant, 40, 30, 30)

    assert error.value.code == "already_submitted"
    assert list(Score.objects.values_list("total", flat=True)) == [80]


def test_submit_score_refuses_another_judges_key(contest):
    key = new_key()
    submit(contest, contest.experts[0], contest.contestants[0], 35, 25, 20, key=key)

    with pytest.raises(scores.ScoreRefusedError) as error:
        submit(contest, contest.experts[1], contest.contestants[0], 35, 25, 20, key=key)

    assert error.value.code == "bad_idempotency_key"
    assert Score.objects.count() == 1


@pytest.mark.parametrize(
    ("points", "code"),
    [
        ({"x": 1}, "bad_points"),
        ("not a dict", "bad_points"),
        (None, "bad_points"),
    ],
)
def test_submit_score_refuses_malformed_points(contest, points, code):
    with pytest.raises(scores.ScoreRefusedError) as error:
        scores.submit_score(
            contest.panel,
            judge=contest.experts[0],
            contestant_id=contest.contestants[0].pk,
            points=points,
            idempotency_key=new_key(),
        )

    assert error.value.code == code
    assert Score.objects.count() == 0


@pytest.mark.parametrize("values", [(41, 0, 0), (-1, 0, 0), (True, 0, 0), (1.5, 0, 0), ("3", 0, 0)])
def test_submit_score_refuses_points_out_of_range_or_type(contest, values):
    with pytest.raises(scores.ScoreRefusedError) as error:
        submit(contest, contest.experts[0], contest.contestants[0], *values)

    assert error.value.code == "bad_points"
    assert Score.objects.count() == 0


def test_submit_score_refuses_a_judge_not_on_the_panel(contest):
    outsider = contest.experts[0]
    contest.panel.judges.remove(outsider)

    with pytest.raises(scores.NotAllowedError) as error:
        submit(contest, outsider, contest.contestants[0], 1, 1, 1)

    assert error.value.code == "forbidden"
    assert Score.objects.count() == 0


def test_submit_score_refuses_a_declared_conflict(contest):
    judge, contestant = contest.experts[0], contest.contestants[0]
    setup.declare_conflict(judge, contestant=contestant, actor=None, reason="亲属")

    with pytest.raises(scores.ScoreRefusedError) as error:
        submit(contest, judge, contestant, 1, 1, 1)

    assert error.value.code == "recused"
    assert Score.objects.count() == 0
    assert Conflict.objects.get().reason == "亲属"


def test_submit_score_refuses_a_contestant_of_the_judges_unit_subtree(contest):
    contestant = contest.contestants[1]
    branch = contestant.staff_member.unit.parent
    judge = contest.experts[1]
    judge.unit = branch
    judge.save()

    with pytest.raises(scores.ScoreRefusedError) as error:
        submit(contest, judge, contestant, 1, 1, 1)

    assert error.value.code == "recused"


def test_submit_score_accepts_a_contestant_of_another_unit(contest):
    judge = contest.experts[1]
    judge.unit = OrgUnitFactory()
    judge.save()

    result = submit(contest, judge, contest.contestants[1], 1, 1, 1)

    assert result.score.total == 3


def test_submit_score_refuses_when_stage_closed(contest):
    Stage.objects.filter(pk=contest.panel.stage_id).update(status=StageStatus.CLOSED)

    with pytest.raises(scores.ScoreRefusedError) as error:
        submit(contest, contest.experts[0], contest.contestants[0], 1, 1, 1)

    assert error.value.code == "stage_closed"


def test_submit_score_refuses_after_host_closed_scoring(contest):
    live.close_scoring(contest.panel, contestant_id=contest.contestants[0].pk, actor=None)

    with pytest.raises(scores.ScoreRefusedError) as error:
        submit(contest, contest.experts[0], contest.contestants[0], 1, 1, 1)

    assert error.value.code == "scoring_closed"


def test_reopen_score_lets_the_judge_submit_a_new_version(contest, admin_user):
    judge, contestant = contest.experts[0], contest.contestants[0]
    old = submit(contest, judge, contestant, 10, 10, 10).score
    live.close_scoring(contest.panel, contestant_id=contestant.pk, actor=None)

    scores.reopen_score(old, actor=admin_user, reason="按错了")
    new = submit(contest, judge, contestant, 30, 20, 20).score

    assert (new.version, new.supersedes_id, new.total) == (2, old.pk, 70)
    assert Score.objects.get(pk=old.pk).total == 30  # the old version stays in the ledger
    event = AuditEvent.objects.get(action="evaluations.score.reopened")
    assert (event.reason, event.actor, event.data["version"]) == ("按错了", admin_user, 1)


def test_reopen_score_requires_a_reason(contest, admin_user):
    old = submit(contest, contest.experts[0], contest.contestants[0], 10, 10, 10).score

    with pytest.raises(ReasonError) as error:
        scores.reopen_score(old, actor=admin_user, reason="  ")

    assert error.value.code == "reason_required"
    assert ScoreReopening.objects.count() == 0


def test_reopen_score_twice_is_refused(contest, admin_user):
    old = submit(contest, contest.experts[0], contest.contestants[0], 10, 10, 10).score
    scores.reopen_score(old, actor=admin_user, reason="一")

    with pytest.raises(scores.JudgingError) as error:
        scores.reopen_score(old, actor=admin_user, reason="二")

    assert error.value.code == "not_reopenable"
    assert ScoreReopening.objects.count() == 1


def test_reopen_score_refused_once_results_are_previewed(contest, admin_user):
    old = submit(contest, contest.experts[0], contest.contestants[0], 10, 10, 10).score
    Stage.objects.filter(pk=contest.panel.stage_id).update(status=StageStatus.PREVIEWED)

    with pytest.raises(scores.JudgingError) as error:
        scores.reopen_score(old, actor=admin_user, reason="晚了")

    assert error.value.code == "results_frozen"
