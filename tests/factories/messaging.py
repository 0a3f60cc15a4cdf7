"""Factories of SMS messaging (``campaigns.messaging``). Times default to the database
clock (``campaigns.clock.db_now``), the clock the sender decides by. The default template
is the vote receipt, the message the outbox carries most."""

import factory

from campaigns.clock import db_now
from campaigns.messaging.choices import InboundStatus
from campaigns.messaging.models import InboundSms, OutboundSms
from staff.phones import parse_phone


class OutboundSmsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboundSms
        exclude = ("phone_obj",)

    class Params:
        phone = "13500000000"

    phone_obj = factory.LazyAttribute(lambda o: parse_phone(o.phone))
    to_e164 = factory.LazyAttribute(lambda o: o.phone_obj.e164)
    phone_hash = factory.LazyAttribute(lambda o: o.phone_obj.hash)
    phone_masked = factory.LazyAttribute(lambda o: o.phone_obj.masked)
    template = "vote_receipt"
    params = factory.LazyFunction(
        lambda: {
            "name": "张三",
            "employee_no": "1234",
            "receipt": "ABCDEFGHJK",
            "remaining_today": 2,
        }
    )
    language = "zh-hans"
    # Explicit times from the database clock (``campaigns.clock``): on SQLite time-machine moves
    # the process clock but not SQLite's own, and on PostgreSQL a test's now() is fixed.
    created_at = factory.LazyFunction(db_now)
    next_attempt_at = factory.LazyAttribute(lambda o: o.created_at)


class InboundSmsFactory(factory.django.DjangoModelFactory):
    """A decided inbound message (a help reply unless told otherwise)."""

    class Meta:
        model = InboundSms

    provider = "generic"
    message_id = factory.Sequence(lambda n: f"m{n}")
    phone_masked = "138****5678"
    text = "TP 1234"
    status = InboundStatus.HELP
