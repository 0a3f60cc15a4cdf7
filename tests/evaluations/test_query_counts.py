"""The polled endpoints cost a fixed number of queries, however many contestants are
revealed or scored (no query per row)."""

import pytest
from django.db import connection
from django.urls import reverse

from evaluations.services import live, scores
from tests.factories.evaluations import new_key

pytestmark = pytest.mark.django_db

# Screen: panel (ETag), panel with stage and contestant on stage, running order,
# appearances (ranking), judges, conflicts, latest scores, appearances (step).
SCREEN_QUERIES = 8
# Tablet: session, user, judge, panel, running order, judge with unit, conflicts, own
# scores, appearances; plus the database clock on PostgreSQL.
TABLET_QUERIES = 9


def reveal(contest, count):
    for contestant in contest.contestants[:count]:
        for judge in contest.judges:
            scores.submit_score(
                contest.panel,
                judge=judge,
                contestant_id=contestant.pk,
                points=contest.points(20, 20, 20),
                idempotency_key=new_key(),
            )
        live.put_on_stage(contest.panel, contestant_id=contestant.pk, actor=None)
        live.reveal_score(contest.panel, contestant_id=contestant.pk, actor=None)


@pytest.mark.parametrize("revealed", [1, 3])
def test_screen_state_queries(client, contest, django_assert_num_queries, revealed):
    reveal(contest, revealed)
    url = reverse("evaluations:screen-state", args=[contest.panel.stage_id])

    with django_assert_num_queries(SCREEN_QUERIES):
        response = client.get(url)
    with django_assert_num_queries(1):
        unchanged = client.get(url, headers={"If-None-Match": response["ETag"]})

    assert len(response.json()["ranking"]) == revealed
    assert unchanged.status_code == 304


@pytest.mark.parametrize("scored", [1, 3])
def test_tablet_state_queries(client, contest, django_assert_num_queries, scored):
    reveal(contest, scored)
    client.force_login(contest.experts[0].user)
    url = reverse("evaluations:tablet-state", args=[contest.panel.stage_id])

    with django_assert_num_queries(TABLET_QUERIES + (connection.vendor == "postgresql")):
        response = client.get(url)

    states = [row["state"] for row in response.json()["contestants"]]
    assert states == ["submitted"] * scored + ["open"] * (4 - scored)
