"""The voting API's courtesy throttle: a fixed window per IP, counted in the process and
sent to the cache in batches."""

import socket

import pytest
from django.core.cache import cache
from django.test import RequestFactory, override_settings

from voting.api import throttles

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    now = [1_800_000_000.0]
    monkeypatch.setattr(throttles.time, "time", lambda: now[0])
    return now


def _allowed(throttle_class, ip="203.0.113.7") -> tuple[bool, float]:
    throttle = throttle_class()
    request = RequestFactory().post("/api/votes/", REMOTE_ADDR=ip)
    return throttle.allow_request(request, None), throttle.wait()


def test_a_window_allows_its_rate_then_refuses_until_the_next(settings, clock):
    cache.clear()
    settings.VOTING_API_THROTTLE_RATES = {"votes": "3/min"}

    answers = [_allowed(throttles.VoteThrottle)[0] for _ in range(4)]
    other_ip = _allowed(throttles.VoteThrottle, ip="203.0.113.8")[0]
    clock[0] += 20
    allowed, wait = _allowed(throttles.VoteThrottle)
    clock[0] += 40
    next_window = _allowed(throttles.VoteThrottle)[0]

    assert answers == [True, True, True, False]
    assert other_ip is True
    assert (allowed, wait) == (False, 40.0)
    assert next_window is True


def test_no_rate_means_no_throttle(settings, clock):
    settings.VOTING_API_THROTTLE_RATES = {}
    assert [_allowed(throttles.ReceiptThrottle)[0] for _ in range(50)] == [True] * 50


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket closes


def test_a_cache_outage_lets_the_request_through(settings, clock, caplog):
    """A Redis cache whose server is gone: the throttle lets requests through and logs it."""
    settings.VOTING_API_THROTTLE_RATES = {"otp": "1/min"}
    gone = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    with override_settings(CACHES=gone):  # given back before the fixtures clear the cache
        answers = [_allowed(throttles.OtpThrottle)[0] for _ in range(3)]

    assert answers == [True] * 3
    assert caplog.text.count("security: voting throttle failed open (ConnectionError)") == 3


def _key(scope: str, ip: str, clock, period: int = 60) -> str:
    return f"throttle_voting_{scope}_{ip}_{int(clock[0] // period)}"


def test_far_from_the_limit_counts_go_to_the_cache_in_batches(settings, clock):
    """Every FLUSH_EVERY requests, all of the process's pending counts at once (here of two
    addresses), and nothing in between."""
    settings.VOTING_API_THROTTLE_RATES = {"votes": "1000/min"}
    first, second = "203.0.113.7", "203.0.113.8"

    seen = []
    for n in range(1, 2 * throttles.FLUSH_EVERY + 1):
        assert _allowed(throttles.VoteThrottle, ip=first if n % 2 else second)[0] is True
        seen.append(
            (cache.get(_key("votes", first, clock)), cache.get(_key("votes", second, clock)))
        )

    half = throttles.FLUSH_EVERY // 2
    assert seen[throttles.FLUSH_EVERY - 2] == (None, None)
    assert seen[throttles.FLUSH_EVERY - 1] == (half, half)
    assert seen[2 * throttles.FLUSH_EVERY - 2] == (half, half)
    assert seen[2 * throttles.FLUSH_EVERY - 1] == (2 * half, 2 * half)


def test_pending_counts_go_with_the_next_request_after_a_second(settings, clock, monkeypatch):
    settings.VOTING_API_THROTTLE_RATES = {"votes": "1000/min"}
    monotonic = [100.0]
    monkeypatch.setattr(throttles.time, "monotonic", lambda: monotonic[0])
    throttles.forget_counts()  # its last send now at the clock above

    _allowed(throttles.VoteThrottle)
    _allowed(throttles.VoteThrottle)
    before = cache.get(_key("votes", "203.0.113.7", clock))
    monotonic[0] += throttles.FLUSH_AFTER
    _allowed(throttles.VoteThrottle)

    assert before is None
    assert cache.get(_key("votes", "203.0.113.7", clock)) == 3


def test_near_the_limit_every_request_is_decided_on_the_shared_count(settings, clock):
    """Two web processes (two tables of counts) share one address's limit of 25 a minute.
    Each counts in batches while far from it; near it, on every request: together they
    pass it by less than one batch."""
    settings.VOTING_API_THROTTLE_RATES = {"votes": "25/min"}
    processes = [throttles._ProcessCounts(), throttles._ProcessCounts()]
    key, ends_at = _key("votes", "203.0.113.7", clock), (int(clock[0] // 60) + 1) * 60

    allowed = [processes[n % 2].count(key, limit=25, ends_at=ends_at) for n in range(80)]

    assert 25 <= allowed.count(True) < 25 + throttles.FLUSH_EVERY
    assert allowed[-20:] == [False] * 20
    assert cache.get(key) > 25  # refused requests count too


def test_one_process_alone_is_exact_at_any_limit(settings, clock):
    settings.VOTING_API_THROTTLE_RATES = {"votes": "23/min"}

    answers = [_allowed(throttles.VoteThrottle)[0] for _ in range(30)]

    assert answers == [True] * 23 + [False] * 7


def test_ended_windows_are_dropped_from_the_process(settings, clock):
    settings.VOTING_API_THROTTLE_RATES = {"votes": "1000/s"}
    for second in range(3 * throttles.FLUSH_EVERY):
        clock[0] += 1
        _allowed(throttles.VoteThrottle, ip=f"203.0.113.{second}")

    assert len(throttles._counts._windows) <= throttles.FLUSH_EVERY
