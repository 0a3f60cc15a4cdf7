"""The change lists of the big tables open without reading the whole table (issue 14 item
6): the default page is served by an index, and an unfiltered list is not counted with
``COUNT(*)`` once the table is large. Checked on PostgreSQL's plans, not on timings."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from staff.admin_paging import EstimatedCountPaginator
from tests.factories.voting import VoteFactory
from voting.choices import VoteChannel

pytestmark = pytest.mark.django_db

BIG_CHANGELISTS = {
    "voting_vote": "voting_vote",
    "campaigns_outboundsms": "voting_outboundsms",
    "campaigns_inboundsms": "voting_inboundsms",
    "staff_auditevent": "staff_auditevent",
    "evaluations_rating": "evaluations_rating",
    "evaluations_servicetransaction": "evaluations_servicetransaction",
    "evaluations_ratinginvitation": "evaluations_ratinginvitation",
}

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="query plans and estimates are PostgreSQL's"
)


def _changelist(admin_client, name, **params):
    response = admin_client.get(reverse(f"admin:{name}_changelist"), params)
    assert response.status_code == 200
    return response.context["cl"]


@postgresql_only
def test_an_estimated_count_is_shown_as_one(admin_client, monkeypatch):
    VoteFactory.create_batch(2)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE voting_vote")
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_below", 0)

    response = admin_client.get(
        reverse("admin:voting_vote_changelist"), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    paginator = response.text[response.text.index('<p class="paginator">') :]
    assert "约 2" in paginator[: paginator.index("</p>")]


def _plan(sql: str) -> str:
    # A test table is tiny, and the planner would happily scan and sort it. With full scans
    # and full sorts priced out, one left in the plan means that no index serves the query:
    # on a million rows it would read all of them.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


@postgresql_only
@pytest.mark.parametrize("name", sorted(BIG_CHANGELISTS))
def test_no_query_of_a_big_changelist_page_reads_the_whole_table(admin_client, monkeypatch, name):
    table = BIG_CHANGELISTS[name]
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_below", 0)

    with CaptureQueriesContext(connection) as queries:
        cl = _changelist(admin_client, name)

    assert cl.model._meta.db_table == table
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and table in q["sql"]]
    assert reads, "the page reads its table"
    for sql in reads:
        plan = _plan(sql)
        nodes = [line.strip().removeprefix("->").strip() for line in plan.splitlines()]
        assert f"Seq Scan on {table}" not in plan, (sql, plan)
        # An incremental sort (ties of an index's leading column) is fine; a full one is not.
        assert not [node for node in nodes if node.startswith("Sort  (")], (sql, plan)
        assert "COUNT(*)" not in sql.upper(), sql


@postgresql_only
def test_unfiltered_vote_list_is_counted_from_the_planner_estimate(admin_client, monkeypatch):
    VoteFactory.create_batch(3)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE voting_vote")
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_below", 0)

    with CaptureQueriesContext(connection) as queries:
        cl = _changelist(admin_client, "voting_vote")

    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"] and "voting_vote" in q["sql"]]
    assert counts == []
    assert cl.result_count == 3
    assert cl.full_result_count is None
    assert cl.paginator.is_estimate is True


def test_filtered_vote_list_is_counted_exactly(admin_client, monkeypatch):
    web = VoteFactory(channel=VoteChannel.WEB)
    VoteFactory(stage=web.stage, contestant=web.contestant, channel=VoteChannel.WEB)
    VoteFactory(stage=web.stage, contestant=web.contestant, channel=VoteChannel.SMS)
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_below", 0)

    cl = _changelist(admin_client, "voting_vote", channel__exact=VoteChannel.SMS)

    assert cl.result_count == 1
    assert cl.paginator.is_estimate is False
    assert [vote.channel for vote in cl.result_list] == [VoteChannel.SMS]
