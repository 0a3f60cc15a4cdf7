"""The voting API's courtesy throttles: per IP, counted in the cache, failing open.

The real limits live in the database (per voter, per phone, per number block); these only
slow a single address down, so a fixed window is enough: one counter per (scope, IP,
window), ``incr`` on every request. DRF's ``SimpleRateThrottle`` keeps a list of every
request's time in its window and reads, trims, pickles and writes that list back on each
request, which on the vote path cost more than the counter's one increment
(docs/benchmarks.md, "Web vote ingest"). At a window's edge a client may pass up to twice
the rate within one period; a courtesy limit can afford that.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

logger = logging.getLogger(__name__)
# A rate's unit by its first letter, as DRF reads "120/min" or "5/hour".
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class VotingThrottle(BaseThrottle):
    """A per-IP fixed-window throttle whose rate (``"120/min"``) is read from
    ``VOTING_API_THROTTLE_RATES[scope]``; no rate means no throttle.

    If the cache (Redis) is down it lets the request through and logs it (fail open: the
    database limits still hold).
    """

    scope = ""

    def __init__(self) -> None:
        self._wait = 0.0

    def allow_request(self, request: Request, view: APIView) -> bool:
        rate = settings.VOTING_API_THROTTLE_RATES.get(self.scope)
        if not rate:
            return True
        number, unit = rate.split("/")
        limit, period = int(number), _PERIODS[unit[0]]
        now = time.time()
        window = int(now // period)
        key = f"throttle_voting_{self.scope}_{self.get_ident(request)}_{window}"
        try:
            count = self._count(key, timeout=period + 1)
        except Exception as exc:  # noqa: BLE001 -- a cache outage must not refuse voters
            logger.warning("security: voting throttle failed open (%s)", type(exc).__name__)
            return True
        self._wait = (window + 1) * period - now
        return count <= limit

    @staticmethod
    def _count(key: str, *, timeout: int) -> int:
        """This request's number in the window: ``incr`` counts, ``add`` starts a window."""
        try:
            return cache.incr(key)
        except ValueError:  # the window's first request (or its counter just expired)
            if cache.add(key, 1, timeout):
                return 1
            return cache.incr(key)  # another request started it in between

    def wait(self) -> float:
        return self._wait


class OtpThrottle(VotingThrottle):
    scope = "otp"


class VoteThrottle(VotingThrottle):
    scope = "votes"


class ReceiptThrottle(VotingThrottle):
    scope = "receipts"
