"""Bad input refused before any view: nested JSON, oversized bodies, bad headers, NUL bytes
(config.middleware, config.parsers; issue 13 items 1, 2, 3 and 12)."""

import io
import json
import re

import pytest
from django.contrib import admin
from django.test import Client, override_settings
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError

from config.api import BodyTooLarge, BoundedJSONParser, loads_json
from config.parsers import json_nesting_depth
from tests.campaigns.messaging.conftest import signed_headers

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
DEEP_ARRAY = b"[" * 2000 + b"]" * 2000
DEEP_OBJECT = b'{"a":' * 2000 + b"1" + b"}" * 2000
TOO_DEEP = {"code": "parse_error", "detail": "The request body is nested too deeply."}
TOO_LARGE = {"code": "body_too_large", "detail": "The request body is too large."}
BAD_HEADER = {"code": "bad_header", "detail": "A request header has an invalid value."}
ALIYUN_TOKEN = "aliyun-token-for-tests"


def json_endpoints() -> list[tuple[str, str]]:
    """Every (method, path) of the OpenAPI schema whose request body is JSON, ids filled."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for template, operations in schema["paths"].items():
        path = template.replace("{token}", ALIYUN_TOKEN)
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                found.append((method.upper(), path.replace("{id}", "1")))
    return sorted(found)


JSON_ENDPOINTS = json_endpoints()


def test_the_schema_lists_the_json_endpoints():
    assert {path for _method, path in JSON_ENDPOINTS} >= {
        "/api/otp/",
        "/api/otp/verify/",
        "/api/votes/",
        "/api/sms/inbound/",
        f"/api/sms/inbound/aliyun/{ALIYUN_TOKEN}/",
    }


@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
@override_settings(SMS_ALIYUN_CALLBACK_TOKEN=ALIYUN_TOKEN)
def test_deeply_nested_json_is_a_parse_error_on_every_json_endpoint(client, method, path, body):
    response = client.generic(
        method, path, body, content_type="application/json", **signed_headers(body), **EN
    )

    assert (response.status_code, response.json()) == (400, TOO_DEEP)


@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
@override_settings(SMS_ALIYUN_CALLBACK_TOKEN=ALIYUN_TOKEN)
def test_a_body_over_the_limit_is_body_too_large_on_every_json_endpoint(client, method, path):
    body = b'{"phone": "' + b"1" * 3_000_000 + b'"}'

    response = client.generic(method, path, body, content_type="application/json", **EN)

    assert (response.status_code, response.json()) == (413, TOO_LARGE)


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_IDEMPOTENCY_KEY": "abc\x00def"},
        {"HTTP_IDEMPOTENCY_KEY": "line\r\nbreak"},
        {"HTTP_X_TIMESTAMP": "\x7f"},
        {"CONTENT_LENGTH": "12abc"},
    ],
    ids=["nul", "crlf", "del", "length"],
)
def test_an_invalid_header_value_under_api_is_bad_header(client, headers):
    response = client.post(
        "/api/votes/", b'{"stage": 1}', content_type="application/json", **headers, **EN
    )

    assert (response.status_code, response.json()) == (400, BAD_HEADER)


def test_a_disallowed_host_under_api_is_bad_header_in_json(client):
    response = client.get("/api/campaigns/", HTTP_HOST="evil.example", **EN)

    assert (response.status_code, response.json()) == (400, BAD_HEADER)


def test_a_disallowed_host_outside_api_keeps_the_html_page(client):
    response = client.get("/campaigns/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_a_tab_in_a_header_value_is_allowed(client):
    response = client.get("/api/campaigns/", HTTP_X_NOTE="a\tb", **EN)

    assert (response.status_code, response.json()["count"]) == (200, 0)


def test_json_just_within_the_depth_limit_reaches_the_view(client, settings):
    depth = settings.API_JSON_MAX_DEPTH
    body = b'{"phone": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"

    # An address of its own: the OTP throttle counts per IP in a shared cache.
    response = client.post(
        "/api/otp/", body, content_type="application/json", REMOTE_ADDR="10.31.0.1", **EN
    )

    assert response.status_code == 400
    assert response.json()["code"] == "bad_phone"


@pytest.mark.parametrize(
    "path",
    [
        "/api/stages/a%0Ab/leaderboard/",  # a line feed
        "/api/stages/a%0D%0Ai/leaderboard/",
        "/api/no-such-thing%0A",  # one at the very end
        "/api/%0A",
    ],
)
def test_an_unknown_api_path_with_line_breaks_is_the_json_404(client, path):
    response = client.get(path, **EN)

    assert (response.status_code, response.json()) == (
        404,
        {"code": "not_found", "detail": "Not found."},
    )


def test_post_to_an_unknown_api_path_is_the_json_404_even_with_csrf_checks():
    client = Client(enforce_csrf_checks=True)

    response = client.post("/api/no-such-thing/", "{}", content_type="application/json", **EN)

    assert (response.status_code, response.json()) == (
        404,
        {"code": "not_found", "detail": "Not found."},
    )


@pytest.mark.parametrize(
    "path",
    ["/campaigns/1/candidates/%00/", "/campaigns/1/candidates/100001%00/", "/vote/1/%00/"],
)
def test_a_nul_byte_in_a_page_path_segment_is_a_404(client, path):
    response = client.get(path)

    assert response.status_code == 404


def test_a_nul_byte_in_an_admin_path_or_query_is_refused(admin_client):
    admin_client.raise_request_exception = False

    path = admin_client.get("/admin/staff/staffmember/1%00/change/")
    query = admin_client.get("/admin/staff/staffmember/?q=a%00b")

    assert (path.status_code, query.status_code) == (404, 400)


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"{}", 1),
        (b"[[1, [2]], {}]", 3),
        (b'{"text": "[[[[[[[[[["}', 1),
        (b'{"text": "escaped \\" [[[[ quote"}', 1),
        (b'"unterminated [[[[', 0),
        (b'"\\"' * 10_000, 0),
        (b"1", 0),
    ],
)
def test_json_nesting_depth_ignores_brackets_inside_strings(body, depth):
    assert json_nesting_depth(body, limit=32) == depth


def test_json_nesting_depth_stops_counting_past_the_limit():
    assert json_nesting_depth(DEEP_ARRAY, limit=32) == 33


# The scan as it was before the fast path: every JSON string removed by one match each,
# then every byte but the brackets. The fast path and the new scan must agree with it on
# any bytes at all, JSON or not.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def reference_depth(body: bytes, *, limit: int) -> int:
    depth = deepest = 0
    for byte in _STRING.sub(b"", body).translate(None, _NOT_A_BRACKET):
        depth += 1 if byte in b"[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
    return deepest


@given(st.lists(st.sampled_from([b'"', b"\\", b"[", b"]", b"{", b"}", b"a", b"u", b" "])))
@hypothesis_settings(max_examples=3000, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_json_nesting_depth_agrees_with_the_plain_scan_on_any_bytes(parts):
    body = b"".join(parts)

    assert json_nesting_depth(body, limit=4) == reference_depth(body, limit=4)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab"\\[]{}投\n'),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(alphabet='a"\\[{'), inner),
)


@given(json_values, st.booleans())
@hypothesis_settings(max_examples=500, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_json_nesting_depth_agrees_with_the_plain_scan_on_json(value, ascii_only):
    body = json.dumps(value, ensure_ascii=ascii_only).encode()

    assert json_nesting_depth(body, limit=32) == reference_depth(body, limit=32)


def test_loads_json_refuses_deep_invalid_and_non_standard_json():
    assert loads_json(b'{"a": [1, 2]}') == {"a": [1, 2]}
    for body in (DEEP_ARRAY, b"{", b"NaN", b'{"a": Infinity}', b"\xff"):
        with pytest.raises(ParseError):
            loads_json(body)


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10, API_JSON_MAX_DEPTH=4)
def test_the_parser_bounds_the_body_it_reads_itself():
    parser = BoundedJSONParser()

    assert parser.parse(io.BytesIO(b"[1, 2, 3]")) == [1, 2, 3]
    with pytest.raises(BodyTooLarge):
        parser.parse(io.BytesIO(json.dumps(list(range(10))).encode()))
    with pytest.raises(ParseError):
        parser.parse(io.BytesIO(b"[" * 5 + b"]" * 5), parser_context={})


def changelist_queries() -> list[tuple[str, str]]:
    """(changelist URL, query) for every admin list filter and search, with a NUL value."""
    found = []
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        names = ["q"] if model_admin.search_fields else []
        for entry in model_admin.list_filter:
            field = entry[0] if isinstance(entry, tuple) else entry
            names.append(
                field.parameter_name if hasattr(field, "parameter_name") else f"{field}__exact"
            )
        found += [(url, f"{name}=a%00b") for name in names]
    return found


@pytest.mark.parametrize(("url", "query"), changelist_queries())
def test_admin_list_filters_and_searches_with_a_nul_are_a_400(admin_client, url, query):
    admin_client.raise_request_exception = False

    response = admin_client.get(f"{url}?{query}")

    assert response.status_code == 400
