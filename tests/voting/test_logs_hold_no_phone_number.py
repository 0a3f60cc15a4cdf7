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

Then what the project's own handlers write (``config.logfilters``): a real server with
runserver's request handler takes Aliyun pushes with the callback token in the URL, in a
header and in a query string, and admin URLs with a number typed into the search box; no
line holds the token or the number. The admin's phone search itself posts the number
(``tests/config/test_admin_phone_search.py``).
"""

import io
import json
import logging
import re
import sys
import threading
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer

from campaigns.messaging.models import OutboundSms
from campaigns.messaging.tasks import send_pending_sms_task
from config.logfilters import RedactSecretsFilter
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


# What the project's own handlers write: the callback token and typed numbers -------------

CALLBACK_TOKEN = "aliyun-callback-token-5f1c9e0b7d2a4c68"


@pytest.fixture
def handler_output() -> Iterator[io.StringIO]:
    """Everything the configured handlers write (the root's console handler and runserver's
    ``django.server`` handler), with the root at DEBUG: the lines an operator's logs get."""
    buffer = io.StringIO()
    handlers = [*logging.getLogger().handlers, *logging.getLogger("django.server").handlers]
    ours = [h for h in handlers if any(isinstance(f, RedactSecretsFilter) for f in h.filters)]
    assert len(ours) == 2, "the project's handlers lost their redacting filter"
    saved = [(handler, handler.setStream(buffer)) for handler in ours]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    yield buffer
    root.setLevel(level)
    for handler, stream in saved:
        handler.setStream(stream)


@pytest.fixture
def logging_server(settings) -> Iterator[str]:
    """A real server with runserver's request handler, which logs every request line."""
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler, ipv6=False)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _request(url: str, *, body: bytes | None = None, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, data=body, headers=headers or {})  # noqa: S310 -- local
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 -- local
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_no_log_line_holds_the_callback_token_or_a_typed_number(
    logging_server, handler_output, settings
):
    settings.SMS_ALIYUN_CALLBACK_TOKEN = CALLBACK_TOKEN
    push = json.dumps(
        [{"phone_number": "13900001111", "content": "TP 1234 call 13700002222", "sequence_id": 7}]
    ).encode()
    aliyun = f"{logging_server}/api/sms/inbound/aliyun"

    statuses = [
        _request(f"{aliyun}/{CALLBACK_TOKEN}/", body=push),  # the URL form
        _request(f"{aliyun}/{CALLBACK_TOKEN}x/", body=push),  # refused: a warning line
        _request(f"{aliyun}/", body=push, headers={"X-Callback-Token": CALLBACK_TOKEN}),
        _request(f"{aliyun}/?token={CALLBACK_TOKEN}", body=push),
        # A number typed into an admin search box: the request line carries it.
        _request(f"{logging_server}/admin/campaigns/inboundsms/?q=137+0000+2222"),
        _request(f"{logging_server}/admin/staff/staffmember/?q=13700002222"),
    ]

    assert statuses == [200, 403, 200, 403, 200, 200]  # the admin ones via the login page
    lines = handler_output.getvalue()
    assert "Forbidden: /api/sms/inbound/aliyun/[redacted]/" in lines
    assert '"POST /api/sms/inbound/aliyun/[redacted]/ HTTP/1.1" 200' in lines
    assert "/admin/campaigns/inboundsms/?q=137****2222" in lines
    assert CALLBACK_TOKEN not in lines
    assert [p.pattern for p in PATTERNS if p.search(unicodedata.normalize("NFKC", lines))] == []


def test_the_redacting_filter_covers_messages_arguments_and_tracebacks(settings):
    settings.SMS_ALIYUN_CALLBACK_TOKEN = CALLBACK_TOKEN
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "Error at %s for %s", None, None
    )
    record.args = (f"/cb/?token={CALLBACK_TOKEN}&x=1", "+86 137-0000-2222")
    try:
        raise ValueError(f"callback {CALLBACK_TOKEN} for 13700002222")
    except ValueError:
        record.exc_info = sys.exc_info()

    assert RedactSecretsFilter().filter(record) is True

    text = logging.Formatter().format(record)
    assert record.getMessage() == "Error at /cb/?token=[redacted]&x=1 for +86 137****2222"
    assert "callback [redacted] for 137****2222" in text
    assert CALLBACK_TOKEN not in text
