"""Redis is not the record: with the cache down, the leaderboard pages and the
API answer from the latest snapshot in the database with its time, votes are still
accepted, publication still stores snapshots, and the cache is refilled once Redis is back.

Uses a Redis server of its own on a free port (never the machine's shared one), killed
and restarted by the test. Skipped when ``redis-server`` is not installed.
"""

import datetime as dt
import logging
from collections.abc import Iterator

import pytest
from django.test import override_settings
from django.urls import reverse

from campaigns.choices import CampaignStatus
from campaigns.models import Campaign
from staff.phones import parse_phone
from tests.redis_server import RedisProcess, needs_redis_server, running_redis
from voting.choices import VoteChannel
from voting.counting.leaderboards import latest_snapshot, leaderboard_for_stage
from voting.counting.publication import publish_leaderboards
from voting.ledger.services import cast_vote
from voting.models import LeaderboardSnapshot, Vote

SHANGHAI = dt.timezone(dt.timedelta(hours=8))

pytestmark = [pytest.mark.django_db, needs_redis_server]


@pytest.fixture
def redis_process() -> Iterator[RedisProcess]:
    with running_redis() as redis:
        yield redis


def _cast(stage, contestant, times=1, start=0):
    for n in range(start, start + times):
        phone = parse_phone(f"199{n:08d}")
        cast_vote(
            stage,
            contestant=contestant,
            voter_hash=phone.hash,
            phone_masked=phone.masked,
            channel=VoteChannel.WEB,
        )


def _employee_numbers(html: str) -> list[str]:
    return [chunk.split("/", 1)[0] for chunk in html.split("/candidates/")[1:]]


@pytest.mark.timeout(60)
def test_leaderboard_and_voting_survive_redis_down_and_refill_after(
    voting, client, redis_process, caplog
):
    Campaign.objects.filter(pk=voting.stage.campaign_id).update(status=CampaignStatus.RUNNING)
    caches = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{redis_process.port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    page = reverse("voting:leaderboard", args=[voting.stage.pk])
    api = reverse("voting_api:stage-leaderboard", args=[voting.stage.pk])
    with override_settings(CACHES=caches):
        _cast(voting.stage, voting.alice, times=2)
        _cast(voting.stage, voting.bob, start=10)
        [published] = publish_leaderboards()
        cached = leaderboard_for_stage(voting.stage.pk)

        redis_process.kill()
        down_page = client.get(page, HTTP_ACCEPT_LANGUAGE="en")
        down_api = client.get(api)
        down_live = client.get(reverse("voting:leaderboard-live", args=[voting.stage.pk]))
        _cast(voting.stage, voting.bob, times=2, start=20)
        with caplog.at_level(logging.WARNING, logger="voting.counting.publication"):
            [during] = publish_leaderboards()
        after_outage_page = client.get(page, HTTP_ACCEPT_LANGUAGE="en")
        from_database = leaderboard_for_stage(voting.stage.pk)

        redis_process.start()
        [after] = publish_leaderboards()
        refilled = leaderboard_for_stage(voting.stage.pk)

    assert cached.source == "cache"
    assert [r.status_code for r in (down_page, down_api, down_live)] == [200, 200, 200]
    assert _employee_numbers(down_page.text) == ["1234", "5678"]
    local = published.published_at.astimezone(SHANGHAI)
    assert f">{local:%H:%M:%S}</time>" in down_page.text
    assert dt.datetime.fromisoformat(down_api.json()["published_at"]) == published.published_at
    assert [(e["employee_no"], e["votes"]) for e in down_api.json()["entries"]] == [
        ("1234", 2),
        ("5678", 1),
    ]
    # Votes are accepted and publication goes on in PostgreSQL while the cache is down.
    assert Vote.objects.filter(stage=voting.stage).count() == 5
    assert during.pk != published.pk
    assert LeaderboardSnapshot.objects.filter(stage=voting.stage).count() == 2
    assert "leaderboard cache write failed" in caplog.text
    assert from_database.source == "database"
    assert [(e["employee_no"], e["votes"]) for e in from_database.entries] == [
        ("5678", 3),
        ("1234", 2),
    ]
    assert _employee_numbers(after_outage_page.text) == ["5678", "1234"]
    # Back: the next tick fills the cache again, with the same board.
    assert after.pk == during.pk == latest_snapshot(voting.stage).pk
    assert refilled.source == "cache"
    assert refilled.cut == during.digest
