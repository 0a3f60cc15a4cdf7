"""Public leaderboard pages: the phone page, the big screen and the live fragment they poll.

Boards are published through the service first (``publish_stage_leaderboard``), as the
beat task would; the pages read the published board, never the ledger.
"""

import datetime as dt
import re

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.choices import CampaignStatus, StageStatus, Visibility
from campaigns.models import Campaign, Stage
from staff.phones import parse_phone
from tests.factories.campaigns import ContestantFactory, StageFactory
from tests.factories.staff import OrgUnitFactory, PositionFactory, StaffMemberFactory
from voting.choices import VoteChannel
from voting.counting.publication import publish_stage_leaderboard
from voting.ledger.services import cast_vote
from voting.models import LeaderboardSnapshot

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
LEDGER_TABLE = re.compile(r"\bvoting_vote\b")
_numbers = iter(range(10**6))


def cast(stage, contestant, channel=VoteChannel.WEB, times=1):
    for _ in range(times):
        phone = parse_phone(f"196{next(_numbers):08d}")
        cast_vote(
            stage,
            contestant=contestant,
            voter_hash=phone.hash,
            phone_masked=phone.masked,
            channel=channel,
        )


def set_stage(stage, **fields) -> Stage:
    """Change the stage, then run the publication tick that carries its facts to cached
    readers (the pages trust the cached facts while the ticks confirm them)."""
    Stage.objects.filter(pk=stage.pk).update(**fields)
    stage.refresh_from_db()
    publish_stage_leaderboard(stage)
    return stage


def rows(html: str) -> list[tuple[int, str, str | None]]:
    """``(rank, name, votes shown or None)`` of each row of a rendered board."""
    found = []
    for chunk in re.split(r'<li class="(?:board|screen)-row', html)[1:]:
        chunk = chunk.split("</li>", 1)[0]
        rank = int(re.search(r'data-rank="(\d+)"', chunk).group(1))
        name = re.search(r'class="board-name"[^>]*>([^<]+)<', chunk).group(1)
        votes = re.search(r'class="board-votes"><strong>([\d,]+)</strong>', chunk)
        found.append((rank, name, votes.group(1) if votes else None))
    return found


def page_url(stage, **query) -> str:
    url = reverse("voting:leaderboard", args=[stage.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def public(voting):
    """The ``voting`` setup in a running (public) campaign."""
    Campaign.objects.filter(pk=voting.stage.campaign_id).update(status=CampaignStatus.RUNNING)
    return voting


@pytest.fixture
def board(public):
    """Alice (1234) 3 votes, Bob (5678) 1, Carol (9012) none; published."""
    voting = public
    voting.alice.staff_member.name = "Alice"
    voting.alice.staff_member.save()
    voting.bob.staff_member.name = "Bob"
    voting.bob.staff_member.save()
    ContestantFactory(
        stage=voting.stage, staff_member=StaffMemberFactory(employee_no="9012", name="Carol")
    )
    cast(voting.stage, voting.alice, times=2)
    cast(voting.stage, voting.alice, VoteChannel.SMS)
    cast(voting.stage, voting.bob)
    publish_stage_leaderboard(voting.stage)
    return voting


def test_page_shows_the_published_board_with_ranks_names_and_votes(board, client):
    response = client.get(page_url(board.stage), **EN)

    assert response.status_code == 200
    assert rows(response.text) == [(1, "Alice", "3"), (2, "Bob", "1"), (3, "Carol", "0")]
    assert "4 votes counted" in response.text
    assert "Updated at" in response.text
    assert "Last updated" not in response.text


def test_page_shows_updated_at_in_shanghai_time_from_the_snapshot(board, client):
    snapshot = publish_stage_leaderboard(board.stage)
    local = snapshot.published_at.astimezone(dt.timezone(dt.timedelta(hours=8)))

    response = client.get(page_url(board.stage), **EN)

    assert f">{local:%H:%M:%S}</time>" in response.text


def test_page_is_in_chinese_by_default(board, client):
    response = client.get(page_url(board.stage))

    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.text


def test_page_without_a_publication_says_the_board_comes_later(public, client):
    response = client.get(page_url(public.stage), **EN)

    assert response.status_code == 200
    assert rows(response.text) == []
    assert "The leaderboard appears here once voting has started." in response.text


def test_page_ranks_only_shows_ranks_and_no_counts(board, client):
    set_stage(board.stage, visibility=Visibility.RANKS_ONLY)

    page = client.get(page_url(board.stage), **EN)
    screen = client.get(reverse("voting:leaderboard-screen", args=[board.stage.pk]), **EN)

    assert rows(page.text) == [(1, "Alice", None), (2, "Bob", None), (3, "Carol", None)]
    assert rows(screen.text) == [(1, "Alice", None), (2, "Bob", None), (3, "Carol", None)]
    for response in (page, screen):
        assert "This stage shows ranks only, not vote counts." in response.text
        assert "votes counted" not in response.text
        assert "board-bar" not in response.text


def test_page_hides_counts_in_the_final_hours_only(board, client, frozen_now):
    set_stage(
        board.stage,
        visibility=Visibility.HIDDEN_FINAL_HOURS,
        hide_final_hours=3,
        closes_at=frozen_now + dt.timedelta(hours=5),
    )
    screen_url = reverse("voting:leaderboard-screen", args=[board.stage.pk])
    note = "Vote counts are hidden in the final 3 hours before voting closes."

    with time_machine.travel(frozen_now + dt.timedelta(hours=1), tick=False):
        before = [client.get(page_url(board.stage), **EN), client.get(screen_url, **EN)]
    with time_machine.travel(frozen_now + dt.timedelta(hours=2, minutes=1), tick=False):
        during = [client.get(page_url(board.stage), **EN), client.get(screen_url, **EN)]

    for response in before:
        assert rows(response.text) == [(1, "Alice", "3"), (2, "Bob", "1"), (3, "Carol", "0")]
        assert note not in response.text
    for response in during:
        assert rows(response.text) == [(1, "Alice", None), (2, "Bob", None), (3, "Carol", None)]
        assert note in response.text


def test_page_filters_by_branch_and_position_exactly(public, client):
    voting = public
    north = OrgUnitFactory(code="NORTH", name="North", kind="branch")
    south = OrgUnitFactory(code="SOUTH", name="South", kind="branch")
    store = OrgUnitFactory(code="N01", name="North store", kind="store", parent=north)
    clerk = PositionFactory(code="clerk", name="Clerk")
    agent = PositionFactory(code="agent", name="Agent")
    people = {
        "Ann": ContestantFactory(
            stage=voting.stage,
            staff_member=StaffMemberFactory(name="Ann", unit=store, position=clerk),
        ),
        "Ben": ContestantFactory(
            stage=voting.stage,
            staff_member=StaffMemberFactory(name="Ben", unit=north, position=agent),
        ),
        "Cai": ContestantFactory(
            stage=voting.stage,
            staff_member=StaffMemberFactory(name="Cai", unit=south, position=clerk),
        ),
    }
    cast(voting.stage, people["Ann"], times=1)
    cast(voting.stage, people["Ben"], times=2)
    cast(voting.stage, people["Cai"], times=3)
    publish_stage_leaderboard(voting.stage)

    north_board = client.get(page_url(voting.stage, branch="NORTH"), **EN)
    clerks = client.get(page_url(voting.stage, position="clerk"), **EN)
    both = client.get(page_url(voting.stage, branch="NORTH", position="clerk"), **EN)
    unknown = client.get(page_url(voting.stage, branch="NOWHERE"), **EN)

    assert rows(north_board.text) == [(1, "Ben", "2"), (2, "Ann", "1")]
    assert rows(clerks.text) == [(1, "Cai", "3"), (2, "Ann", "1")]
    assert rows(both.text) == [(1, "Ann", "1")]
    assert unknown.status_code == 200
    assert "Select a valid choice." in unknown.text
    assert [name for _rank, name, _votes in rows(unknown.text)][:3] == ["Cai", "Ben", "Ann"]
    assert '<option value="NORTH" selected>North</option>' in north_board.text


@pytest.mark.parametrize("cache_state", ["hit", "miss"])
def test_page_and_fragment_never_read_the_vote_ledger(board, client, cache_state):
    if cache_state == "miss":
        cache.clear()
    urls = [
        page_url(board.stage),
        page_url(board.stage, position="x"),
        reverse("voting:leaderboard-screen", args=[board.stage.pk]),
        reverse("voting:leaderboard-live", args=[board.stage.pk]),
        reverse("voting:leaderboard-screen-live", args=[board.stage.pk]),
    ]

    with CaptureQueriesContext(connection) as queries:
        statuses = [client.get(url).status_code for url in urls]

    assert statuses == [200] * 5
    assert [q["sql"] for q in queries.captured_queries if LEDGER_TABLE.search(q["sql"])] == []


@pytest.mark.parametrize("contestants", [1, 3])
def test_page_query_count_does_not_grow_with_the_board(
    public, client, contestants, django_assert_num_queries
):
    voting = public
    for _ in range(contestants - 1):
        ContestantFactory(stage=voting.stage)
    cast(voting.stage, voting.alice)
    publish_stage_leaderboard(voting.stage)
    url = page_url(voting.stage)

    # Everything from the cache: the head (stage facts), the board and the pictures; the
    # first request renders and stores the page, the second reads it.
    with django_assert_num_queries(0):
        first = client.get(url)
    with django_assert_num_queries(0):
        second = client.get(url)
    # A filtered board reads the stage (status, campaign) from the database.
    with django_assert_num_queries(1):
        filtered = client.get(page_url(voting.stage, position="x"))

    assert len(rows(first.text)) == len(rows(second.text)) == contestants + 1
    assert filtered.status_code == 200


@pytest.mark.parametrize("contestants", [1, 3])
def test_fragment_query_count_does_not_grow_with_the_board(
    public, client, contestants, django_assert_num_queries
):
    voting = public
    for _ in range(contestants - 1):
        ContestantFactory(stage=voting.stage)
    publish_stage_leaderboard(voting.stage)
    url = reverse("voting:leaderboard-live", args=[voting.stage.pk])

    with django_assert_num_queries(0):
        full = client.get(url)
    # A 304 is decided from the cached head alone.
    with django_assert_num_queries(0):
        not_modified = client.get(url, HTTP_IF_NONE_MATCH=full["ETag"])

    assert (full.status_code, not_modified.status_code) == (200, 304)
    assert len(rows(full.text)) == contestants + 1


def test_fragment_etag_gives_304_until_the_board_changes(board, client):
    url = reverse("voting:leaderboard-live", args=[board.stage.pk])
    first = client.get(url, **EN)

    same = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"], **EN)
    cast(board.stage, board.bob, times=3)
    publish_stage_leaderboard(board.stage)
    changed = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"], **EN)
    filtered = client.get(url + "?position=x", HTTP_IF_NONE_MATCH=first["ETag"], **EN)

    assert first.status_code == 200
    assert first["Cache-Control"] == "no-cache"
    assert rows(first.text) == [(1, "Alice", "3"), (2, "Bob", "1"), (3, "Carol", "0")]
    assert (same.status_code, same.content, same["ETag"]) == (304, b"", first["ETag"])
    assert changed.status_code == 200
    assert changed["ETag"] != first["ETag"]
    assert rows(changed.text) == [(1, "Bob", "4"), (2, "Alice", "3"), (3, "Carol", "0")]
    assert filtered.status_code == 200


def test_fragment_etag_differs_per_language_and_view(board, client):
    page = reverse("voting:leaderboard-live", args=[board.stage.pk])
    screen = reverse("voting:leaderboard-screen-live", args=[board.stage.pk])

    etags = {
        client.get(page, **EN)["ETag"],
        client.get(page)["ETag"],
        client.get(screen, **EN)["ETag"],
    }

    assert len(etags) == 3


def test_page_carries_the_polling_hooks_and_no_inline_script(board, client):
    response = client.get(page_url(board.stage, position="x"), **EN)
    live = reverse("voting:leaderboard-live", args=[board.stage.pk]) + "?position=x"
    etag = client.get(live, **EN)["ETag"]

    assert f'data-live-url="{live}"' in response.text
    assert f'data-etag="{etag.replace(chr(34), "&quot;")}"' in response.text
    assert "/static/voting/js/leaderboard.js" in response.text
    assert "<script>" not in response.text
    assert "<style" not in response.text


def test_stale_board_says_when_it_was_last_updated(board, client, frozen_now):
    with time_machine.travel(frozen_now + dt.timedelta(seconds=5), tick=False):
        fresh = client.get(page_url(board.stage), **EN)
    with time_machine.travel(frozen_now + dt.timedelta(minutes=3, seconds=5), tick=False):
        stale = client.get(page_url(board.stage), **EN)
        screen = client.get(reverse("voting:leaderboard-screen", args=[board.stage.pk]), **EN)

    assert "board-stale" not in fresh.text
    for response in (stale, screen):
        assert "Last updated 3\xa0minutes ago." in response.text
        assert rows(response.text)[0] == (1, "Alice", "3")


def test_stale_marker_is_measured_from_the_last_publication_tick(board, client, frozen_now):
    # The state last changed five minutes ago, but the publisher has just confirmed it
    # (both stamps on the database clock, which the fixtures hold still): not stale.
    LeaderboardSnapshot.objects.filter(stage=board.stage).update(
        published_at=frozen_now - dt.timedelta(minutes=5)
    )
    publish_stage_leaderboard(board.stage)

    response = client.get(page_url(board.stage), **EN)

    assert "board-stale" not in response.text
    assert LeaderboardSnapshot.objects.filter(stage=board.stage).count() == 1


def test_closed_stage_board_is_final_and_never_stale(board, client, frozen_now):
    set_stage(board.stage, status=StageStatus.CLOSED)
    publish_stage_leaderboard(board.stage, final=True)

    with time_machine.travel(frozen_now + dt.timedelta(days=2), tick=False):
        response = client.get(page_url(board.stage), **EN)

    assert "Voting has closed: this is the final board." in response.text
    assert "board-stale" not in response.text


def test_screen_shows_the_top_rows_and_the_sms_instruction(board, client, settings):
    settings.SMS_VOTE_NUMBER = "10690123"
    url = reverse("voting:leaderboard-screen", args=[board.stage.pk])

    top_two = client.get(url + "?top=2", **EN)
    default = client.get(url, **EN)
    too_many = client.get(url + "?top=999", **EN)

    assert rows(top_two.text) == [(1, "Alice", "3"), (2, "Bob", "1")]
    assert len(rows(default.text)) == 3
    assert len(rows(too_many.text)) == 3
    assert "Text <strong>TP</strong> + employee number to <strong>10690123</strong>" in (
        top_two.text
    )
    assert "data-reconnecting hidden" in top_two.text


def test_unknown_and_draft_stages_are_not_found(board, client):
    Campaign.objects.filter(pk=board.stage.campaign_id).update(status=CampaignStatus.DRAFT)
    publish_stage_leaderboard(board.stage)  # the tick carries the campaign's status
    other = StageFactory()
    Campaign.objects.filter(pk=other.campaign_id).update(status=CampaignStatus.DRAFT)

    responses = [
        client.get(page_url(board.stage)),
        client.get(reverse("voting:leaderboard", args=[2**63])),
        client.get(reverse("voting:leaderboard-live", args=[999999])),
        client.get(reverse("voting:leaderboard-screen", args=[other.pk])),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404, 404]


def test_campaign_page_links_to_the_leaderboard_of_an_open_stage(board, client):
    response = client.get(reverse("campaigns:campaign-detail", args=[board.stage.campaign_id]))

    assert f'href="{page_url(board.stage)}"' in response.text


def test_health_reports_the_age_of_open_stage_boards(board, client, frozen_now):
    # The boards are stamped and aged by one clock, the database's, held still by the
    # fixtures: the age is exact. Ten minutes pass for the board by moving its stamp back.
    fresh = client.get("/healthz").json()
    LeaderboardSnapshot.objects.filter(stage=board.stage).update(
        published_at=frozen_now - dt.timedelta(minutes=10)
    )
    cache.clear()
    stale = client.get("/healthz")

    stage = str(board.stage.pk)
    assert fresh["status"] == "ok"
    assert fresh["leaderboards"]["stages"][stage] == {"age_seconds": 0.0, "stale": False}
    assert stale.status_code == 200
    assert stale.json()["status"] == "degraded"
    assert stale.json()["leaderboards"]["status"] == "stale"
    assert stale.json()["leaderboards"]["stages"][stage] == {"age_seconds": 600.0, "stale": True}


@pytest.fixture
def crowd(public, monkeypatch):
    """250 contestants (Alice and Bob among them) with distinct counts, so ranks 1-250;
    the odd ranks are clerks, the even ones agents. Counts are patched in (casting 31,000
    votes would take minutes); the publication is otherwise the real one."""
    voting = public
    clerk = PositionFactory(code="clerk", name="Clerk")
    agent = PositionFactory(code="agent", name="Agent")
    contestants = [voting.alice, voting.bob]
    contestants += [
        ContestantFactory(
            stage=voting.stage,
            staff_member=StaffMemberFactory(employee_no=f"7{i:04d}", position=clerk),
        )
        for i in range(248)
    ]
    for index, contestant in enumerate(contestants):
        contestant.staff_member.position = clerk if index % 2 == 0 else agent
        contestant.staff_member.save()
    counts = {(c.pk, VoteChannel.WEB.value): 1000 - i for i, c in enumerate(contestants)}
    monkeypatch.setattr("voting.counting.publication.counted_votes", lambda stage: counts)
    publish_stage_leaderboard(voting.stage)
    return voting


def ranks(html: str) -> list[int]:
    return [rank for rank, _name, _votes in rows(html)]


def test_page_shows_100_rows_a_page(crowd, client):
    first = client.get(page_url(crowd.stage), **EN)
    third = client.get(page_url(crowd.stage, page=3), **EN)
    third_live = client.get(
        reverse("voting:leaderboard-live", args=[crowd.stage.pk]) + "?page=3", **EN
    )

    assert ranks(first.text) == list(range(1, 101))
    assert ranks(third.text) == ranks(third_live.text) == list(range(201, 251))
    assert "Page 1 of 3" in first.text
    assert "Page 3 of 3" in third.text
    assert f'href="{page_url(crowd.stage, page=2)}">Next page' in first.text
    assert f'href="{page_url(crowd.stage, page=2)}">Previous page' in third.text
    # The bars stay relative to the leader (1,000 votes), not to the page's first row.
    assert '<rect width="80.0"' in third.text  # rank 201: 800 votes


@pytest.mark.parametrize("value", ["0", "-2", "abc", "", "1.5", "9" * 5000])
def test_page_a_bad_page_number_is_page_1(crowd, client, value):
    response = client.get(page_url(crowd.stage, page=value), **EN)

    assert response.status_code == 200
    assert ranks(response.text) == list(range(1, 101))


def test_page_beyond_the_end_is_the_last_page(crowd, client):
    response = client.get(page_url(crowd.stage, page=99), **EN)
    live = reverse("voting:leaderboard-live", args=[crowd.stage.pk]) + "?page=3"

    assert ranks(response.text) == list(range(201, 251))
    assert f'data-live-url="{live}"' in response.text


def test_page_pager_keeps_the_filters(crowd, client):
    response = client.get(page_url(crowd.stage, position="agent", page=2), **EN)
    live = reverse("voting:leaderboard-live", args=[crowd.stage.pk])

    assert ranks(response.text) == list(range(101, 126))  # 125 agents, re-ranked
    assert "Page 2 of 2" in response.text
    assert f'href="{page_url(crowd.stage, position="agent")}">Previous page' in response.text
    assert f'data-live-url="{live}?position=agent&amp;page=2"' in response.text


def test_page_pager_is_in_chinese(crowd, client):
    response = client.get(page_url(crowd.stage))

    assert "第 1 页，共 3 页" in response.text
    assert "下一页" in response.text


def test_page_a_small_board_has_no_pager(board, client):
    assert "pagination" not in client.get(page_url(board.stage), **EN).text
