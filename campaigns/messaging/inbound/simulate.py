"""A gateway simulator: realistic inbound SMS traffic, signed and posted to the generic
webhook of a running server (``manage.py sms_simulate``, ``bench/sms_ingest.py``).

The mix (per message, drawn from a seeded random generator): about 20% re-deliveries of
an id sent earlier (a provider's retries), 10% junk (help texts, emoji, unknown numbers,
injection-looking text), 5% from a small group of heavy voters who soon pass their
limits, and the rest valid votes (``TP``/``投票`` forms, full-width digits, stray
punctuation) for the stage's contestants from a large pool of voters. Every phone number
is a valid mainland mobile number (``+86 138…``), and nothing here touches the database.
"""

import http.client
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from campaigns.messaging.inbound.gateways import sign_generic

JUNK = [
    "hello",
    "TP",
    "👍",
    "TP 1234 5678",
    "'; DROP TABLE voting_vote;--",
    "<script>alert(1)</script>",
    "TP 99999999",
    "TP ١٢٣٤",
    "x" * 300,
]
# The full-width letters are on purpose: customers type them.
VOTE_FORMS = ["TP {}", "tp{}", "投票 {}", "TP {}!", "ＴＰ {}", "TP:{}", "TP {} 👍"]  # noqa: RUF001 -- full-width on purpose


@dataclass
class TrafficMix:
    """Message generator; ``sent_ids`` remembers ids so that later batches can repeat them."""

    employee_nos: list[str]
    voters: int = 100_000
    heavy_voters: int = 50
    duplicate_share: float = 0.20
    junk_share: float = 0.10
    heavy_share: float = 0.05
    seed: int = 1
    prefix: str = "sim"
    sent_ids: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)  # noqa: S311 -- test traffic, not a secret
        self.counter = 0

    def _phone(self, n: int) -> str:
        return f"+86138{n:08d}"

    def message(self) -> dict[str, Any]:
        draw = self.random.random()
        if draw < self.duplicate_share and self.sent_ids:
            # Repeat an id from well before the newest ones (a provider retry).
            window = self.sent_ids[: max(1, len(self.sent_ids) - 2000)]
            return dict(self.random.choice(window))
        self.counter += 1
        message_id = f"{self.prefix}-{self.seed}-{self.counter}"
        draw = self.random.random()
        if draw < self.junk_share:
            sender, text = self._phone(self.random.randrange(self.voters)), self.random.choice(JUNK)
        else:
            number = self.random.choice(self.employee_nos)
            text = self.random.choice(VOTE_FORMS).format(number)
            if draw < self.junk_share + self.heavy_share:
                sender = self._phone(90_000_000 + self.random.randrange(self.heavy_voters))
            else:
                sender = self._phone(self.random.randrange(self.voters))
        message = {
            "id": message_id,
            "from": sender,
            "to": "10690000",
            "text": text,
            "received_at": int(time.time()),
        }
        self.sent_ids.append(message)
        return message

    def batches(self, total: int, size: int) -> Iterator[list[dict[str, Any]]]:
        sent = 0
        while sent < total:
            count = min(size, total - sent)
            yield [self.message() for _ in range(count)]
            sent += count


@dataclass(frozen=True)
class BatchOutcome:
    status: int
    latency: float
    results: list[dict[str, Any]]


class WebhookClient:
    """One keep-alive connection to the generic webhook; signs every body it posts."""

    def __init__(self, url: str, secret: str, *, timeout: float = 60.0) -> None:
        parts = urlsplit(url)
        self.path = parts.path or "/"
        self.secure = parts.scheme == "https"
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port
        self.secret = secret
        self.timeout = timeout
        self.connection = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.secure else http.client.HTTPConnection
        return kind(self.host, self.port, timeout=self.timeout)

    def post(self, messages: list[dict[str, Any]]) -> BatchOutcome:
        body = json.dumps({"messages": messages}, ensure_ascii=False).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Timestamp": stamp,
            "X-Signature": sign_generic(self.secret, stamp, body),
        }
        began = time.perf_counter()
        try:
            self.connection.request("POST", self.path, body=body, headers=headers)
            response = self.connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = self._connect()
            return BatchOutcome(status=0, latency=time.perf_counter() - began, results=[])
        latency = time.perf_counter() - began
        results = json.loads(payload).get("results", []) if response.status == 200 else []
        return BatchOutcome(status=response.status, latency=latency, results=results)

    def close(self) -> None:
        self.connection.close()


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
