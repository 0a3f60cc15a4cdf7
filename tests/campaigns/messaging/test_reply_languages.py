"""``reply_languages``: each phone's language is that of its newest message of a
language-source template (a one-time code asked for on the web page), whatever was sent to
it after (receipts); on PostgreSQL it is read with one probe per phone, with statistics or
without."""

import datetime as dt
import json

import pytest
from django.db import connection

from campaigns.clock import db_now
from campaigns.messaging.models import OutboundSms
from campaigns.messaging.selectors import reply_languages, reply_languages_sql
from campaigns.messaging.templates import language_source_keys
from staff.phones import parse_phone
from tests.factories.messaging import OutboundSmsFactory
from tests.plans import explain, rows_read, shown

pytestmark = pytest.mark.django_db

ALICE, BOB, CAROL = (parse_phone(n) for n in ("13800000001", "13800000002", "13800000003"))


def test_the_newest_language_source_message_gives_the_language():
    now = db_now()
    minute = dt.timedelta(minutes=1)
    OutboundSmsFactory(phone=ALICE.e164, template="otp", language="en", created_at=now - 3 * minute)
    OutboundSmsFactory(
        phone=ALICE.e164, template="otp", language="zh-hans", created_at=now - minute
    )
    # A receipt after it, in another language, does not count: only language sources do.
    OutboundSmsFactory(phone=ALICE.e164, template="vote_receipt", language="en", created_at=now)
    OutboundSmsFactory(phone=BOB.e164, template="otp", language="en", created_at=now - minute)
    # Two codes at the same moment: the later row wins.
    OutboundSmsFactory(phone=BOB.e164, template="otp", language="zh-hans", created_at=now - minute)
    OutboundSmsFactory(phone=CAROL.e164, template="vote_receipt", language="en", created_at=now)

    languages = reply_languages([ALICE.hash, BOB.hash, CAROL.hash, "0" * 64, ALICE.hash])

    assert languages == {ALICE.hash: "zh-hans", BOB.hash: "zh-hans"}


def test_no_phones_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert reply_languages([]) == {}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
@pytest.mark.parametrize("analyzed", [False, True])
def test_each_phone_is_probed_not_the_outbox(analyzed):
    template = OutboundSmsFactory.build()
    table = OutboundSms._meta.db_table
    with connection.cursor() as cursor:
        # 30,000 receipts to 10,000 phones and, to the first 100, a code in English before.
        cursor.execute(
            f"INSERT INTO {table} (phone_hash, phone_masked, to_e164, template, params, "  # noqa: S608
            "language, body, status, attempts, next_attempt_at, created_at, "
            "provider_message_id, last_error) "
            "SELECT 'p' || (n %% 10000), %s, %s, %s, %s, 'zh-hans', %s, %s, 0, now(), "
            "now() - make_interval(secs => n), '', '' FROM generate_series(1, 30000) AS n",
            [
                template.phone_masked,
                template.to_e164,
                "vote_receipt",
                json.dumps(template.params),
                template.body,
                template.status,
            ],
        )
        cursor.execute(
            f"INSERT INTO {table} (phone_hash, phone_masked, to_e164, template, params, "  # noqa: S608
            "language, body, status, attempts, next_attempt_at, created_at, "
            "provider_message_id, last_error) "
            "SELECT 'p' || n, %s, %s, 'otp', '{}', 'en', %s, %s, 0, now(), "
            "now() - interval '1 day', '', '' FROM generate_series(0, 99) AS n",
            [template.phone_masked, template.to_e164, template.body, template.status],
        )
        if analyzed:
            cursor.execute(f"ANALYZE {table}")
    phones = [f"p{n}" for n in range(200)]
    plan = explain(reply_languages_sql(), [phones, language_source_keys()])

    assert reply_languages(phones) == {f"p{n}": "en" for n in range(100)}
    # Each phone's own messages (3 receipts each, and the code behind them), not the 30,100.
    assert rows_read(plan, table) <= 200 * 4, shown(plan)
