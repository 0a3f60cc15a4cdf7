"""The router against a delivery still in flight, on real PostgreSQL connections.

A message is recorded once, at the end of its batch (``INSERT … ON CONFLICT DO NOTHING``):
a second delivery of the same id that started before the first committed decides it too,
then meets the first one's row, waits for its commit, answers ``duplicate`` with the
final reply, and decides the rest of its batch again without it. These tests hold the
first delivery between recording and committing (its handler's writer waits), so the
second one surely meets it.

Seen to fail with the guard removed: with ``ON CONFLICT … DO NOTHING`` taken out of the
record, the second delivery died with an IntegrityError; without ``drop``, the later
message kept the outcome computed with the dropped one.
"""

import datetime as dt
import threading

import pytest
from django.db import connection

from campaigns.messaging.choices import InboundStatus
from campaigns.messaging.inbound import router
from campaigns.messaging.inbound.router import (
    InboundItem,
    InboundMessage,
    register_inbound_handler,
    route_sms_batch,
)
from campaigns.messaging.models import InboundSms
from tests.race import start_in_thread, wait_for_a_lock_wait

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs concurrent connections and row locks (SQLite serialises writers)",
    ),
]


class FirstOfSender:
    """A handler whose answer depends on the rest of the batch: the first message of each
    sender is ``first``, any later one ``later``. Its writes note what they wrote and, for
    a batch with the message ``hold``, wait until the test lets it commit."""

    def __init__(self) -> None:
        self.written: list[list[str]] = []
        self.recorded = threading.Event()
        self.release = threading.Event()

    def __call__(self, items: list[InboundItem], *, now: dt.datetime) -> "Decision":
        decision = Decision(self, items)
        decision.decide()
        return decision


class Decision:
    def __init__(self, handler: FirstOfSender, items: list[InboundItem]) -> None:
        self.handler, self.items = handler, items

    def decide(self) -> None:
        seen: set[str] = set()
        for item in self.items:
            first = item.phone.hash not in seen
            seen.add(item.phone.hash)
            item.status = InboundStatus.EVALUATION if first else InboundStatus.REFUSED
            item.reply = "first" if first else "later"
            item.code = "" if first else "later"

    def drop(self, items: list[InboundItem]) -> None:
        self.items = [item for item in self.items if item not in items]
        self.decide()

    def write(self) -> None:
        ids = [item.message.id for item in self.items]
        self.handler.written.append(ids)
        if "hold" in ids:
            self.handler.recorded.set()
            assert self.handler.release.wait(30)


@pytest.fixture
def handler(monkeypatch) -> FirstOfSender:
    monkeypatch.setattr(router, "_handlers", {})
    taker = FirstOfSender()
    register_inbound_handler("first", taker, order=10)
    return taker


def sms(id: str) -> InboundMessage:
    return InboundMessage(id=id, sender="13812345678", text="hello", to="10690000")


@pytest.mark.timeout(60)
def test_a_delivery_meeting_one_in_flight_decides_the_rest_again(handler):
    results: dict = {}
    first = start_in_thread(
        lambda: route_sms_batch([sms("hold"), sms("x")], provider="generic"), results, "first"
    )
    assert handler.recorded.wait(30)  # recorded, not committed
    second = start_in_thread(
        lambda: route_sms_batch([sms("x"), sms("y")], provider="generic"), results, "second"
    )
    wait_for_a_lock_wait()  # the second delivery met the first one's message
    handler.release.set()
    first.join(30)
    second.join(30)

    x, y = results["second"]
    # x: the first delivery's, with its final reply; y: decided again without x (alone of
    # its sender now, so "first"), and stored so.
    assert (x.status, x.reply) == ("duplicate", "later")
    assert (y.status, y.reply, y.code) == (InboundStatus.EVALUATION, "first", "")
    assert handler.written == [["hold", "x"], ["y"]]
    stored = dict(InboundSms.objects.values_list("message_id", "reply"))
    assert stored == {"hold": "first", "x": "later", "y": "first"}
    assert InboundSms.objects.get(message_id="y").status == InboundStatus.EVALUATION
