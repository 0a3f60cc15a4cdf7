"""Arbitrary bytes to every JSON endpoint: never a 5xx, always a JSON answer, and every
4xx in the contract's shape (issue 13 item 15).

The endpoints come from the OpenAPI schema (every operation with a JSON request body), so
one added later is fuzzed too. The generic SMS webhook gets each body correctly signed and
Aliyun's push its URL token, so the bytes reach the decoder, not only the signature check.
"""

import hashlib
import hmac
import json
import time

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.config.test_request_guards import ALIYUN_TOKEN, JSON_ENDPOINTS

pytestmark = pytest.mark.django_db

SMS_SECRET = "test-sms-inbound-secret"  # config/settings/test.py
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)
BODIES = st.one_of(
    st.binary(max_size=300),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.integers(min_value=1, max_value=3000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.sampled_from([b"", b"{", b'{"a":NaN}', b"\xef\xbb\xbf{}", b'"\\ud800"', b"\x00"]),
)


def signature_headers(body: bytes) -> dict[str, str]:
    """The generic webhook's X-Timestamp / X-Signature for these bytes."""
    stamp = str(int(time.time()))
    digest = hmac.new(SMS_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    return {"HTTP_X_TIMESTAMP": stamp, "HTTP_X_SIGNATURE": f"sha256={digest.hexdigest()}"}


@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
@override_settings(SMS_ALIYUN_CALLBACK_TOKEN=ALIYUN_TOKEN)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=BODIES)
def test_arbitrary_bytes_get_a_json_answer_and_never_a_5xx(method, path, body):
    client = Client(raise_request_exception=False)

    response = client.generic(
        method, path, body, content_type="application/json", **signature_headers(body)
    )

    assert response.status_code < 500, (body, response.status_code, response.content[:200])
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    payload = json.loads(response.content)
    if response.status_code >= 400:
        assert isinstance(payload, dict)
        assert isinstance(payload.get("code"), str)
        assert isinstance(payload.get("detail"), str)
