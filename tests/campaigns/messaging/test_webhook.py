"""The generic gateway webhook ``POST /api/sms/inbound/``."""

import json
import time

import pytest
import time_machine
from django.urls import reverse

from campaigns.messaging.inbound.gateways import sign_generic
from campaigns.messaging.inbound.router import help_reply
from campaigns.messaging.models import InboundSms, OutboundSms
from campaigns.messaging.templates import render_sms
from tests.campaigns.messaging.conftest import (
    NOTHING,
    SECRET,
    URL,
    in_zh,
    message,
    recorded,
    signed_headers,
)
from voting.models import TallyEvent, Vote, Voter

pytestmark = pytest.mark.django_db


def nothing_recorded() -> bool:
    return recorded() == NOTHING and not TallyEvent.objects.exists() and not Voter.objects.exists()


def post(client, body: bytes, **headers):
    return client.post(URL, data=body, content_type="application/json", **headers)


BODY = json.dumps({"messages": [message("m1")]}).encode()
COUNTED_M1 = {
    "inbound": [("generic", "m1", "counted", "")],
    "votes": ["generic:m1"],
    "outbox": [("vote_receipt", "138****5678")],
}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def receipt_reply(voting, vote) -> str:
    member = voting.alice.staff_member
    params = {"name": member.name, "employee_no": "1234", "receipt": vote.receipt_code}
    return render_sms("vote_receipt", {**params, "remaining_today": None}, "zh-hans")


def test_a_signed_batch_is_counted(client, voting):
    response = post(client, BODY, **signed_headers(BODY))

    vote = Vote.objects.get()
    assert (response.status_code, response.json()) == (
        200,
        {"results": [{"id": "m1", "status": "counted", "reply": receipt_reply(voting, vote)}]},
    )
    assert recorded() == COUNTED_M1
    assert InboundSms.objects.get().reply == receipt_reply(voting, vote)


def test_upper_case_hex_is_accepted(client, voting):
    headers = signed_headers(BODY)
    headers["HTTP_X_SIGNATURE"] = "sha256=" + headers["HTTP_X_SIGNATURE"][7:].upper()

    response = post(client, BODY, **headers)

    assert [r["status"] for r in response.json()["results"]] == ["counted"]
    assert recorded() == COUNTED_M1


@pytest.mark.parametrize("skew", [-300, 300])
def test_a_timestamp_300_seconds_off_is_accepted(client, voting, skew):
    now = int(time.time())
    with time_machine.travel(now, tick=False):
        response = post(client, BODY, **signed_headers(BODY, timestamp=now + skew))

    assert [r["status"] for r in response.json()["results"]] == ["counted"]
    assert recorded() == COUNTED_M1


def _forged(case: str) -> dict:
    now = str(int(time.time()))
    good = sign_generic(SECRET, now, BODY)
    hex_digest = good[7:]
    headers = {"HTTP_X_TIMESTAMP": now, "HTTP_X_SIGNATURE": good}
    if case == "wrong secret":
        headers["HTTP_X_SIGNATURE"] = sign_generic("another-secret", now, BODY)
    elif case == "missing signature":
        del headers["HTTP_X_SIGNATURE"]
    elif case == "missing timestamp":
        del headers["HTTP_X_TIMESTAMP"]
    elif case == "301 s old":
        stamp = str(int(now) - 301)
        headers = {"HTTP_X_TIMESTAMP": stamp, "HTTP_X_SIGNATURE": sign_generic(SECRET, stamp, BODY)}
    elif case == "301 s ahead":
        stamp = str(int(now) + 301)
        headers = {"HTTP_X_TIMESTAMP": stamp, "HTTP_X_SIGNATURE": sign_generic(SECRET, stamp, BODY)}
    elif case == "float timestamp":
        stamp = f"{now}.0"
        headers = {"HTTP_X_TIMESTAMP": stamp, "HTTP_X_SIGNATURE": sign_generic(SECRET, stamp, BODY)}
    elif case == "signed timestamp":
        stamp = f"+{now}"
        headers = {"HTTP_X_TIMESTAMP": stamp, "HTTP_X_SIGNATURE": sign_generic(SECRET, stamp, BODY)}
    elif case == "non-integer timestamp":
        headers["HTTP_X_TIMESTAMP"] = "yesterday"
    elif case == "wrong prefix":
        headers["HTTP_X_SIGNATURE"] = "sha1=" + hex_digest
    elif case == "upper-case prefix":
        headers["HTTP_X_SIGNATURE"] = "SHA256=" + hex_digest
    elif case == "no prefix":
        headers["HTTP_X_SIGNATURE"] = hex_digest
    elif case == "non-hex":
        headers["HTTP_X_SIGNATURE"] = "sha256=" + "z" * 64
    elif case == "truncated":
        headers["HTTP_X_SIGNATURE"] = good[:-2]
    elif case == "other timestamp":
        headers["HTTP_X_TIMESTAMP"] = str(int(now) - 1)
    return headers


FORGERIES = [
    "wrong secret",
    "missing signature",
    "missing timestamp",
    "301 s old",
    "301 s ahead",
    "float timestamp",
    "signed timestamp",
    "non-integer timestamp",
    "wrong prefix",
    "upper-case prefix",
    "no prefix",
    "non-hex",
    "truncated",
    "other timestamp",
]


@pytest.mark.parametrize("case", FORGERIES)
def test_a_bad_signature_is_403_and_records_nothing(client, voting, case):
    with time_machine.travel(int(time.time()), tick=False):
        response = post(client, BODY, **_forged(case), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 403
    assert response.json() == {
        "code": "bad_signature",
        "detail": "The request signature is missing, wrong or too old.",
    }
    assert nothing_recorded()


def test_a_re_serialised_body_does_not_verify(client, voting):
    headers = signed_headers(BODY)
    reserialised = json.dumps(json.loads(BODY), indent=2, sort_keys=True).encode()

    response = post(client, reserialised, **headers)

    assert (response.status_code, response.json()["code"]) == (403, "bad_signature")
    assert nothing_recorded()


def test_without_a_secret_everything_is_refused(client, voting, settings):
    settings.SMS_INBOUND_SECRET = ""

    response = post(client, BODY, **signed_headers(BODY, secret=""))

    assert (response.status_code, response.json()["code"]) == (403, "bad_signature")
    assert nothing_recorded()


def test_an_exact_replay_gets_every_message_duplicate_with_the_original_reply(client, voting):
    body = json.dumps(
        {"messages": [message("m1"), message("m2", "TP 9999"), message("m3", "hi")]}
    ).encode()
    headers = signed_headers(body)
    first = post(client, body, **headers).json()["results"]

    replay = post(client, body, **headers)

    assert replay.status_code == 200
    assert replay.json()["results"] == [
        {"id": r["id"], "status": "duplicate", "reply": r["reply"]} for r in first
    ]
    assert Vote.objects.count() == 1
    assert OutboundSms.objects.count() == 2


def test_zero_messages_is_an_empty_result(post_signed, voting):
    response = post_signed({"messages": []})

    assert (response.status_code, response.json()) == (200, {"results": []})
    assert nothing_recorded()


def test_a_thousand_messages_are_answered_in_order(post_signed, voting):
    messages = [
        message(f"m{n}", "TP 1234" if n % 2 else "TP 5678", sender=f"1381234{n:04d}")
        for n in range(1000)
    ]

    response = post_signed({"messages": messages})

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [f"m{n}" for n in range(1000)]
    assert {r["status"] for r in results} == {"counted"}
    assert Vote.objects.count() == 1000
    assert TallyEvent.objects.count() == 1000


def test_a_thousand_and_one_messages_are_refused_whole(post_signed, voting):
    messages = [message(f"m{n}", sender=f"1381234{n:04d}") for n in range(1001)]

    response = post_signed({"messages": messages}, **ENGLISH)

    assert (response.status_code, response.json()) == (
        400,
        {"code": "batch_too_large", "detail": "At most 1000 messages per request."},
    )
    assert nothing_recorded()


ENVELOPE_DETAILS = {
    "parse_error": "The request body is not valid JSON.",
    "bad_request": "The request body must be a JSON object.",
    "bad_messages": "messages must be a list of messages.",
    # The request guard bounds nesting before any view parses the body.
    "too_deep": "The request body is nested too deeply.",
}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", "parse_error"),
        (b"\xff\xfe", "parse_error"),
        (b"[" * 100_000, "too_deep"),
        (b"[]", "bad_request"),
        (b'"messages"', "bad_request"),
        (b"{}", "bad_messages"),
        (b'{"messages": {"id": "m1"}}', "bad_messages"),
        (b'{"messages": null}', "bad_messages"),
    ],
)
def test_envelope_errors_are_400_with_a_stable_code(post_signed, voting, body, code):
    response = post_signed(body, **ENGLISH)

    assert (response.status_code, response.json()) == (
        400,
        {"code": "parse_error" if code == "too_deep" else code, "detail": ENVELOPE_DETAILS[code]},
    )
    assert nothing_recorded()


def test_per_message_field_errors_are_per_message_refusals(post_signed, voting):
    messages = [
        {"from": "13812345678", "text": "TP 1234"},
        message(""),
        message(True),
        message("x" * 101),
        message("m5", 1234),
        message("m6", None),
        message("m7", sender="abc"),
        message("m8", sender="010 6552 9988"),
        message("m9", sender="+1 415 867 5309"),
        message("m10", sender="+86 138 0013 8000"),
        message("m11", "TP 12\ud80034"),
        "not an object",
        message(12),
        message("m14", received_at="yesterday"),
    ]

    response = post_signed({"messages": messages})

    assert response.status_code == 200
    assert [(r["id"], r["status"], r.get("code", "")) for r in response.json()["results"]] == [
        (None, "refused", "bad_message"),
        (None, "refused", "bad_message"),
        (None, "refused", "bad_message"),
        (None, "refused", "bad_message"),
        ("m5", "refused", "bad_text"),
        ("m6", "refused", "bad_text"),
        ("m7", "refused", "bad_phone"),
        ("m8", "refused", "bad_phone"),
        ("m9", "refused", "bad_phone"),
        ("m10", "counted", ""),
        ("m11", "refused", "bad_text"),
        (None, "refused", "bad_message"),
        ("12", "counted", ""),
        ("m14", "counted", ""),
    ]
    assert Vote.objects.count() == 3
    assert InboundSms.objects.count() == 9


def test_a_body_over_the_upload_limit_is_refused_before_parsing(post_signed, voting):
    body = b'{"messages": [' + b" " * (3 * 1024 * 1024) + b"]}"

    response = post_signed(body, **ENGLISH)

    assert (response.status_code, response.json()) == (
        413,
        {"code": "body_too_large", "detail": "The request body is too large."},
    )
    assert nothing_recorded()


def test_replies_in_the_json_are_escaped_data(post_signed, voting):
    response = post_signed({"messages": [message("m1", "<script>alert(1)</script>")]})

    expected_help = in_zh(help_reply)
    assert response.json() == {"results": [{"id": "m1", "status": "help", "reply": expected_help}]}
    assert response["Content-Type"] == "application/json"
    assert list(InboundSms.objects.values_list("text", "status", "reply")) == [
        ("<script>alert(1)</script>", "help", expected_help)
    ]
    assert recorded()["outbox"] == []


@pytest.mark.parametrize(
    "received_at", ["9999-12-31T23:59:59-14:00", "2026-12-02T20:15:00+21:23", 10**20]
)
def test_a_signed_message_with_an_impossible_received_at_still_counts(
    post_signed, voting, received_at
):
    response = post_signed({"messages": [message("m1", received_at=received_at)]})

    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["counted"]
    stored = InboundSms.objects.get(message_id="m1")
    assert stored.received_at is None
    assert Vote.objects.count() == 1


def test_numbers_typed_into_texts_are_masked_before_storing_and_votes_still_count(
    post_signed, voting, hr
):
    response = post_signed(
        {
            "messages": [
                message("m1", "TP 1234", sender="13800000001"),
                message("m2", "ＴＰ　５６７８", sender="13800000002"),
                message("m3", "TP 1234 我的电话 0086 139.1234.5678", sender="13800000003"),
                message("m4", "打给１３９\u200b１２３４\u200b５６７８", sender="13800000004"),
            ]
        }
    )

    assert [r["status"] for r in response.json()["results"]] == [
        "counted",
        "counted",
        "help",
        "help",
    ]
    stored = dict(InboundSms.objects.values_list("message_id", "text"))
    assert stored == {
        "m1": "TP 1234",
        "m2": "ＴＰ　５６７８",
        "m3": "TP 1234 我的电话 0086 139****5678",
        "m4": "打给139****5678",
    }
    detail = hr.get(
        reverse(
            "admin:campaigns_inboundsms_change", args=[InboundSms.objects.get(message_id="m3").pk]
        )
    )
    assert "139****5678" in detail.text
    assert "1234.5678" not in detail.text
