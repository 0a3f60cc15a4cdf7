"""The leaderboard read path under a read storm: with the cache
warm, the API, the polled fragment and the pages (no filters) answer from the cache alone,
with no database query, 304s included; the answer is the same as the slower path's (the
stage read from the database); the hidden final hours start at the exact moment; each
language has its own cached HTML; and public GETs never touch the session table.
"""

import datetime as dt
import re

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from campaigns.choices import CampaignStatus, Visibility
from campaigns.models import Campaign, Stage
from staff.phones import parse_phone
from tests.factories.campaigns import ContestantFactory
from tests.factories.staff import StaffMemberFactory
from voting.choices import VoteChannel
from voting.counting.leaderboards import API_KEY, HEAD_KEY, HTML_KEY, board_cache_keys
from voting.counting.publication import publish_stage_leaderboard
from voting.ledger.services import cast_vote
from voting.views.leaderboards import CSRF_MARKER, HOST_MARKER

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_numbers = iter(range(10**6))


def cast(stage, contestant, times=1):
    for _ in range(times):
        phone = parse_phone(f"195{next(_numbers):08d}")
        cast_vote(
            stage,
            contestant=contestant,
            voter_hash=phone.hash,
            phone_masked=phone.masked,
            channel=VoteChannel.WEB,
        )


def votes_shown(html: str) -> list[str]:
    return re.findall(r'class="board-votes"><strong>([\d,]+)</strong>', html)


@pytest.fixture
def board(voting):
    """A public stage: Alice (1234) 3 votes, Bob (5678) 1, Carol (9012) none; published."""
    Campaign.objects.filter(pk=voting.stage.campaign_id).update(status=CampaignStatus.RUNNING)
    ContestantFactory(
        stage=voting.stage, staff_member=StaffMemberFactory(employee_no="9012", name="Carol")
    )
    cast(voting.stage, voting.alice, times=3)
    cast(voting.stage, voting.bob)
    publish_stage_leaderboard(voting.stage)
    return voting


def urls(stage) -> dict[str, str]:
    return {
        "api": reverse("voting_api:stage-leaderboard", args=[stage.pk]),
        "page": reverse("voting:leaderboard", args=[stage.pk]),
        "screen": reverse("voting:leaderboard-screen", args=[stage.pk]),
        "live": reverse("voting:leaderboard-live", args=[stage.pk]),
        "screen-live": reverse("voting:leaderboard-screen-live", args=[stage.pk]),
    }


def test_warm_cache_answers_every_view_without_a_query(board, client, django_assert_num_queries):
    targets = urls(board.stage)
    for url in targets.values():  # renders and stores the pages' HTML (still no query)
        with django_assert_num_queries(0):
            assert client.get(url, **EN).status_code == 200

    with django_assert_num_queries(0):
        answers = {name: client.get(url, **EN) for name, url in targets.items()}
    with django_assert_num_queries(0):
        not_modified = [
            client.get(targets[name], HTTP_IF_NONE_MATCH=answers[name]["ETag"], **EN)
            for name in ("api", "live", "screen-live")
        ]

    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(targets, 200)
    assert [r.status_code for r in not_modified] == [304, 304, 304]
    assert [r.content for r in not_modified] == [b"", b"", b""]
    assert [e["votes"] for e in answers["api"].json()["entries"]] == [3, 1, 0]
    assert votes_shown(answers["page"].text) == ["3", "1", "0"]


def test_a_logged_in_visitor_costs_no_session_query(board, admin_client, django_assert_num_queries):
    # The session cookie is sent, but nothing on these views reads the session (the
    # language comes from the cookie or Accept-Language, the CSRF token from its cookie).
    for url in urls(board.stage).values():
        admin_client.get(url)

    with django_assert_num_queries(0):
        statuses = [admin_client.get(url).status_code for url in urls(board.stage).values()]

    assert statuses == [200] * 5


def test_api_body_and_etag_from_the_cache_equal_drf_rendering(board, client):
    url = urls(board.stage)["api"]
    fast = client.get(url)
    cache.delete(API_KEY.format(stage_id=board.stage.pk))
    slow = client.get(url)

    assert (fast.content, fast["ETag"]) == (slow.content, slow["ETag"])
    assert fast["Content-Type"] == slow["Content-Type"] == "application/json"
    assert fast["Vary"] == slow["Vary"]
    assert fast["Cache-Control"] == slow["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("view", ["page", "screen", "live", "screen-live"])
def test_pages_from_the_cache_equal_the_database_path(board, client, view):
    url = urls(board.stage)[view]
    client.get(url, **EN)
    cached = client.get(url, **EN)  # the stored HTML
    for key in board_cache_keys(board.stage.pk)[1:]:  # keep the board, drop the head
        cache.delete(key)
    slow = client.get(url, **EN)

    def same(html: str) -> str:
        return TOKEN.sub("token", html)

    assert same(cached.text) == same(slow.text)
    assert cached.get("ETag") == slow.get("ETag")
    assert CSRF_MARKER not in cached.text
    assert HOST_MARKER not in cached.text


def test_each_language_has_its_own_cached_html(board, client, django_assert_num_queries):
    stage_id = board.stage.pk
    english = client.get(urls(board.stage)["page"], **EN)
    chinese = client.get(urls(board.stage)["page"], **ZH)
    live_en = client.get(urls(board.stage)["live"], **EN)
    live_zh = client.get(urls(board.stage)["live"], **ZH)

    cached = {
        (view, code): cache.get(HTML_KEY.format(stage_id=stage_id, view=view, language=code))
        for view in ("page", "page-live")
        for code in ("en", "zh-hans")
    }
    with django_assert_num_queries(0):
        again = client.get(urls(board.stage)["page"], **ZH)

    assert '<html lang="en">' in english.text
    assert '<html lang="zh-hans">' in chinese.text
    assert "4 votes counted" in english.text
    assert "4 votes counted" not in chinese.text
    assert all(value is not None for value in cached.values())
    assert cached["page-live", "en"] == (live_en["ETag"], live_en.content)
    assert cached["page-live", "zh-hans"] == (live_zh["ETag"], live_zh.content)
    assert live_en["ETag"] != live_zh["ETag"]
    assert cached["page", "en"][1] != cached["page", "zh-hans"][1]
    assert TOKEN.sub("token", again.text) == TOKEN.sub("token", chinese.text)


def test_counts_hide_at_the_exact_start_of_the_final_hours_with_a_warm_cache(
    board, client, frozen_now, django_assert_num_queries
):
    # The counts hide from exactly now on; the last tick ran now too (on the database
    # clock, which the fixtures hold still), so the reads around the switch trust it.
    switch = frozen_now
    closes_at = switch + dt.timedelta(hours=2)
    Stage.objects.filter(pk=board.stage.pk).update(
        visibility=Visibility.HIDDEN_FINAL_HOURS, hide_final_hours=2, closes_at=closes_at
    )
    targets = urls(board.stage)
    publish_stage_leaderboard(board.stage)  # the last tick before the switch
    answers = {}
    for moment in (switch - dt.timedelta(microseconds=1), switch):
        with (
            time_machine.travel(moment, tick=False),
            django_assert_num_queries(0),
        ):
            answers[moment] = {name: client.get(url, **EN) for name, url in targets.items()}
    before, during = answers[switch - dt.timedelta(microseconds=1)], answers[switch]
    with time_machine.travel(switch, tick=False), django_assert_num_queries(0):
        poll = client.get(targets["live"], HTTP_IF_NONE_MATCH=before["live"]["ETag"], **EN)

    note = "Vote counts are hidden in the final 2 hours before voting closes."
    assert [e["votes"] for e in before["api"].json()["entries"]] == [3, 1, 0]
    assert [set(e) for e in during["api"].json()["entries"]] == [
        {"rank", "employee_no", "name", "unit"}
    ] * 3
    assert during["api"]["ETag"] != before["api"]["ETag"]
    for name in ("page", "screen", "live", "screen-live"):
        assert votes_shown(before[name].text) == ["3", "1", "0"], name
        assert votes_shown(during[name].text) == [], name
    assert note not in before["page"].text
    assert note in during["page"].text
    assert (poll.status_code, poll["ETag"]) == (200, during["live"]["ETag"])


def test_a_head_not_confirmed_by_a_recent_tick_takes_the_database_path(
    board, client, frozen_now, django_assert_num_queries
):
    # Beat stopped (or the stage left the published statuses): the cached facts are not
    # trusted any more; the stage is read again, and the page says the board is stale.
    later = frozen_now + dt.timedelta(minutes=3)
    Stage.objects.filter(pk=board.stage.pk).update(visibility=Visibility.RANKS_ONLY)

    with time_machine.travel(later, tick=False), django_assert_num_queries(1):
        response = client.get(urls(board.stage)["page"], **EN)

    assert "board-stale" in response.text
    assert votes_shown(response.text) == []
    assert "This stage shows ranks only, not vote counts." in response.text


def test_the_cached_page_gives_each_visitor_a_working_language_switch(board):
    client = Client(enforce_csrf_checks=True)
    page = urls(board.stage)["page"]
    client.get(page)  # stores the page
    response = client.get(page)
    token = TOKEN.search(response.text).group(1)

    switched = client.post(
        reverse("set_language"), {"language": "en", "next": page, "csrfmiddlewaretoken": token}
    )

    assert token != CSRF_MARKER
    assert switched.status_code == 302
    assert switched["Location"] == page
    assert '<html lang="en">' in client.get(page).text


def test_the_cached_screen_shows_the_host_it_was_asked_for(board, client, settings):
    settings.ALLOWED_HOSTS = ["venue.example", "screen.example"]
    url = urls(board.stage)["screen"]

    first = client.get(url, HTTP_HOST="venue.example")
    second = client.get(url, HTTP_HOST="screen.example")

    assert '<p class="screen-host">venue.example</p>' in first.text
    assert '<p class="screen-host">screen.example</p>' in second.text


def test_a_draft_campaign_is_not_found_from_the_cache_either(board, client):
    Campaign.objects.filter(pk=board.stage.campaign_id).update(status=CampaignStatus.DRAFT)
    publish_stage_leaderboard(board.stage)

    statuses = [client.get(urls(board.stage)[v]).status_code for v in ("page", "live")]

    assert statuses == [404, 404]
    assert cache.get(HEAD_KEY.format(stage_id=board.stage.pk))["facts"]["public"] is False


@pytest.fixture
def crowd(voting, monkeypatch):
    """A public stage of 250 contestants with distinct counts (patched in: casting 31,000
    votes would take minutes), published: three pages on the phone page."""
    Campaign.objects.filter(pk=voting.stage.campaign_id).update(status=CampaignStatus.RUNNING)
    contestants = [voting.alice, voting.bob] + [
        ContestantFactory(
            stage=voting.stage, staff_member=StaffMemberFactory(employee_no=f"7{i:04d}")
        )
        for i in range(248)
    ]
    counts = {(c.pk, VoteChannel.WEB.value): 1000 - i for i, c in enumerate(contestants)}
    monkeypatch.setattr("voting.counting.publication.counted_votes", lambda stage: counts)
    publish_stage_leaderboard(voting.stage)
    return voting


def ranks(html: str) -> list[int]:
    return [int(rank) for rank in re.findall(r'data-rank="(\d+)"', html)]


def test_warm_cache_answers_any_page_without_a_query(crowd, client, django_assert_num_queries):
    targets = [
        urls(crowd.stage)[name] + query
        for name in ("page", "live")
        for query in ("?page=2", "?page=3", "?page=9", "?page=x")
    ]
    for url in targets:  # renders and stores the pages' HTML (still no query)
        with django_assert_num_queries(0):
            assert client.get(url, **EN).status_code == 200

    with django_assert_num_queries(0):
        answers = {url: client.get(url, **EN) for url in targets}
    live = urls(crowd.stage)["live"] + "?page=2"
    with django_assert_num_queries(0):
        not_modified = client.get(live, HTTP_IF_NONE_MATCH=answers[live]["ETag"], **EN)

    assert not_modified.status_code == 304
    page = urls(crowd.stage)["page"]
    assert ranks(answers[page + "?page=2"].text) == list(range(101, 201))
    assert ranks(answers[live].text) == list(range(101, 201))
    assert ranks(answers[page + "?page=9"].text) == list(range(201, 251))
    assert ranks(answers[page + "?page=x"].text) == list(range(1, 101))
    assert answers[live]["ETag"] != client.get(urls(crowd.stage)["live"], **EN)["ETag"]


@pytest.mark.parametrize("view", ["page", "live"])
def test_other_pages_from_the_cache_equal_the_database_path(crowd, client, view):
    url = urls(crowd.stage)[view] + "?page=2"
    client.get(url, **EN)
    cached = client.get(url, **EN)  # the stored HTML
    for key in board_cache_keys(crowd.stage.pk)[1:]:  # keep the board, drop the head
        cache.delete(key)
    slow = client.get(url, **EN)

    assert TOKEN.sub("token", cached.text) == TOKEN.sub("token", slow.text)
    assert cached.get("ETag") == slow.get("ETag")
    assert ranks(cached.text) == list(range(101, 201))
