"""No log record holds a full phone number, with every logger at DEBUG.

One run through everything that handles numbers: a one-time code and a web vote through
the API, an SMS vote batch through the signed webhook (a counted vote, a refusal, junk, a
number typed into the text), the sender draining the outbox, a fold of the tallies and
``manage.py recount``. Every record of every logger is kept; the test fails if a record's
formatted message, arguments or exception text contains one of the numbers in any form
the phone normaliser accepts (national or with +86/0086, spaces or dashes between
digits, full-width digits). SQL is not logged: ``django.db.backends`` logs statements
only with ``DEBUG = True`` (development), where the outbox INSERT holds the destination
by design.
"""

import json
import logging
import re
import unicodedata
from collections.abc import Iterator

import pytest
from django.core.management import call_command

from campaigns.messaging.models import OutboundSms
from campaigns.messaging.tasks import send_pending_sms_task
from staff.phones import parse_phone
from tests.campaigns.messaging.conftest import message, signed_headers
from voting.counting.tallies import fold_pending_tallies
from voting.models import Vote

pytestmark = pytest.mark.django_db

WEB_VOTER = "138 1234 5678"
SMS_VOTERS = ["+86 139-1234-5678", "15000001111", "１５０００００２２２２"]
TYPED_IN_TEXT = "13700002222"
NUMBERS = [parse_phone(n).e164.removeprefix("+86") for n in [WEB_VOTER, *SMS_VOTERS]]
NUMBERS.append(TYPED_IN_TEXT)


def _leak_pattern(national: str) -> re.Pattern[str]:
    """The 11 digits with anything the normaliser tolerates between them (spaces, dashes)."""
    return re.compile(r"[\s\-]*".join(national))


PATTERNS = [_leak_pattern(n) for n in NUMBERS]


@pytest.fixture
def every_record() -> Iterator[list[logging.LogRecord]]:
    """Every record of every logger at DEBUG (loggers that exist now, and the root for
    those created later), whatever their configured level or propagation."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep(level=logging.DEBUG)
    existing = [
        item
        for item in logging.root.manager.loggerDict.values()
        if isinstance(item, logging.Logger)
    ]
    loggers = [logging.getLogger(), *existing]
    saved = [(item, item.level, item.disabled) for item in loggers]
    for item in loggers:
        item.setLevel(logging.DEBUG)
        item.disabled = False
        item.addHandler(keep)
    yield records
    for item, level, disabled in saved:
        item.setLevel(level)
        item.disabled = disabled
        item.removeHandler(keep)


def _texts(record: logging.LogRecord) -> list[str]:
    texts = [record.getMessage(), repr(record.args), repr(record.msg)]
    if record.exc_info:
        texts.append(logging.Formatter().formatException(record.exc_info))
    return [unicodedata.normalize("NFKC", text) for text in texts]


def _post_json(client, url: str, payload: dict):
    return client.post(url, data=json.dumps(payload), content_type="application/json")


def test_no_log_record_holds_a_full_phone_number(client, voting, every_record, settings):
    settings.SMS_BACKEND = "campaigns.messaging.backends.outbox.OutboxBackend"
    otp = _post_json(client, "/api/otp/", {"phone": WEB_VOTER})
    code = OutboundSms.objects.get().params["code"]
    web = _post_json(
        client,
        "/api/votes/",
        {"stage": voting.stage.pk, "employee_no": "1234", "phone": WEB_VOTER, "code": code},
    )
    body = json.dumps(
        {
            "messages": [
                message("s1", "TP 5678", sender=SMS_VOTERS[0]),
                message("s2", "TP 9999", sender=SMS_VOTERS[1]),
                message("s3", f"TP 1234 call {TYPED_IN_TEXT}", sender=SMS_VOTERS[2]),
                message("s4", "TP 1234", sender="+1 415 867 5309"),
            ]
        }
    ).encode()
    sms = client.post(
        "/api/sms/inbound/", data=body, content_type="application/json", **signed_headers(body)
    )
    drained = send_pending_sms_task.apply().get()
    fold_pending_tallies()
    call_command("recount", "--stage", str(voting.stage.pk))

    # The run did what it should, so the records below cover real work.
    assert (otp.status_code, web.status_code, sms.status_code) == (202, 201, 200)
    statuses = [(r["status"], r.get("code", "")) for r in sms.json()["results"]]
    assert statuses == [
        ("counted", ""),
        ("refused", "unknown_candidate"),
        ("help", ""),
        ("refused", "bad_phone"),
    ]
    assert drained["sent"] == 3  # the code and the receipts of s1 (counted) and s2 (refused)
    assert Vote.objects.count() == 2
    assert every_record, "nothing was logged: the capture is broken"
    leaks = [
        (record.name, record.getMessage())
        for record in every_record
        if any(pattern.search(text) for pattern in PATTERNS for text in _texts(record))
    ]
    assert leaks == []
