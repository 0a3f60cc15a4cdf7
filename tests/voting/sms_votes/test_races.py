"""Races of the SMS path on real PostgreSQL connections, released together by a barrier.

How each was seen to fail with its guard removed:

* the same message id in two concurrent deliveries — with ``ON CONFLICT … DO NOTHING``
  removed from the claim, the second delivery died with an IntegrityError (a 500 for
  the gateway, which would retry) instead of answering ``duplicate``;
* the last vote of a limit by web and SMS at once (a known voter) — with the
  ``select_for_update()`` of ``voting.sms_votes.handler._lock_voters`` removed, 6 of 10
  rounds counted both votes against a daily limit of 1 (2 of 10 when shown again after
  the ledger's indexes changed, with the web path's lock also turned into ``DO NOTHING``);
  since the batch decides before it locks and reads its voters' usage again under the
  lock (2026-12-03), the lock is an ``INSERT … ON CONFLICT DO UPDATE``: turned into
  ``DO NOTHING`` on both paths, 1 of 10 rounds here and the ten-thread web test failed;
  with the usage read again under the lock ignored (``_moved`` always empty), 2 of 10
  rounds here and the re-delivery test below counted two votes against a limit of 1.
"""

import threading
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from campaigns.messaging.choices import InboundStatus
from campaigns.messaging.inbound import router
from campaigns.messaging.inbound.router import (
    InboundMessage,
    register_inbound_handler,
    route_sms_batch,
)
from campaigns.messaging.models import InboundSms, OutboundSms
from tests.factories.voting import VoterFactory
from tests.race import run_together, start_in_thread, wait_for_a_lock_wait
from tests.voting.conftest import set_limits
from voting.choices import SmsTemplate, VoteChannel
from voting.ledger.services import cast_vote
from voting.models import Vote
from voting.sms_templates import votes_left_text

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL row locks and concurrent connections (SQLite serialises writers)",
    ),
]


def batch(*ids: str, text: str = "TP 1234") -> Callable[[], object]:
    messages = [InboundMessage(id=i, sender="13812345678", text=text) for i in ids]
    return lambda: route_sms_batch(messages, provider="generic")


@pytest.mark.timeout(60)
def test_two_concurrent_deliveries_of_one_id_count_once(voting):
    outcomes = run_together([batch("m1"), batch("m1")])

    statuses = sorted(result[0].status for result in outcomes)
    assert statuses == ["counted", "duplicate"]
    assert outcomes[0][0].reply == outcomes[1][0].reply
    assert Vote.objects.count() == 1
    assert InboundSms.objects.get().status == "counted"


@pytest.mark.timeout(60)
def test_overlapping_batches_in_opposite_orders_do_not_deadlock(voting):
    ids = [f"m{n}" for n in range(30)]

    outcomes = run_together([batch(*ids), batch(*reversed(ids))])

    counted = sum(r.status == "counted" for result in outcomes for r in result)
    assert counted == 30
    assert Vote.objects.count() == 30


@pytest.mark.timeout(60)
@pytest.mark.parametrize("rounds", range(10))
def test_the_last_vote_by_web_and_by_sms_at_once_counts_once(voting, rounds):
    set_limits(voting.stage, day=1)
    voter = voting.voter
    # A known voter: a first contact would be serialised by the voter row's unique index
    # alone, and the test would not see the row lock go missing.
    VoterFactory(phone="13812345678")

    def web() -> str:
        cast_vote(
            voting.stage.pk,
            contestant_employee_no="5678",
            voter_hash=voter.hash,
            phone_masked=voter.masked,
            channel=VoteChannel.WEB,
        )
        return "counted"

    def sms() -> str:
        [result] = batch(f"r{rounds}")()
        return result.code or result.status

    outcomes = run_together([web, sms])

    assert sorted(outcomes) == ["counted", "limit_reached"]
    assert Vote.objects.filter(voter_hash=voter.hash).count() == 1


class Hold:
    """A handler taking the text ``hold``, whose write waits until the test lets its batch
    commit: the batch's votes are then written and its messages recorded, not committed."""

    def __init__(self) -> None:
        self.recorded, self.release = threading.Event(), threading.Event()

    def __call__(self, items, *, now):
        mine = [item for item in items if item.text == "hold"]
        for item in mine:
            item.status, item.reply = InboundStatus.EVALUATION, "held"
        return self if mine else None

    def drop(self, items) -> None:
        pass

    def write(self) -> None:
        self.recorded.set()
        assert self.release.wait(30)


@pytest.mark.timeout(60)
def test_a_redelivery_meeting_its_original_in_flight_gives_the_limit_to_neither_twice(
    voting, monkeypatch
):
    # Daily limit 1. The first delivery counts "a" and is held before its commit; the
    # second carries "a" again and a new "b": it decides before "a" is committed, so it
    # first counts "a" and refuses "b"; recording meets "a" in flight, waits, drops it
    # (now "b" would count) — and under the voter's lock it sees the first delivery's vote
    # and refuses "b" after all.
    set_limits(voting.stage, day=1)
    monkeypatch.setattr(router, "_handlers", dict(router._handlers))
    hold = Hold()
    register_inbound_handler("hold", hold, order=900)
    results: dict = {}

    def deliver(key: str, *messages: InboundMessage) -> threading.Thread:
        return start_in_thread(
            lambda: route_sms_batch(list(messages), provider="generic"), results, key
        )

    def vote(id: str) -> InboundMessage:
        return InboundMessage(id=id, sender="13812345678", text="TP 1234")

    first = deliver("first", vote("a"), InboundMessage(id="h", sender="13900000000", text="hold"))
    assert hold.recorded.wait(30)
    second = deliver("second", vote("a"), vote("b"))
    wait_for_a_lock_wait()  # the second delivery met the first one's message "a"
    hold.release.set()
    first.join(30)
    second.join(30)

    a, b = results["second"]
    assert (a.status, a.reply) == ("duplicate", results["first"][0].reply)
    assert results["first"][0].status == "counted"
    assert (b.status, b.code) == ("refused", "limit_reached")
    assert Vote.objects.filter(voter_hash=voting.voter.hash).count() == 1
    stored = InboundSms.objects.get(message_id="b")
    assert (stored.status, stored.code) == ("refused", "limit_reached")


# The served-customer lookup's statement (``evaluations.measurement.selectors.served_pairs``).
SERVED_LOOKUP = 'SELECT "evaluations_servicetransaction"."staff_member_id"'


class PauseWhileDeciding:
    """A handler that, offered the text ``pause``, waits while deciding until the test lets
    it go: the vote handler before it has decided the batch's votes and locked nothing."""

    def __init__(self) -> None:
        self.deciding, self.release = threading.Event(), threading.Event()

    def __call__(self, items, *, now):
        if any(item.text == "pause" for item in items):
            self.deciding.set()
            assert self.release.wait(30)
        # Nothing decided, nothing to write: the handler's answer is None.


@pytest.mark.timeout(60)
def test_a_vote_decided_again_under_the_lock_keeps_its_id_and_receipt_code(voting, monkeypatch):
    # Daily limit 3. The batch decides its vote on a ledger without the voter's votes (2
    # left after it); then a web vote of the voter commits; under the voter's lock the
    # batch sees it and decides again: still counted, 1 left. The vote keeps the id and
    # receipt code recorded with the message, so nothing is drawn or asked twice.
    set_limits(voting.stage, day=3)
    monkeypatch.setattr(router, "_handlers", dict(router._handlers))
    pause = PauseWhileDeciding()
    register_inbound_handler("pause", pause, order=900)
    results: dict = {}

    def deliver() -> tuple:
        messages = [
            InboundMessage(id="v", sender="13812345678", text="TP 1234"),
            InboundMessage(id="p", sender="13900000000", text="pause"),
        ]
        with CaptureQueriesContext(connection) as captured:
            outcome = route_sms_batch(messages, provider="generic")
        return outcome, [query["sql"] for query in captured.captured_queries]

    thread = start_in_thread(deliver, results, "batch")
    assert pause.deciding.wait(30)
    cast_vote(
        voting.stage.pk,
        contestant_employee_no="5678",
        voter_hash=voting.voter.hash,
        phone_masked=voting.voter.masked,
        channel=VoteChannel.WEB,
    )
    pause.release.set()
    thread.join(30)

    (result, _paused), statements = results["batch"]
    assert result.status == "counted"
    vote = Vote.objects.get(channel=VoteChannel.SMS)
    stored = InboundSms.objects.get(message_id="v")
    assert (stored.outcome_ref, stored.outcome_label) == (vote.pk, vote.receipt_code)
    assert stored.reply == result.reply
    assert vote.receipt_code in result.reply
    with translation.override(settings.LANGUAGE_CODE):
        assert votes_left_text(1) in result.reply  # decided again: the web vote is counted
    receipt = OutboundSms.objects.get(template=SmsTemplate.VOTE_RECEIPT)
    assert receipt.params["receipt"] == vote.receipt_code
    assert sum("nextval(" in sql for sql in statements) == 1
    served_lookups = [sql for sql in statements if sql.startswith(SERVED_LOOKUP)]
    assert len(served_lookups) == 1
