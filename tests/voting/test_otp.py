"""One-time codes: issue, verify, expiry, brute force, sending limits, voter tokens."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.db.models import F

from campaigns.messaging.choices import SmsStatus
from campaigns.messaging.models import OutboundSms
from staff.exceptions import InvalidPhoneError
from staff.phones import parse_phone
from tests.factories.voting import RateEventFactory
from tests.voting.conftest import set_limits
from voting.choices import OTP_TTL_SECONDS, RateOutcome, SmsTemplate, VoteChannel
from voting.exceptions import (
    BadCodeError,
    CodeExpiredError,
    LimitReachedError,
    VoterSessionError,
)
from voting.ledger.services import cast_vote
from voting.models import OtpChallenge, RateEvent, Vote
from voting.otp.services import (
    VoterSession,
    cast_vote_with_otp,
    issue_voter_token,
    read_voter_token,
    request_otp,
    verify_otp,
)

pytestmark = pytest.mark.django_db

PHONE = "13812345678"


def sent_code(phone: str = PHONE) -> str:
    """The code in the newest outbound SMS to ``phone`` (what the voter reads)."""
    message = OutboundSms.objects.filter(phone_hash=parse_phone(phone).hash).latest("pk")
    return message.params["code"]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_request_otp_stores_only_a_hash_and_queues_the_sms(frozen_now):
    request_otp(phone="+86 138 1234 5678", ip="10.0.0.1", language="en")

    challenge = OtpChallenge.objects.get()
    message = OutboundSms.objects.get()
    code = message.params["code"]
    assert len(code) == 6
    assert code.isdigit()
    assert code not in challenge.code_hash
    assert challenge.phone_hash == parse_phone(PHONE).hash
    assert challenge.expires_at == frozen_now + dt.timedelta(seconds=OTP_TTL_SECONDS)
    assert (challenge.attempts, challenge.used_at) == (0, None)
    assert (message.to_e164, message.phone_masked, message.template, message.language) == (
        "+8613812345678",
        "138****5678",
        SmsTemplate.OTP,
        "en",
    )
    assert message.status == SmsStatus.PENDING
    assert list(RateEvent.objects.values_list("outcome", "limit")) == [(RateOutcome.SENT, "")]


@pytest.mark.parametrize("phone", ["abc", "+86", "138123456789", "1381234567", "+1 202 555 0123"])
def test_request_otp_refuses_malformed_numbers_and_writes_nothing(phone):
    with pytest.raises(InvalidPhoneError) as excinfo:
        request_otp(phone=phone, ip="10.0.0.1")

    assert excinfo.value.code == "bad_phone"
    assert (
        OtpChallenge.objects.count(),
        OutboundSms.objects.count(),
        RateEvent.objects.count(),
    ) == (
        0,
        0,
        0,
    )


def test_verify_otp_returns_the_voter_and_consumes_the_code(frozen_now):
    request_otp(phone=PHONE, ip=None)

    session = verify_otp(phone="0086 138 1234 5678", code=sent_code())

    assert session == VoterSession(voter_hash=parse_phone(PHONE).hash, phone_masked="138****5678")
    assert OtpChallenge.objects.get().used_at == frozen_now
    with pytest.raises(BadCodeError):
        verify_otp(phone=PHONE, code=sent_code())


def test_code_of_phone_a_is_refused_for_phone_b(frozen_now):
    request_otp(phone=PHONE, ip=None)
    request_otp(phone="13900000000", ip=None)

    with pytest.raises(BadCodeError):
        verify_otp(phone="13900000000", code=sent_code(PHONE))


def test_verify_without_any_code_is_bad_code(frozen_now):
    with pytest.raises(BadCodeError):
        verify_otp(phone=PHONE, code="123456")


def test_five_wrong_tries_then_the_code_is_blocked_even_for_the_right_code(frozen_now):
    request_otp(phone=PHONE, ip=None)
    code = sent_code()
    outcomes = []
    for _ in range(5):
        with pytest.raises(BadCodeError) as excinfo:
            verify_otp(phone=PHONE, code=wrong(code))
        outcomes.append(excinfo.value.code)

    # Blocked: the right code is refused like a wrong one (no oracle on the blocked code).
    with pytest.raises(BadCodeError) as excinfo:
        verify_otp(phone=PHONE, code=code)

    assert outcomes == ["bad_code"] * 5
    assert excinfo.value.code == "bad_code"
    assert OtpChallenge.objects.get().attempts == 5


def test_a_new_code_after_locking_works_and_retires_the_old_one(frozen_now):
    request_otp(phone=PHONE, ip=None)
    old = sent_code()
    OtpChallenge.objects.update(attempts=5)
    RateEvent.objects.update(created_at=F("created_at") - dt.timedelta(seconds=61))

    request_otp(phone=PHONE, ip=None)
    new = sent_code()

    assert verify_otp(phone=PHONE, code=new).phone_masked == "138****5678"
    if old != new:
        with pytest.raises(BadCodeError):
            verify_otp(phone=PHONE, code=old)


def test_expired_code_is_refused(frozen_now):
    request_otp(phone=PHONE, ip=None)
    OtpChallenge.objects.update(expires_at=frozen_now)

    with pytest.raises(CodeExpiredError) as excinfo:
        verify_otp(phone=PHONE, code=sent_code())

    assert excinfo.value.code == "code_expired"
    assert OtpChallenge.objects.get().used_at is None


def test_code_expiry_follows_the_database_clock(frozen_now):
    request_otp(phone=PHONE, ip=None)
    code = sent_code()

    with time_machine.travel(frozen_now + dt.timedelta(seconds=OTP_TTL_SECONDS + 1), tick=False):
        if connection.vendor == "sqlite":
            # The database is in-process: its clock moved with the app's.
            with pytest.raises(CodeExpiredError):
                verify_otp(phone=PHONE, code=code)
        else:
            # PostgreSQL's clock did not move: an app clock running fast changes nothing.
            assert verify_otp(phone=PHONE, code=code).voter_hash == parse_phone(PHONE).hash


def test_resend_within_60_seconds_keeps_the_live_code(frozen_now):
    request_otp(phone=PHONE, ip=None)
    code = sent_code()

    request_otp(phone=PHONE, ip=None)

    assert OtpChallenge.objects.count() == OutboundSms.objects.count() == 1
    assert list(RateEvent.objects.order_by("pk").values_list("outcome", "limit")) == [
        (RateOutcome.SENT, ""),
        (RateOutcome.LIMITED, "phone_resend"),
    ]
    assert verify_otp(phone=PHONE, code=code).phone_masked == "138****5678"


def test_resend_after_60_seconds_sends_a_new_code(frozen_now):
    RateEventFactory(phone=PHONE, created_at=frozen_now - dt.timedelta(seconds=60))

    request_otp(phone=PHONE, ip=None)

    assert OutboundSms.objects.count() == 1


def test_hourly_cap_per_phone_keeps_the_live_code(frozen_now):
    for minutes in (50, 40, 30, 20):
        RateEventFactory(phone=PHONE, created_at=frozen_now - dt.timedelta(minutes=minutes))
    request_otp(phone=PHONE, ip=None)
    code = sent_code()
    RateEvent.objects.filter(outcome=RateOutcome.SENT).update(
        created_at=F("created_at") - dt.timedelta(minutes=5)
    )

    request_otp(phone=PHONE, ip=None)

    assert OutboundSms.objects.count() == 1
    assert RateEvent.objects.latest("pk").limit == "phone_hour"
    assert verify_otp(phone=PHONE, code=code).phone_masked == "138****5678"


def test_codes_older_than_an_hour_do_not_count(frozen_now):
    for minutes in (61, 70, 80, 90, 100):
        RateEventFactory(phone=PHONE, created_at=frozen_now - dt.timedelta(minutes=minutes))

    request_otp(phone=PHONE, ip=None)

    assert OutboundSms.objects.count() == 1


def test_per_ip_cap_refuses_the_21st_code_of_the_hour(frozen_now):
    phones = [f"138{n:04d}5678" for n in range(22)]  # 22 numbers, each in its own block
    for phone in phones[:21]:
        request_otp(phone=phone, ip="203.0.113.7")

    request_otp(phone=phones[21], ip="203.0.113.8")

    assert OutboundSms.objects.count() == 21
    assert list(
        RateEvent.objects.filter(outcome=RateOutcome.LIMITED).values_list("limit", flat=True)
    ) == ["ip_hour"]


def test_sequential_numbers_trip_the_block_velocity_limit(frozen_now):
    # Different IPs each time: only the number block links them.
    for n in range(12):
        request_otp(phone=f"138000000{n:02d}", ip=f"198.51.100.{n}")

    assert OutboundSms.objects.count() == 10
    assert list(
        RateEvent.objects.filter(outcome=RateOutcome.LIMITED).values_list("limit", flat=True)
    ) == ["number_block", "number_block"]


def test_the_block_limit_counts_other_numbers_not_the_same_person_again(frozen_now):
    for n in range(10):
        RateEventFactory(phone=f"138000000{n:02d}", created_at=frozen_now - dt.timedelta(minutes=2))

    request_otp(phone="13800000000", ip=None)  # 9 other numbers: under the limit
    request_otp(phone="13800000010", ip=None)  # 10 other numbers: limited

    assert list(
        RateEvent.objects.filter(created_at=frozen_now)
        .order_by("pk")
        .values_list("limit", flat=True)
    ) == [
        "",
        "number_block",
    ]
    assert OutboundSms.objects.count() == 1


# voter tokens ---------------------------------------------------------------------------


def test_voter_token_round_trip():
    session = VoterSession(voter_hash="a" * 64, phone_masked="138****5678")

    assert read_voter_token(issue_voter_token(session)) == session


@pytest.mark.parametrize("token", ["", "garbage", "a:b:c"])
def test_tampered_voter_token_is_refused(token):
    with pytest.raises(VoterSessionError) as excinfo:
        read_voter_token(token)

    assert excinfo.value.code == "bad_token"


def test_voter_token_expires_after_30_minutes():
    session = VoterSession(voter_hash="a" * 64, phone_masked="138****5678")
    with time_machine.travel(dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        token = issue_voter_token(session)

    with (
        time_machine.travel(dt.datetime(2026, 5, 1, 12, 30, 1, tzinfo=dt.UTC), tick=False),
        pytest.raises(VoterSessionError) as excinfo,
    ):
        read_voter_token(token)

    assert excinfo.value.code == "session_expired"


# cast_vote_with_otp ------------------------------------------------------------------------


def cast_with(setup, code, employee_no="1234", **kwargs):
    return cast_vote_with_otp(
        setup.stage,
        phone=PHONE,
        code=code,
        contestant_employee_no=employee_no,
        channel=VoteChannel.WEB,
        **kwargs,
    )


def test_vote_with_code_consumes_the_code(voting):
    request_otp(phone=PHONE, ip=None)

    cast = cast_with(voting, sent_code())

    assert Vote.objects.get().pk == cast.result.vote_id
    assert cast.session.voter_hash == voting.voter.hash
    with pytest.raises(BadCodeError):
        cast_with(voting, sent_code(), "5678")


def test_refused_vote_leaves_the_code_usable(voting):
    set_limits(voting.stage, candidate=1)
    request_otp(phone=PHONE, ip=None)
    cast_vote(
        voting.stage,
        contestant_employee_no="1234",
        voter_hash=voting.voter.hash,
        phone_masked=voting.voter.masked,
        channel=VoteChannel.WEB,
    )

    with pytest.raises(LimitReachedError):
        cast_with(voting, sent_code(), "1234")
    cast = cast_with(voting, sent_code(), "5678")

    assert Vote.objects.get(pk=cast.result.vote_id).contestant == voting.bob
    assert OtpChallenge.objects.get().used_at is not None


def test_wrong_code_on_the_vote_path_counts_a_try(voting):
    request_otp(phone=PHONE, ip=None)

    with pytest.raises(BadCodeError):
        cast_with(voting, wrong(sent_code()))

    assert OtpChallenge.objects.get().attempts == 1
    assert Vote.objects.count() == 0


def test_double_submit_with_the_same_key_and_code_replays(voting):
    request_otp(phone=PHONE, ip=None)
    code = sent_code()

    first = cast_with(voting, code, idempotency_key="click-1")
    second = cast_with(voting, code, idempotency_key="click-1")

    assert Vote.objects.count() == 1
    assert (second.result.vote_id, second.result.receipt_code, second.result.replayed) == (
        first.result.vote_id,
        first.result.receipt_code,
        True,
    )
