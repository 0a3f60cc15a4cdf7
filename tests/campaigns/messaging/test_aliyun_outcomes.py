"""Aliyun send outcomes, table-driven against a fake Aliyun served on a spare port.

Each row names what the gateway does with one ``SendSms`` request and what the outbox row
becomes after the sender's run: sent, retried later with backoff (flow control, a refused
connection), failed for good (``InternalError``, 5xx, refusals) or kept ``unknown`` (the
request went out and no readable answer came back). Nothing of unknown outcome is sent
again: a second run of the sender after the backoff sends no second request.
"""

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from campaigns.messaging.choices import SmsStatus
from campaigns.messaging.models import OutboundSms
from campaigns.messaging.sender import send_pending_sms
from tests.factories.messaging import OutboundSmsFactory

pytestmark = pytest.mark.django_db


class FakeAliyun(BaseHTTPRequestHandler):
    """Answers every request as ``behaviour`` says: ``(status, body)``, or one of the
    failures ``slow`` (answers after the client gave up), ``cut`` (a partial body, then
    the connection closes) and ``silent`` (closes without answering)."""

    behaviour: tuple[int, bytes] | str = (200, b"")
    requests: list[dict[str, list[str]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        FakeAliyun.requests.append(parse_qs(self.rfile.read(length).decode()))
        behaviour = FakeAliyun.behaviour
        if behaviour == "silent":
            self.close_connection = True
            return
        if behaviour == "slow":
            time.sleep(1.0)
            behaviour = (200, b'{"Code": "OK", "BizId": "late"}')
        if behaviour == "cut":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "200")
            self.end_headers()
            self.wfile.write(b'{"Code": "O')
            self.close_connection = True
            return
        status, body = behaviour
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:  # the client stopped waiting (the slow case)
            return

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def aliyun(settings) -> Iterator[type[FakeAliyun]]:
    FakeAliyun.behaviour, FakeAliyun.requests = (200, b""), []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAliyun)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "campaigns.messaging.backends.aliyun.AliyunBackend"
    settings.SMS_ALIYUN_ENDPOINT = f"http://127.0.0.1:{server.server_address[1]}/"
    settings.SMS_ALIYUN_ACCESS_KEY_ID = "test-key"
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = "test-secret"
    settings.SMS_ALIYUN_SIGN_NAME = "服务之星"
    settings.SMS_ALIYUN_TEMPLATES = {"vote_receipt": "SMS_100"}
    settings.SMS_HTTP_TIMEOUT = 0.3
    settings.SMS_MAX_ATTEMPTS = 6
    yield FakeAliyun
    server.shutdown()
    server.server_close()


def answer(status: int, code: str | None, message: str = "") -> tuple[int, bytes]:
    data = {"RequestId": "R1", "Message": message} | ({"Code": code} if code else {})
    return status, json.dumps(data, ensure_ascii=False).encode()


RETRY, FAILED, UNKNOWN, SENT = "retry", SmsStatus.FAILED, SmsStatus.UNKNOWN, SmsStatus.SENT

OUTCOMES = [
    ("ok", (200, b'{"Code": "OK", "BizId": "900^1", "RequestId": "R1"}'), SENT),
    ("flow-control", answer(200, "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控"), RETRY),
    ("throttling-user", answer(400, "Throttling.User", "Request was denied"), RETRY),
    ("throttling", answer(400, "Throttling"), RETRY),
    ("throttling-api", answer(400, "Throttling.Api"), RETRY),
    ("nonce-used", answer(400, "SignatureNonceUsed"), RETRY),
    (
        "internal-error-500",
        answer(500, "InternalError", "The request processing has failed"),
        FAILED,
    ),
    ("internal-error-200", answer(200, "InternalError"), FAILED),
    ("system-error", answer(200, "isp.SYSTEM_ERROR"), FAILED),
    ("service-unavailable-503", answer(503, "ServiceUnavailable"), FAILED),
    ("bare-502", (502, b"<html>Bad Gateway</html>"), FAILED),
    ("empty-503", (503, b""), FAILED),
    ("illegal-number", answer(200, "isv.MOBILE_NUMBER_ILLEGAL"), FAILED),
    ("day-limit", answer(200, "isv.DAY_LIMIT_CONTROL"), FAILED),
    ("bad-key", answer(404, "InvalidAccessKeyId.NotFound"), FAILED),
    ("unreadable-404", (404, b"<html>Not Found</html>"), FAILED),
    ("not-json", (200, b"<html>maintenance</html>"), UNKNOWN),
    ("no-code", (200, b'{"RequestId": "R1"}'), UNKNOWN),
    ("not-an-object", (200, b"[]"), UNKNOWN),
    ("timeout", "slow", UNKNOWN),
    ("reset-mid-answer", "cut", UNKNOWN),
    ("closed-without-answer", "silent", UNKNOWN),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("behaviour", "expected"), [row[1:] for row in OUTCOMES], ids=[row[0] for row in OUTCOMES]
)
def test_aliyun_outcome_is_recorded(aliyun, frozen_now, behaviour, expected):
    aliyun.behaviour = behaviour
    row = OutboundSmsFactory()

    send_pending_sms()
    first = OutboundSms.objects.get()
    # Whatever the outcome, the sender runs again once any backoff is over.
    OutboundSms.objects.filter(status=SmsStatus.PENDING).update(next_attempt_at=frozen_now)
    send_pending_sms()

    assert aliyun.requests[0]["OutId"] == [str(row.pk)]
    assert aliyun.requests[0]["Action"] == ["SendSms"]
    if expected == RETRY:
        assert (first.status, first.attempts) == (SmsStatus.PENDING, 1)
        assert first.next_attempt_at == frozen_now + dt.timedelta(seconds=10)
        assert first.to_e164 == "+8613500000000"  # kept for the retry
        assert len(aliyun.requests) == 2
        return
    assert first.status == expected
    assert first.to_e164 == ""
    assert len(aliyun.requests) == 1  # sent, failed or unknown: never sent again
    assert OutboundSms.objects.get().status == expected
    if expected == SENT:
        assert first.provider_message_id == "900^1"
    else:
        assert first.last_error


def test_a_refused_connection_is_retried_later(settings, frozen_now):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.SMS_BACKEND = "campaigns.messaging.backends.aliyun.AliyunBackend"
    settings.SMS_ALIYUN_ENDPOINT = f"http://127.0.0.1:{port}/"
    settings.SMS_ALIYUN_TEMPLATES = {"vote_receipt": "SMS_100"}
    OutboundSmsFactory()

    send_pending_sms()

    row = OutboundSms.objects.get()
    assert (row.status, row.attempts) == (SmsStatus.PENDING, 1)
    assert row.last_error.startswith("Aliyun unreachable")


@pytest.mark.parametrize(
    "endpoint", ["http://dysmsapi.aliyuncs.com/", "http://10.0.0.5/", "ftp://127.0.0.1/"]
)
def test_plain_http_is_refused_except_to_a_loopback_address(settings, frozen_now, endpoint):
    settings.SMS_BACKEND = "campaigns.messaging.backends.aliyun.AliyunBackend"
    settings.SMS_ALIYUN_ENDPOINT = endpoint
    settings.SMS_ALIYUN_TEMPLATES = {"vote_receipt": "SMS_100"}
    OutboundSmsFactory()

    send_pending_sms()

    row = OutboundSms.objects.get()
    assert (row.status, row.last_error) == (
        SmsStatus.FAILED,
        "SMS_ALIYUN_ENDPOINT must be an https URL",
    )
