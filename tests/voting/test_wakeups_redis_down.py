"""Redis down: after one failed wake-up, the writes that follow (a code request, a web
vote, an SMS batch) try no broker connection until the pause is over, and wake-ups
resume once it is.

Uses a Redis of its own on a free port, stopped and restarted by the test. Connection
attempts are counted by ``staff.wakeups`` itself (each attempt is one ``published`` or one
``failed``); the pause runs on a clock the test moves, so nothing here measures time.
"""

import json
import logging
from collections.abc import Iterator

import pytest
import redis as redis_client
from django.db import transaction

from campaigns.choices import CampaignStatus
from campaigns.messaging.inbound.router import InboundMessage, route_sms_batch
from campaigns.messaging.services import SEND_TASK
from campaigns.models import Campaign
from staff import wakeups
from staff.phones import parse_phone
from tests.redis_server import RedisProcess, needs_redis_server, running_redis
from voting.choices import VoteChannel
from voting.ledger.outbox import FOLD_TASK
from voting.ledger.services import cast_vote
from voting.otp.services import request_otp

pytestmark = [pytest.mark.django_db(transaction=True), needs_redis_server]


class StillClock:
    """Stands in for the wake-up module's ``time``: its monotonic clock moves only when
    the test moves it."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def broker(settings, monkeypatch) -> Iterator[tuple[RedisProcess, StillClock]]:
    """Wake-ups on, published to a Redis of the test's own, with the production transport
    options, on a clock that stands still."""
    clock = StillClock()
    monkeypatch.setattr(wakeups, "time", clock)
    settings.WAKEUPS_ENABLED = True
    settings.WAKEUP_TIMEOUT = 0.5
    settings.WAKEUP_BACKOFF_SECONDS = 5.0
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "max_retries": 2,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
        "socket_connect_timeout": 1,
        "socket_timeout": 2,
    }
    wakeups.reset_wakeups()
    with running_redis() as redis:
        settings.CELERY_BROKER_URL = redis.url
        yield redis, clock
    wakeups.reset_wakeups()


def queued_tasks(redis: RedisProcess) -> list[str]:
    """The task names of the messages waiting in the default queue of the test's Redis."""
    client = redis_client.Redis.from_url(redis.url)
    try:
        return sorted(json.loads(raw)["headers"]["task"] for raw in client.lrange("celery", 0, -1))
    finally:
        client.close()


def attempts() -> int:
    counts = wakeups.wakeup_counts()
    return counts["published"] + counts["failed"]


def web_vote(voting, phone: str) -> None:
    voter = parse_phone(phone)
    cast_vote(
        voting.stage,
        contestant=voting.alice,
        voter_hash=voter.hash,
        phone_masked=voter.masked,
        channel=VoteChannel.WEB,
    )


def sms_batch(phone: str) -> None:
    with transaction.atomic():
        route_sms_batch(
            [InboundMessage(id=f"m-{phone}", sender=phone, text="TP 1234", to="10690000")],
            provider="generic",
        )


@pytest.mark.timeout(120)
def test_one_failed_wakeup_pauses_the_broker_for_every_write_then_resumes(voting, broker, caplog):
    redis, clock = broker
    Campaign.objects.filter(pk=voting.stage.campaign_id).update(status=CampaignStatus.RUNNING)
    caplog.set_level(logging.WARNING, logger="staff.wakeups")

    # Up: a code request's wake-up reaches the broker.
    request_otp(phone="13900000001", ip=None)
    assert wakeups.wakeup_counts()["published"] == 1
    assert queued_tasks(redis) == [SEND_TASK]

    # Down: the next write tries once, fails, and pauses wake-ups.
    redis.kill()
    request_otp(phone="13900000002", ip=None)
    assert wakeups.wakeup_counts()["failed"] == 1
    tried = attempts()

    # During the pause: a code request, a web vote and an SMS batch each ask for wake-ups,
    # and none of them opens a broker connection.
    asked = []
    for write in (
        lambda: request_otp(phone="13900000003", ip=None),
        lambda: web_vote(voting, "13900000004"),
        lambda: sms_batch("13900000005"),
    ):
        before = wakeups.wakeup_counts()["paused"]
        write()
        asked.append(wakeups.wakeup_counts()["paused"] - before)
    assert all(n >= 1 for n in asked), asked
    assert attempts() == tried
    failures = [r for r in caplog.records if r.getMessage().startswith("wake-up of")]
    assert len(failures) == 1

    # Back: Redis restarts, the pause runs out, and the next write's wake-up is published.
    redis.start()
    clock.now += 5.0
    web_vote(voting, "13900000006")
    assert wakeups.wakeup_counts()["published"] == 2
    assert queued_tasks(redis) == [FOLD_TASK]
