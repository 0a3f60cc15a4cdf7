"""The tablet's pages and JSON endpoints: a judge sees and writes only their own scores."""

import json

import pytest
from django.urls import reverse

from campaigns.choices import StageStatus
from campaigns.models import Stage
from evaluations.models import Score, SignInLink
from evaluations.services import links, scores
from staff.models import AuditEvent
from tests.factories.evaluations import PanelFactory, new_key

pytestmark = pytest.mark.django_db


def post_score(client, contest, contestant, *values, key=None, stage_id=None):
    body = {
        "key": str(key or new_key()),
        "contestant": contestant.pk,
        "points": contest.points(*values),
        "comment": "好",
    }
    url = reverse("evaluations:tablet-submit", args=[stage_id or contest.panel.stage_id])
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_tablet_page_shows_rubric_and_running_order(client, contest):
    client.force_login(contest.experts[0].user)

    response = client.get(reverse("evaluations:tablet", args=[contest.panel.stage_id]))

    assert response.status_code == 200
    html = response.content.decode()
    assert [c.name in html for c in contest.criteria] == [True, True, True]
    assert all(c.staff_member.name in html for c in contest.contestants)
    assert 'lang="zh-hans"' in html


def test_tablet_home_redirects_a_visitor_to_sign_in(client):
    response = client.get(reverse("evaluations:tablet-home"))

    assert response.status_code == 302
    assert response["Location"] == reverse("evaluations:judge-login")


def test_tablet_home_sends_a_judge_to_their_one_contest(client, contest):
    client.force_login(contest.experts[0].user)

    response = client.get(reverse("evaluations:tablet-home"))

    assert response["Location"] == reverse("evaluations:tablet", args=[contest.panel.stage_id])


def test_submit_score_then_resend_stores_once(client, contest):
    client.force_login(contest.experts[0].user)
    key = new_key()

    first = post_score(client, contest, contest.contestants[0], 30, 20, 20, key=key)
    second = post_score(client, contest, contest.contestants[0], 30, 20, 20, key=key)

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() | {"duplicate": True} == second.json()
    assert second.json()["total"] == 70
    assert Score.objects.count() == 1


def test_judge_cannot_change_a_submitted_score(client, contest):
    client.force_login(contest.experts[0].user)
    post_score(client, contest, contest.contestants[0], 30, 20, 20)

    response = post_score(client, contest, contest.contestants[0], 40, 30, 30)

    assert response.status_code == 409
    assert response.json()["code"] == "already_submitted"
    assert list(Score.objects.values_list("total", flat=True)) == [70]


def test_judge_state_holds_only_their_own_scores(client, contest):
    other = contest.experts[1]
    scores.submit_score(
        contest.panel,
        judge=other,
        contestant_id=contest.contestants[0].pk,
        points=contest.points(40, 30, 30),
        idempotency_key=new_key(),
    )
    client.force_login(contest.experts[0].user)

    response = client.get(reverse("evaluations:tablet-state", args=[contest.panel.stage_id]))

    first = response.json()["contestants"][0]
    assert first["state"] == "open"
    assert "total" not in first
    assert "points" not in first
    # The other judge's total (100) is nowhere in the answer. Looked for among the values,
    # not in the text: a row id such as 14100 holds the digits too.
    assert 100 not in _values_but_ids(response.json())


def _values_but_ids(node: object) -> list[object]:
    """Every value in a JSON document, ids left out."""
    if isinstance(node, dict):
        return [v for key, value in node.items() if key != "id" for v in _values_but_ids(value)]
    if isinstance(node, list):
        return [v for value in node for v in _values_but_ids(value)]
    return [node]


def test_judge_cannot_open_or_write_another_panel(client, contest):
    other_panel = PanelFactory()
    client.force_login(contest.experts[0].user)

    page = client.get(reverse("evaluations:tablet", args=[other_panel.stage_id]))
    state = client.get(reverse("evaluations:tablet-state", args=[other_panel.stage_id]))
    write = post_score(
        client, contest, contest.contestants[0], 1, 1, 1, stage_id=other_panel.stage_id
    )

    assert (page.status_code, state.status_code, write.status_code) == (404, 404, 404)
    assert Score.objects.count() == 0


def test_non_judge_gets_forbidden_from_the_json_endpoints(client, contest, admin_user):
    client.force_login(admin_user)

    response = post_score(client, contest, contest.contestants[0], 1, 1, 1)

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"key": "x"}',
        b'{"key": "00000000-0000-0000-0000-000000000001", "contestant": 99999999999, "points": {}}',
        b'{"key": "00000000-0000-0000-0000-000000000001", "contestant": 1, "points": []}',
    ],
)
def test_submit_score_bad_body_is_a_400(client, contest, body):
    client.force_login(contest.experts[0].user)

    response = client.post(
        reverse("evaluations:tablet-submit", args=[contest.panel.stage_id]),
        data=body,
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert Score.objects.count() == 0


def test_state_answers_304_for_the_current_etag(client, contest):
    client.force_login(contest.experts[0].user)
    url = reverse("evaluations:tablet-state", args=[contest.panel.stage_id])
    etag = client.get(url)["ETag"]

    unchanged = client.get(url, headers={"If-None-Match": etag})
    post_score(client, contest, contest.contestants[0], 1, 1, 1)
    changed = client.get(url, headers={"If-None-Match": etag})

    assert unchanged.status_code == 304
    assert changed.status_code == 200
    assert changed.json()["contestants"][0]["state"] == "submitted"


def test_sign_in_link_logs_the_judge_in(client, contest):
    judge = contest.public[0]
    link = links.issue_sign_in_link(contest.panel, judge=judge, actor=None)

    response = client.get(reverse("evaluations:link-sign-in", args=[links.link_token(link)]))

    assert response["Location"] == reverse("evaluations:tablet", args=[contest.panel.stage_id])
    assert client.session["_auth_user_id"] == str(judge.user.pk)
    assert AuditEvent.objects.filter(action="evaluations.link.used").count() == 1


def test_revoked_link_is_refused(client, contest, admin_user):
    link = links.issue_sign_in_link(contest.panel, judge=contest.public[0], actor=None)
    links.revoke_sign_in_link(link, actor=admin_user, reason="卡片丢失")

    response = client.get(reverse("evaluations:link-sign-in", args=[links.link_token(link)]))

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    assert SignInLink.objects.get().last_used_at is None


def test_link_expires_with_the_stage(client, contest):
    link = links.issue_sign_in_link(contest.panel, judge=contest.public[0], actor=None)
    Stage.objects.filter(pk=contest.panel.stage_id).update(status=StageStatus.CLOSED)

    response = client.get(reverse("evaluations:link-sign-in", args=[links.link_token(link)]))

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("token", ["garbage", "1:forged:signature", "x" * 500])
def test_forged_link_is_refused(client, contest, token):
    response = client.get(reverse("evaluations:link-sign-in", args=[token]))

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
