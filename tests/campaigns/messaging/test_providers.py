"""Provider webhooks beside the generic one: Twilio (signed) and Aliyun (token in the URL or a
header)."""

import base64
import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest

from campaigns.messaging.inbound.gateways import twilio_signature
from campaigns.messaging.models import InboundSms
from tests.campaigns.messaging.conftest import NOTHING, recorded
from voting.models import Vote

pytestmark = pytest.mark.django_db

TWILIO_URL = "/api/sms/inbound/twilio/"
ALIYUN_TOKEN = "aliyun-callback-token-0123456789"


def independent_twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's documented recipe, written out again without the app's code."""
    data = url
    for key in sorted(params):
        data += key + params[key]
    mac = hmac.new(token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


DOCS_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
DOCS_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"


def test_twilio_signature_matches_twilios_published_examples():
    # twilio.com/docs/usage/security "Validating requests" (current example) …
    assert (
        twilio_signature("12345", DOCS_URL, {k: [v] for k, v in DOCS_PARAMS.items()})
        == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )
    # … and twilio-php's validation docs (an older example with other caller numbers).
    older = {**DOCS_PARAMS, "Caller": "+14158675309", "From": "+14158675309"}
    assert (
        twilio_signature("12345", DOCS_URL, {k: [v] for k, v in older.items()})
        == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )
    assert independent_twilio_signature("12345", DOCS_URL, DOCS_PARAMS) == (
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )


@pytest.fixture
def twilio_token(settings):
    settings.SMS_TWILIO_AUTH_TOKEN = "12345"
    return "12345"


def twilio_form(sid: str = "SM0001", body: str = "TP 1234") -> dict[str, str]:
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC0001",
        "From": "+8613812345678",
        "To": "+8610690000",
        "Body": body,
        "NumMedia": "0",
    }


def post_twilio(client, form, *, url: str, **headers):
    return client.post(
        TWILIO_URL,
        data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=independent_twilio_signature("12345", url, form),
        **headers,
    )


def test_a_signed_twilio_message_is_counted_and_answered_with_empty_twiml(
    client, voting, twilio_token
):
    response = post_twilio(client, twilio_form(), url="http://testserver" + TWILIO_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content == b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    assert recorded() == {
        "inbound": [("twilio", "SM0001", "counted", "")],
        "votes": ["twilio:SM0001"],
        "outbox": [("vote_receipt", "138****5678")],
    }
    inbound = InboundSms.objects.get()
    assert (inbound.to_number, inbound.text, inbound.outcome_ref) == (
        "+8610690000",
        "TP 1234",
        Vote.objects.get().pk,
    )


def test_a_twilio_redelivery_counts_once(client, voting, twilio_token):
    url = "http://testserver" + TWILIO_URL
    post_twilio(client, twilio_form(), url=url)

    response = post_twilio(client, twilio_form(), url=url)

    assert (response.status_code, response.content) == (
        200,
        b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
    )
    assert recorded() == {
        "inbound": [("twilio", "SM0001", "counted", "")],
        "votes": ["twilio:SM0001"],
        "outbox": [("vote_receipt", "138****5678")],
    }


@pytest.mark.parametrize("tamper", ["body", "token", "missing", "url"], ids=lambda t: f"forged-{t}")
def test_a_forged_twilio_request_is_403_and_records_nothing(client, voting, twilio_token, tamper):
    form = twilio_form()
    url = "http://testserver" + TWILIO_URL
    signature = independent_twilio_signature("12345", url, form)
    if tamper == "body":
        form["Body"] = "TP 5678"
    elif tamper == "token":
        signature = independent_twilio_signature("54321", url, form)
    elif tamper == "url":
        signature = independent_twilio_signature("12345", url + "?x=1", form)
    headers = {} if tamper == "missing" else {"HTTP_X_TWILIO_SIGNATURE": signature}

    response = client.post(
        TWILIO_URL,
        data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
        **headers,
    )

    assert (response.status_code, response.json()["code"]) == (403, "bad_signature")
    assert recorded() == NOTHING


def test_behind_a_tls_proxy_without_the_proxy_setting_the_https_signature_fails(
    client, voting, twilio_token, settings
):
    settings.SECURE_PROXY_SSL_HEADER = None

    response = post_twilio(
        client,
        twilio_form(),
        url="https://testserver" + TWILIO_URL,
        HTTP_X_FORWARDED_PROTO="https",
    )

    assert (response.status_code, response.json()["code"]) == (403, "bad_signature")
    assert recorded() == NOTHING


def test_behind_a_tls_proxy_with_the_proxy_setting_the_https_signature_verifies(
    client, voting, twilio_token, settings
):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    response = post_twilio(
        client,
        twilio_form(),
        url="https://testserver" + TWILIO_URL,
        HTTP_X_FORWARDED_PROTO="https",
    )

    assert response.status_code == 200
    assert recorded()["votes"] == ["twilio:SM0001"]


@pytest.mark.parametrize(
    ("signed", "scheme", "seen_host"),
    [
        ("https://testserver:443", "https", "testserver"),
        ("https://testserver", "https", "testserver:443"),
        ("http://testserver:80", "http", "testserver"),
        ("http://testserver", "http", "testserver:80"),
    ],
    ids=[
        "signed-443-seen-bare",
        "signed-bare-seen-443",
        "signed-80-seen-bare",
        "signed-bare-seen-80",
    ],
)
def test_twilio_signs_the_url_with_or_without_the_default_port(
    client, voting, twilio_token, settings, signed, scheme, seen_host
):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["testserver"]

    response = post_twilio(
        client,
        twilio_form(),
        url=signed + TWILIO_URL,
        HTTP_HOST=seen_host,
        HTTP_X_FORWARDED_PROTO=scheme,
    )

    assert response.status_code == 200
    assert recorded()["votes"] == ["twilio:SM0001"]


def test_a_twilio_url_signed_on_another_port_does_not_verify_without_it(
    client, voting, twilio_token, settings
):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    response = post_twilio(
        client,
        twilio_form(),
        url="https://testserver:8443" + TWILIO_URL,
        HTTP_HOST="testserver",
        HTTP_X_FORWARDED_PROTO="https",
    )

    assert (response.status_code, response.json()["code"]) == (403, "bad_signature")
    assert recorded() == NOTHING


def test_behind_a_proxy_that_rewrites_host_the_public_base_url_verifies(
    client, voting, twilio_token, settings
):
    # The proxy forwards to the app as http://backend:8000; Twilio signed the public URL.
    settings.ALLOWED_HOSTS = ["backend"]
    settings.SMS_PUBLIC_BASE_URL = "https://stars.example.com/"
    public = "https://stars.example.com" + TWILIO_URL + "?src=twilio"

    response = client.post(
        TWILIO_URL + "?src=twilio",
        data=urlencode(twilio_form()),
        content_type="application/x-www-form-urlencoded",
        HTTP_HOST="backend:8000",
        HTTP_X_TWILIO_SIGNATURE=independent_twilio_signature("12345", public, twilio_form()),
    )

    assert response.status_code == 200
    assert recorded()["votes"] == ["twilio:SM0001"]


def test_with_a_public_base_url_a_signature_of_the_internal_url_is_refused(
    client, voting, twilio_token, settings
):
    settings.SMS_PUBLIC_BASE_URL = "https://stars.example.com"

    response = post_twilio(client, twilio_form(), url="http://testserver" + TWILIO_URL)

    assert (response.status_code, response.json()["code"]) == (403, "bad_signature")
    assert recorded() == NOTHING


def test_twilio_without_an_auth_token_refuses_everything(client, voting, settings):
    settings.SMS_TWILIO_AUTH_TOKEN = ""

    response = post_twilio(client, twilio_form(), url="http://testserver" + TWILIO_URL)

    assert (response.status_code, response.json()["code"]) == (403, "bad_signature")
    assert recorded() == NOTHING


# Aliyun ------------------------------------------------------------------------------------


@pytest.fixture
def aliyun_token(settings):
    settings.SMS_ALIYUN_CALLBACK_TOKEN = ALIYUN_TOKEN
    return ALIYUN_TOKEN


def aliyun_push(*items: tuple[int, str, str]) -> bytes:
    return json.dumps(
        [
            {
                "phone_number": phone,
                "send_time": "2026-11-23 10:20:22",
                "content": text,
                "sign_name": "服务明星",
                "dest_code": "1234",
                "sequence_id": sequence_id,
            }
            for sequence_id, phone, text in items
        ],
        ensure_ascii=False,
    ).encode()


def test_an_aliyun_push_is_counted_and_acknowledged(client, voting, aliyun_token):
    body = aliyun_push((1001, "13812345678", "TP 1234"), (1002, "13812340000", "投票５６７８"))

    response = client.post(
        f"/api/sms/inbound/aliyun/{ALIYUN_TOKEN}/", data=body, content_type="application/json"
    )

    assert (response.status_code, response.json()) == (200, {"code": 0, "msg": "成功"})
    assert sorted(Vote.objects.values_list("provider_message_id", "contestant_id")) == [
        ("aliyun:1001", voting.alice.pk),
        ("aliyun:1002", voting.bob.pk),
    ]
    inbound = InboundSms.objects.get(message_id="1001")
    assert inbound.received_at.isoformat() == "2026-11-23T02:20:22+00:00"
    assert recorded()["inbound"] == [
        ("aliyun", "1001", "counted", ""),
        ("aliyun", "1002", "counted", ""),
    ]
    assert recorded()["outbox"] == [
        ("vote_receipt", "138****5678"),
        ("vote_receipt", "138****0000"),
    ]


def test_a_repeated_aliyun_sequence_id_is_a_duplicate(client, voting, aliyun_token):
    body = aliyun_push((1001, "13812345678", "TP 1234"))
    url = f"/api/sms/inbound/aliyun/{ALIYUN_TOKEN}/"
    client.post(url, data=body, content_type="application/json")

    response = client.post(url, data=body, content_type="application/json")

    assert response.json() == {"code": 0, "msg": "成功"}
    assert recorded() == {
        "inbound": [("aliyun", "1001", "counted", "")],
        "votes": ["aliyun:1001"],
        "outbox": [("vote_receipt", "138****5678")],
    }


@pytest.mark.parametrize("token", ["wrong-token", ALIYUN_TOKEN + "x", ALIYUN_TOKEN[:-1]])
def test_a_wrong_aliyun_token_is_403_and_records_nothing(client, voting, aliyun_token, token):
    body = aliyun_push((1001, "13812345678", "TP 1234"))

    response = client.post(
        f"/api/sms/inbound/aliyun/{token}/", data=body, content_type="application/json"
    )

    assert (response.status_code, response.json()["code"]) == (403, "bad_signature")
    assert recorded() == NOTHING


def test_the_aliyun_token_may_come_in_a_header_instead_of_the_url(client, voting, aliyun_token):
    body = aliyun_push((1001, "13812345678", "TP 1234"))

    response = client.post(
        "/api/sms/inbound/aliyun/",
        data=body,
        content_type="application/json",
        HTTP_X_CALLBACK_TOKEN=ALIYUN_TOKEN,
    )

    assert (response.status_code, response.json()) == (200, {"code": 0, "msg": "成功"})
    assert recorded()["votes"] == ["aliyun:1001"]


@pytest.mark.parametrize(
    ("path", "header"),
    [
        ("/api/sms/inbound/aliyun/", None),
        ("/api/sms/inbound/aliyun/", "wrong-token"),
        (f"/api/sms/inbound/aliyun/{ALIYUN_TOKEN}/", "wrong-token"),
    ],
    ids=["no-token", "wrong-header", "wrong-header-right-url"],
)
def test_a_missing_or_wrong_aliyun_header_token_is_403(client, voting, aliyun_token, path, header):
    headers = {} if header is None else {"HTTP_X_CALLBACK_TOKEN": header}

    response = client.post(
        path,
        data=aliyun_push((1001, "13812345678", "TP 1234")),
        content_type="application/json",
        **headers,
    )

    assert (response.status_code, response.json()["code"]) == (403, "bad_signature")
    assert recorded() == NOTHING


def test_aliyun_without_a_configured_token_refuses_everything(client, voting, settings):
    settings.SMS_ALIYUN_CALLBACK_TOKEN = ""

    response = client.post(
        "/api/sms/inbound/aliyun/anything/",
        data=aliyun_push((1, "13812345678", "TP 1234")),
        content_type="application/json",
    )

    assert (response.status_code, response.json()["code"]) == (403, "bad_signature")
    assert recorded() == NOTHING


def test_an_aliyun_body_that_is_not_an_array_is_400(client, voting, aliyun_token):
    response = client.post(
        f"/api/sms/inbound/aliyun/{ALIYUN_TOKEN}/",
        data=b'{"phone_number": "13812345678"}',
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert (response.status_code, response.json()) == (
        400,
        {"code": "bad_request", "detail": "The request body must be a JSON array."},
    )
    assert recorded() == NOTHING
