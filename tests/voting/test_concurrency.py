"""Races on real PostgreSQL connections in threads, released together by a barrier.

How each was seen to fail with its guard removed:

* last vote of a daily limit (known voter) — with ``select_for_update()`` removed from
  ``voting.ledger.sql.lock_voter``, 7 of the 10 threads counted the same usage and inserted
  (9 votes against a limit of 3). The first-contact variant still passed: the concurrent
  inserts of a new voter row wait on the unique index, which is why both are tested.
  Since ``lock_voter`` became one ``INSERT … ON CONFLICT DO UPDATE``, turning that into
  ``DO NOTHING`` (no row lock) fails this test and the web-and-SMS race in
  ``tests/voting/inbound/test_races.py`` (6 failures in one run);
* the same right code from 20 threads (``verify_otp`` and ``cast_vote_with_otp``) — with
  ``used_at__isnull=True`` removed from the conditional UPDATE in ``voting.otp.services.try_code``,
  5 threads verified (and 5 votes were cast), stopped only by the 5-try cap.
"""

from functools import partial

import pytest
from django.db import connection

from campaigns.messaging.models import OutboundSms
from staff.models import AuditEvent
from tests.factories.voting import VoteFactory, VoterFactory
from tests.race import race, run_together
from tests.voting.conftest import set_limits
from voting.choices import VoteChannel
from voting.ledger.corrections import invalidate_votes
from voting.ledger.services import cast_vote
from voting.models import OtpChallenge, Vote, WrongCode
from voting.otp.services import cast_vote_with_otp, request_otp, verify_otp

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL row locks and concurrent connections (SQLite serialises writers)",
    ),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("known_voter", [True, False], ids=["known-voter", "first-contact"])
def test_ten_threads_for_the_last_vote_of_the_day_cast_exactly_one(voting, known_voter):
    set_limits(voting.stage, day=3)
    voter = voting.voter
    if known_voter:
        # The voter row exists (an earlier vote): only the row lock serialises the threads.
        # Without it, the first contact is still serialised, by the unique index on insert.
        VoterFactory(phone="13812345678")
    for _ in range(2):
        VoteFactory(stage=voting.stage, contestant=voting.bob, phone="13812345678")

    outcomes = race(
        lambda: cast_vote(
            voting.stage.pk,
            contestant_employee_no="1234",
            voter_hash=voter.hash,
            phone_masked=voter.masked,
            channel=VoteChannel.WEB,
        ),
        count=10,
    )

    assert outcomes == ["limit_reached"] * 9 + ["ok"]
    assert Vote.objects.filter(voter_hash=voter.hash).count() == 3


@pytest.mark.timeout(60)
def test_twenty_threads_with_the_same_right_code_verify_once(db):
    phone = "13812345678"
    request_otp(phone=phone, ip=None)
    code = OutboundSms.objects.get().params["code"]

    outcomes = race(lambda: verify_otp(phone=phone, code=code), count=20)

    assert outcomes == ["bad_code"] * 19 + ["ok"]
    challenge = OtpChallenge.objects.get()
    assert challenge.used_at is not None
    assert challenge.attempts == 1


@pytest.mark.timeout(60)
def test_twenty_wrong_guesses_at_once_get_only_five_tries(db):
    phone = "13812345678"
    request_otp(phone=phone, ip=None)
    code = OutboundSms.objects.get().params["code"]
    guesses = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 21)]
    # From 20 networks, so that no IP or device limit stops a guess before the code's cap.
    targets = [
        partial(verify_otp, phone=phone, code=guess, ip=f"198.51.{n}.7")
        for n, guess in enumerate(guesses)
    ]

    outcomes = sorted(run_together(targets))

    # A blocked code answers like any wrong one: the answers tell nothing of the cap.
    assert outcomes == ["bad_code"] * 20
    assert OtpChallenge.objects.get().attempts == 5
    assert WrongCode.objects.count() == 20


@pytest.mark.timeout(60)
def test_twenty_votes_with_the_same_code_count_once(voting):
    phone = "13812345678"
    request_otp(phone=phone, ip=None)
    code = OutboundSms.objects.get().params["code"]

    outcomes = race(
        lambda: cast_vote_with_otp(
            voting.stage.pk,
            phone=phone,
            code=code,
            contestant_employee_no="1234",
            channel=VoteChannel.WEB,
        ),
        count=20,
    )

    assert outcomes == ["bad_code"] * 19 + ["ok"]
    assert Vote.objects.count() == 1


@pytest.mark.timeout(60)
def test_concurrent_invalidations_change_each_vote_once(voting):
    votes = [VoteFactory(stage=voting.stage, contestant=voting.alice) for _ in range(5)]
    ids = [vote.pk for vote in votes]

    changed = run_together([partial(invalidate_votes, ids, actor=None, reason="Same /24")] * 6)

    assert sorted(changed, key=len) == [[]] * 5 + [sorted(ids)]
    assert AuditEvent.objects.count() == 1
