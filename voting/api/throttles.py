"""The voting API's courtesy throttles: per IP, counted in the process and in the cache,
failing open.

The real limits live in the database (per voter, per phone, per number block); these only
slow a single address down, so a fixed window is enough: one counter per (scope, IP,
window). At a window's edge a client may pass up to twice the rate within one period; a
courtesy limit can afford that.

Each web process counts its own requests and adds them to the shared counters in the cache
in batches: every ``FLUSH_EVERY`` requests or ``FLUSH_AFTER`` seconds, all of the process's
pending counts in one round trip. A Redis round trip on every vote cost about a tenth of
the web vote's throughput (docs/benchmarks.md, "the courtesy throttle's round trip"). Near
a limit — when the counter the process last read, plus what it has not sent yet, plus one
more batch would pass it — the process sends on every request and decides on the shared
count, as a per-request counter would. So a rate of ``FLUSH_EVERY`` or less is exact, so
is any rate in a single process, and with several a larger rate can be passed by fewer than
``FLUSH_EVERY`` requests per web process (those each let through on a count it had not
sent yet; once it sends, it sees the limit passed and decides on the shared count).
"""

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

logger = logging.getLogger(__name__)
# A rate's unit by its first letter, as DRF reads "120/min" or "5/hour".
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
FLUSH_EVERY = 10  # requests counted in the process before they are sent to the cache
FLUSH_AFTER = 1.0  # seconds: pending counts older than this go with the next request


@dataclass
class _Window:
    ends_at: float
    shared: int = 0  # the cache's count when this process last sent or read it
    pending: int = 0  # counted here since then


class _ProcessCounts:
    """One web process's counts per (scope, IP, window) key, sent to the cache in batches.

    gunicorn's gthread workers run requests on several threads: the lock guards the table;
    the cache round trip runs outside it, on the counts taken out under it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._pending = 0
        self._sent_at = time.monotonic()

    def count(self, key: str, *, limit: int, ends_at: float) -> bool:
        """Counts one request of ``key`` and answers whether it is within ``limit``.

        Raises what the cache raises, with this request's count already dropped.
        """
        now = time.monotonic()
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = _Window(ends_at=ends_at)
            window.pending += 1
            self._pending += 1
            near = window.shared + window.pending + FLUSH_EVERY > limit
            if not (near or self._pending >= FLUSH_EVERY or now - self._sent_at >= FLUSH_AFTER):
                return True
            deltas, timeout = self._take_pending(now)
        totals = self._send(deltas, timeout=timeout)
        with self._lock:
            for name, total in totals.items():
                if (window := self._windows.get(name)) is not None:
                    window.shared = max(window.shared, total)
            return totals[key] <= limit

    def forget(self) -> None:
        """Drops every count (tests clear the cache and this with it)."""
        with self._lock:
            self._windows.clear()
            self._pending = 0
            self._sent_at = time.monotonic()

    def _take_pending(self, now: float) -> tuple[dict[str, int], int]:
        """The pending counts, taken out of the table (windows that have ended go too),
        and the seconds the counters must outlive: until the last of their windows ends."""
        wall = time.time()
        deltas = {}
        last_end = wall
        for name, window in list(self._windows.items()):
            if window.pending:
                deltas[name] = window.pending
                window.pending = 0
                last_end = max(last_end, window.ends_at)
            if window.ends_at <= wall:
                del self._windows[name]
        self._pending = 0
        self._sent_at = now
        return deltas, int(last_end - wall) + 1

    @staticmethod
    def _send(deltas: dict[str, int], *, timeout: int) -> dict[str, int]:
        """Adds the counts to the cache's counters; answers each counter's new value.

        The Redis cache does all of them in one round trip (``config.cache``); another
        cache (the file cache of a newcomer's run) one key at a time.
        """
        add_counts = getattr(cache, "add_counts", None)
        if add_counts is not None:
            return add_counts(deltas, timeout)
        totals = {}
        for name, delta in deltas.items():
            try:
                totals[name] = cache.incr(name, delta)
            except ValueError:  # the window's first count (or its counter just expired)
                if cache.add(name, delta, timeout):
                    totals[name] = delta
                else:  # another process started it in between
                    totals[name] = cache.incr(name, delta)
        return totals


_counts = _ProcessCounts()


def forget_counts() -> None:
    """Drops this process's pending and known counts."""
    _counts.forget()


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
        ends_at = (window + 1) * period
        self._wait = ends_at - now
        key = f"throttle_voting_{self.scope}_{self.get_ident(request)}_{window}"
        try:
            return _counts.count(key, limit=limit, ends_at=ends_at)
        except Exception as exc:  # noqa: BLE001 -- a cache outage must not refuse voters
            logger.warning("security: voting throttle failed open (%s)", type(exc).__name__)
            return True

    def wait(self) -> float:
        return self._wait


class OtpThrottle(VotingThrottle):
    scope = "otp"


class VoteThrottle(VotingThrottle):
    scope = "votes"


class ReceiptThrottle(VotingThrottle):
    scope = "receipts"
