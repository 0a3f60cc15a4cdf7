"""Factories for the voting app. Times default to ``campaigns.clock.db_now()``, the clock the
services decide by. ``VoteFactory`` writes a ledger row directly (a fixture of
history); casting a vote through the rules is ``voting.services.cast_vote``'s job."""

import datetime as dt

import factory

from campaigns.clock import db_now, local_day
from staff.phones import parse_phone
from tests.factories.campaigns import ContestantFactory, StageFactory
from voting.choices import (
    OTP_TTL_SECONDS,
    OtpPurpose,
    RateOutcome,
    VoteChannel,
    VoteStatus,
)
from voting.fingerprints import hash_number_block
from voting.models import OtpChallenge, RateEvent, Vote, Voter
from voting.services import new_receipt_code


class VoterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Voter
        exclude = ("phone_obj",)

    class Params:
        phone = factory.Sequence(lambda n: f"137{n:08d}")

    phone_obj = factory.LazyAttribute(lambda o: parse_phone(o.phone))
    voter_hash = factory.LazyAttribute(lambda o: o.phone_obj.hash)


class VoteFactory(factory.django.DjangoModelFactory):
    """A ledger row. ``phone`` (transient) sets the voter's hash and masked number."""

    class Meta:
        model = Vote
        exclude = ("phone_obj",)

    class Params:
        phone = factory.Sequence(lambda n: f"136{n:08d}")
        invalidated = factory.Trait(
            status=VoteStatus.INVALIDATED,
            invalidated_reason="Same IP block",
            invalidated_at=factory.LazyFunction(db_now),
        )

    stage = factory.SubFactory(StageFactory, open=True)
    contestant = factory.SubFactory(ContestantFactory, stage=factory.SelfAttribute("..stage"))
    phone_obj = factory.LazyAttribute(lambda o: parse_phone(o.phone))
    voter_hash = factory.LazyAttribute(lambda o: o.phone_obj.hash)
    phone_masked = factory.LazyAttribute(lambda o: o.phone_obj.masked)
    channel = VoteChannel.WEB
    cast_at = factory.LazyFunction(db_now)
    local_day = factory.LazyAttribute(lambda o: local_day(o.cast_at))
    receipt_code = factory.LazyFunction(new_receipt_code)


class OtpChallengeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OtpChallenge

    phone_hash = factory.LazyFunction(lambda: parse_phone("13500000000").hash)
    purpose = OtpPurpose.VOTE
    code_hash = "0" * 64
    created_at = factory.LazyFunction(db_now)
    expires_at = factory.LazyAttribute(
        lambda o: o.created_at + dt.timedelta(seconds=OTP_TTL_SECONDS)
    )


class RateEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RateEvent
        exclude = ("phone_obj",)

    class Params:
        phone = "13500000000"

    phone_obj = factory.LazyAttribute(lambda o: parse_phone(o.phone))
    phone_hash = factory.LazyAttribute(lambda o: o.phone_obj.hash)
    block_hash = factory.LazyAttribute(lambda o: hash_number_block(o.phone_obj.e164))
    outcome = RateOutcome.SENT
    created_at = factory.LazyFunction(db_now)
