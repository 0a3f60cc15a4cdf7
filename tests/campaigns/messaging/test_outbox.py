"""Outbound SMS: the outbox sender, its states and backoff, the three backends, wake-ups."""

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from campaigns.messaging.backends.aliyun import AliyunBackend, sign
from campaigns.messaging.backends.base import (
    BaseSmsBackend,
    SmsMessage,
    SmsPermanentError,
    SmsTemporaryError,
    SmsUnknownOutcomeError,
)
from campaigns.messaging.backends.http import HttpGatewayBackend
from campaigns.messaging.choices import SmsStatus
from campaigns.messaging.models import OutboundSms
from campaigns.messaging.sender import send_pending_sms
from campaigns.messaging.services import wake_sms_sender_on_commit
from campaigns.messaging.tasks import send_pending_sms_task
from campaigns.messaging.templates import render_sms
from staff.wakeups import reset_wakeups
from tests.factories.messaging import OutboundSmsFactory
from voting.choices import SmsTemplate
from voting.otp.services import request_otp

pytestmark = pytest.mark.django_db


class RecordingBackend(BaseSmsBackend):
    """A gateway stand-in (a process boundary): raises what the test asks for."""

    raises: Exception | None = None
    sent: list[SmsMessage] = []

    def send(self, message: SmsMessage) -> str:
        RecordingBackend.sent.append(message)
        if RecordingBackend.raises is not None:
            raise RecordingBackend.raises
        return f"gw-{message.id}"


@pytest.fixture
def gateway(settings) -> type[RecordingBackend]:
    settings.SMS_BACKEND = "tests.campaigns.messaging.test_outbox.RecordingBackend"
    RecordingBackend.raises = None
    RecordingBackend.sent = []
    return RecordingBackend


def test_outbox_backend_marks_sent_and_keeps_the_text(frozen_now):
    request_otp(phone="13812345678", ip=None, language="en")
    code = OutboundSms.objects.get().params["code"]

    report = send_pending_sms()

    message = OutboundSms.objects.get()
    assert report == {"pending": 0, "sent": 1, "failed": 0, "unknown": 0}
    assert message.status == SmsStatus.SENT
    assert message.body == (
        f"[Service Star] Your verification code is {code}. It is valid for 5 minutes. "
        "Do not share it with anyone."
    )
    assert (message.to_e164, message.params, message.phone_masked) == ("", {}, "138****5678")
    assert message.provider_message_id == f"outbox-{message.pk}"
    assert message.sent_at == frozen_now
    assert send_pending_sms() == {"pending": 0, "sent": 0, "failed": 0, "unknown": 0}


def test_a_real_backend_does_not_keep_the_text(gateway, frozen_now):
    OutboundSmsFactory()

    send_pending_sms()

    message = OutboundSms.objects.get()
    assert (message.status, message.body, message.provider_message_id) == (
        SmsStatus.SENT,
        "",
        f"gw-{message.pk}",
    )
    assert gateway.sent[0].to_e164 == "+8613500000000"
    assert gateway.sent[0].body == render_sms(SmsTemplate.VOTE_RECEIPT, message.params, "zh-hans")


def test_temporary_failures_back_off_exponentially_then_fail(gateway, frozen_now, settings):
    settings.SMS_MAX_ATTEMPTS = 3
    gateway.raises = SmsTemporaryError("isv.BUSINESS_LIMIT_CONTROL")
    OutboundSmsFactory()
    delays = []
    for _ in range(3):
        send_pending_sms()
        message = OutboundSms.objects.get()
        if message.status == SmsStatus.PENDING:
            delays.append(message.next_attempt_at - frozen_now)
            OutboundSms.objects.update(next_attempt_at=frozen_now)

    message = OutboundSms.objects.get()
    assert delays == [dt.timedelta(seconds=10), dt.timedelta(seconds=20)]
    assert (message.status, message.attempts, message.to_e164) == (SmsStatus.FAILED, 3, "")
    assert message.last_error == "isv.BUSINESS_LIMIT_CONTROL"


def test_backoff_is_capped(gateway, frozen_now, settings):
    settings.SMS_MAX_ATTEMPTS = 20
    settings.SMS_RETRY_MAX_SECONDS = 60
    gateway.raises = SmsTemporaryError("503")
    OutboundSmsFactory(attempts=9)

    send_pending_sms()

    assert OutboundSms.objects.get().next_attempt_at == frozen_now + dt.timedelta(seconds=60)


def test_a_message_not_yet_due_waits(gateway, frozen_now):
    OutboundSmsFactory(next_attempt_at=frozen_now + dt.timedelta(seconds=5))

    send_pending_sms()

    assert gateway.sent == []
    assert OutboundSms.objects.get().status == SmsStatus.PENDING


def test_permanent_failure_is_final(gateway, frozen_now):
    gateway.raises = SmsPermanentError("isv.MOBILE_NUMBER_ILLEGAL")
    OutboundSmsFactory()

    send_pending_sms()
    send_pending_sms()

    assert len(gateway.sent) == 1
    assert OutboundSms.objects.get().status == SmsStatus.FAILED


def test_unknown_outcome_is_never_resent_blindly(gateway, frozen_now):
    gateway.raises = SmsUnknownOutcomeError("read timed out")
    OutboundSmsFactory()

    send_pending_sms()
    send_pending_sms()

    message = OutboundSms.objects.get()
    assert len(gateway.sent) == 1
    assert (message.status, message.to_e164) == (SmsStatus.UNKNOWN, "")


def test_a_row_left_sending_by_a_dead_worker_becomes_unknown(gateway, frozen_now):
    OutboundSmsFactory(status=SmsStatus.SENDING, claimed_at=frozen_now - dt.timedelta(minutes=6))
    OutboundSmsFactory(status=SmsStatus.SENDING, claimed_at=frozen_now - dt.timedelta(minutes=1))

    report = send_pending_sms()

    assert report["unknown"] == 1
    assert sorted(OutboundSms.objects.values_list("status", flat=True)) == [
        SmsStatus.SENDING,
        SmsStatus.UNKNOWN,
    ]
    assert gateway.sent == []


def test_an_expired_code_is_not_sent(gateway, frozen_now):
    OutboundSmsFactory(
        template=SmsTemplate.OTP,
        params={"code": "123456"},
        created_at=frozen_now - dt.timedelta(minutes=5),
    )

    send_pending_sms()

    message = OutboundSms.objects.get()
    assert gateway.sent == []
    assert (message.status, message.params) == (SmsStatus.FAILED, {})


def test_the_number_may_only_be_held_while_pending(frozen_now):
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboundSmsFactory(status=SmsStatus.SENT)


def test_the_task_drains_the_outbox(frozen_now):
    OutboundSmsFactory()

    report = send_pending_sms_task.apply().get()

    assert report["sent"] == 1


# wake-ups ------------------------------------------------------------------------------------


@pytest.mark.timeout(20)
def test_wake_up_with_the_broker_down_returns_quickly_and_quietly(
    settings, caplog, django_capture_on_commit_callbacks
):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    reset_wakeups()

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        wake_sms_sender_on_commit()

    assert len(callbacks) == 1
    assert time.monotonic() - started < 10  # a hang guard, not a timing assertion
    assert "wake-up of campaigns.send_pending_sms failed" in caplog.text
    reset_wakeups()


# Aliyun --------------------------------------------------------------------------------------


def test_aliyun_signature_matches_the_documented_example():
    # The worked example of Aliyun's SMS signature documentation (GET, testId/testSecret).
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }

    assert sign(params, "testSecret", method="GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_aliyun_request_carries_our_id_as_out_id(settings):
    settings.SMS_ALIYUN_ACCESS_KEY_ID = "id"
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = "secret"
    settings.SMS_ALIYUN_SIGN_NAME = "服务明星"
    settings.SMS_ALIYUN_TEMPLATES = {"otp": "SMS_1"}
    message = SmsMessage(id=42, to_e164="+8613812345678", template="otp", params={"code": "012345"})

    params = AliyunBackend().build_params(
        message, now=dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC), nonce="n-1"
    )

    assert params["OutId"] == "42"
    assert params["PhoneNumbers"] == "13812345678"
    assert params["TemplateCode"] == "SMS_1"
    assert params["TemplateParam"] == '{"code":"012345"}'
    assert params["Timestamp"] == "2026-05-01T08:00:00Z"
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    assert params["Signature"] == sign(unsigned, "secret")


def test_aliyun_without_a_template_mapping_is_permanent(settings):
    settings.SMS_ALIYUN_TEMPLATES = {}
    message = SmsMessage(id=1, to_e164="+8613812345678", template="otp")

    with pytest.raises(SmsPermanentError):
        AliyunBackend().build_params(message, now=dt.datetime.now(tz=dt.UTC), nonce="n")


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ({"Code": "OK", "BizId": "900"}, "900"),
        ({"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"}, SmsTemporaryError),
        ({"Code": "Throttling.User"}, SmsTemporaryError),
        ({"Code": "isv.MOBILE_NUMBER_ILLEGAL"}, SmsPermanentError),
        ({"Message": "?"}, SmsUnknownOutcomeError),
    ],
)
def test_aliyun_answers(answer, outcome):
    raw = json.dumps(answer).encode()

    if isinstance(outcome, str):
        assert AliyunBackend.read_answer(raw) == outcome
    else:
        with pytest.raises(outcome):
            AliyunBackend.read_answer(raw)


# generic HTTP gateway (a real local server) --------------------------------------------------


class GatewayHandler(BaseHTTPRequestHandler):
    status = 200
    delay = 0.0
    received: list[dict] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        GatewayHandler.received.append(
            {"body": json.loads(self.rfile.read(length)), "auth": self.headers["Authorization"]}
        )
        time.sleep(GatewayHandler.delay)
        self.send_response(GatewayHandler.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        try:
            self.wfile.write(b'{"message_id": "g-77"}')
        except BrokenPipeError:  # the client gave up waiting: the point of the slow test
            return

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def http_gateway(settings) -> Iterator[type[GatewayHandler]]:
    GatewayHandler.status, GatewayHandler.delay, GatewayHandler.received = 200, 0.0, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), GatewayHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{server.server_address[1]}/send"
    settings.SMS_HTTP_TOKEN = "tok"
    settings.SMS_HTTP_TIMEOUT = 0.5
    yield GatewayHandler
    server.shutdown()
    server.server_close()


MESSAGE = SmsMessage(
    id=7, to_e164="+8613812345678", template="otp", params={"code": "1"}, body="hi"
)


def test_http_gateway_posts_json_and_reads_the_id(http_gateway):
    assert HttpGatewayBackend().send(MESSAGE) == "g-77"
    assert http_gateway.received == [
        {
            "body": {
                "id": "7",
                "to": "+8613812345678",
                "template": "otp",
                "params": {"code": "1"},
                "language": "zh-hans",
                "text": "hi",
            },
            "auth": "Bearer tok",
        }
    ]


@pytest.mark.parametrize(
    ("status", "error"),
    [(503, SmsTemporaryError), (429, SmsTemporaryError), (400, SmsPermanentError)],
)
def test_http_gateway_status_codes(http_gateway, status, error):
    http_gateway.status = status

    with pytest.raises(error):
        HttpGatewayBackend().send(MESSAGE)


@pytest.mark.timeout(20)
def test_http_gateway_silence_after_sending_is_an_unknown_outcome(http_gateway):
    http_gateway.delay = 1.5

    with pytest.raises(SmsUnknownOutcomeError):
        HttpGatewayBackend().send(MESSAGE)

    assert len(http_gateway.received) == 1


def test_http_gateway_unreachable_is_temporary(settings):
    settings.SMS_HTTP_URL = "http://127.0.0.1:9/send"

    with pytest.raises(SmsTemporaryError):
        HttpGatewayBackend().send(MESSAGE)


# manage.py sms_outbox --------------------------------------------------------------------------


def test_sms_outbox_command_shows_masked_messages_for_a_phone(frozen_now, capsys):
    request_otp(phone="13812345678", ip=None, language="en")
    request_otp(phone="13900000000", ip=None, language="en")
    code = OutboundSms.objects.get(phone_masked="138****5678").params["code"]
    send_pending_sms()

    call_command("sms_outbox", phone="+86 138 1234 5678", last=5)

    out = capsys.readouterr().out
    assert "138****5678 otp [sent]" in out
    assert f"Your verification code is {code}." in out
    assert "139****0000" not in out
    assert "13812345678" not in out


def test_sms_outbox_command_with_nothing(capsys):
    call_command("sms_outbox")

    assert capsys.readouterr().out == "No messages.\n"


def test_a_backend_bug_is_retried_with_backoff_not_forever(gateway, frozen_now, settings):
    settings.SMS_MAX_ATTEMPTS = 2
    gateway.raises = RuntimeError("bug")
    OutboundSmsFactory()

    send_pending_sms()
    first = OutboundSms.objects.get()
    OutboundSms.objects.update(next_attempt_at=frozen_now)
    send_pending_sms()

    final = OutboundSms.objects.get()
    assert (first.status, first.claimed_at, first.next_attempt_at - frozen_now) == (
        SmsStatus.PENDING,
        None,
        dt.timedelta(seconds=10),
    )
    assert (final.status, final.last_error, final.to_e164) == (
        SmsStatus.FAILED,
        "backend error: RuntimeError",
        "",
    )
