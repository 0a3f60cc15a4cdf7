"""The voting API's courtesy throttle: a fixed window per IP, counted in the cache."""

import pytest
from django.core.cache import cache
from django.test import RequestFactory

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


def test_a_cache_outage_lets_the_request_through(settings, clock, monkeypatch, caplog):
    settings.VOTING_API_THROTTLE_RATES = {"otp": "1/min"}

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(throttles.cache, "incr", down)
    assert _allowed(throttles.OtpThrottle)[0] is True
    assert "failed open" in caplog.text
