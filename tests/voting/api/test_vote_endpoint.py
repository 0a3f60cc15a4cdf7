"""``POST /api/votes/`` answers byte for byte as DRF's ``CastVoteView`` did on its own.

Every request below is sent twice, in the same state: once through the project's URLs
(the plain view of ``voting.api.vote_endpoint`` in front) and once through URLs that route
the endpoint to ``CastVoteView`` alone (``drf_vote_urls``). Each time in a transaction that
is rolled back, with the throttle counters cleared, the vote ids restarted and the clock
held, so both meet the same ledger; status, headers (in order) and body must be equal.
"""

import json
import re

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.models import Stage
from tests.factories.staff import StaffMemberFactory
from tests.factories.voting import VoteFactory
from tests.voting.api.test_vote_input import _bodies
from tests.voting.conftest import set_limits
from voting.api import throttles, vote_endpoint
from voting.ledger import services as ledger_services
from voting.ledger import sql as ledger_sql
from voting.otp.services import VoterSession, issue_voter_token

pytestmark = pytest.mark.django_db

DRF_URLS = "tests.voting.api.drf_vote_urls"
PHONE = "13812345678"


# The CSRF token as the browsable API's page carries it (Accept: text/html, ?format=api).
_CSRF_TOKEN = re.compile(rb'("csrfToken": "|name="csrfmiddlewaretoken" value=")[A-Za-z0-9]+')
# The receipt codes drawn so far; each answer starts again from zero.
_receipts = [0]


class _UndoError(Exception):
    def __init__(self, response):
        self.response = response


@pytest.fixture
def same_state(voting, frozen_now, monkeypatch):
    """The clock held (the voter token's timestamp) and receipt codes drawn in order. Held at
    the stage's own moment: a fixed date would leave the stage's window behind as the
    calendar moves on (on SQLite the database clock is this clock). On a whole minute, as
    the throttle's window is: its Retry-After is then the full minute."""

    def draw() -> str:
        _receipts[0] += 1
        return f"R{_receipts[0]:09d}"

    monkeypatch.setattr(ledger_sql, "new_receipt_code", draw)
    monkeypatch.setattr(ledger_services, "new_receipt_code", draw)
    with time_machine.travel(frozen_now.replace(second=0, microsecond=0), tick=False):
        yield voting


def _restart_vote_ids() -> None:
    if connection.vendor == "postgresql":  # a sequence ignores the rollback
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(pg_get_serial_sequence('voting_vote', 'id'), 900000)")


def _answer(client, django_settings, urlconf, method, data, content_type, extra):
    django_settings.ROOT_URLCONF = urlconf
    cache.clear()
    throttles.forget_counts()
    _restart_vote_ids()
    _receipts[0] = 0
    try:
        with transaction.atomic():
            path = "/api/votes/" + extra.pop("query", "")
            if method in {"get", "head"}:
                response = getattr(client, method)(path, **extra)
            else:
                response = getattr(client, method)(path, data, content_type, **extra)
            raise _UndoError(response)
    except _UndoError as undo:
        return undo.response


def both(
    client,
    django_settings,
    body=None,
    *,
    method="post",
    content_type="application/json",
    data=None,
    **extra,
):
    """Send the request to the plain view and to DRF's; assert the answers are equal, and
    return the plain view's."""
    if data is None:
        data = json.dumps(body, ensure_ascii=False) if body is not None else ""
    fast, drf = (
        _answer(client, django_settings, urlconf, method, data, content_type, dict(extra))
        for urlconf in ("config.urls", DRF_URLS)
    )
    assert (fast.status_code, list(fast.items()), _unmasked(fast)) == (
        drf.status_code,
        list(drf.items()),
        _unmasked(drf),
    )
    return fast


def _unmasked(response) -> bytes:
    """The body, with the CSRF token of DRF's HTML page (masked at random each time) blanked."""
    return _CSRF_TOKEN.sub(rb"\1", response.content)


def _token(phone_hash="a" * 64, masked="138****5678"):
    return issue_voter_token(VoterSession(voter_hash=phone_hash, phone_masked=masked))


def _vote(setup, **fields):
    return {"stage": setup.stage.pk, "employee_no": "1234", "voter_token": _token(), **fields}


@pytest.mark.parametrize("language", [None, "en", "zh-hans", "zh-CN", "fr", "en;q=0.1, zh"])
def test_a_counted_vote_answers_as_drf(client, settings, same_state, language):
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}

    response = both(client, settings, _vote(same_state), **extra)

    assert response.status_code == 201
    assert response.json()["receipt_code"] == "R000000001"
    assert response["Allow"] == "POST, OPTIONS"


def test_the_plain_view_answers_plain_json_votes_itself(client, settings, same_state, monkeypatch):
    """The corpus below would pass whoever answered: this pins who does."""
    handed_on = []
    monkeypatch.setattr(
        vote_endpoint, "_drf_view", lambda r: handed_on.append(r) or HttpResponse(status=418)
    )

    plain = client.post("/api/votes/", _vote(same_state), "application/json")
    client.post("/api/votes/", "x=1", "application/x-www-form-urlencoded")

    assert plain.status_code == 201
    assert [request.content_type for request in handed_on] == ["application/x-www-form-urlencoded"]


@pytest.mark.parametrize(
    "extra",
    [
        {"HTTP_ACCEPT": "*/*"},
        {"HTTP_ACCEPT": "application/json"},
        {"HTTP_ACCEPT": "application/json; indent=4"},
        {"HTTP_ACCEPT": "text/html"},
        {"HTTP_ACCEPT": "application/xml"},
        {"HTTP_ACCEPT": "text/html;q=0.9, application/json"},
        {"query": "?format=json"},
        {"query": "?format=api"},
        {"query": "?format=xml"},
        {"query": "?x=1"},
        {"HTTP_IDEMPOTENCY_KEY": "order-1.2:3_4"},
        {"HTTP_IDEMPOTENCY_KEY": "bad key!"},
        {"HTTP_IDEMPOTENCY_KEY": "k" * 65},
        {"HTTP_USER_AGENT": "Mozilla/5.0 (Linux; Android 9) 手机"},
        {"HTTP_X_FORWARDED_FOR": "198.51.100.7, 10.0.0.1", "REMOTE_ADDR": "10.0.0.2"},
        {"HTTP_ACCEPT_LANGUAGE": "en", "HTTP_ACCEPT": "application/json"},
    ],
)
def test_headers_and_query_strings_answer_as_drf(client, settings, same_state, extra):
    both(client, settings, _vote(same_state), **extra)


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/json; charset=utf-8", None),
        ("application/vnd.api+json", None),
        ("text/plain", None),
        ("application/x-www-form-urlencoded", "stage=1&employee_no=1234"),
        ("multipart/form-data; boundary=BoUnDaRy", "--BoUnDaRy--\r\n"),
        ("", None),
    ],
)
def test_other_content_types_answer_as_drf(client, settings, same_state, content_type, data):
    body = json.dumps(_vote(same_state)) if data is None else data
    both(client, settings, data=body, content_type=content_type)


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "options", "head"])
def test_other_methods_answer_as_drf(client, settings, same_state, method):
    both(client, settings, _vote(same_state), method=method)


@pytest.mark.parametrize(
    "data",
    [
        "",
        " ",
        "{",
        "null",
        "[]",
        "[1, 2]",
        '"text"',
        "12",
        "true",
        '{"stage": NaN}',
        '{"stage": Infinity, "employee_no": "1234"}',
        "[" * 40 + "]" * 40,
        '{"a":' * 40 + "1" + "}" * 40,
        '{"stage": 1, "employee_no": "\\ud800", "voter_token": "x"}',
        '{"stage": "\\u0000", "employee_no": "1234"}',
        '{"stage": 1}{"stage": 2}',
        "\ufeff{}",
        '{"stage": 1, "stage": 2}',
        "{" + '"k": "' + "x" * 3_000_000 + '"}',
    ],
)
def test_malformed_bodies_answer_as_drf(client, settings, same_state, data):
    both(client, settings, data=data)


def test_bodies_in_other_encodings_answer_as_drf(client, settings, same_state):
    text = json.dumps(_vote(same_state, employee_no="１２３４"), ensure_ascii=False)
    for encoding in ("utf-8", "utf-16", "utf-32", "gb18030", "latin-1"):
        both(client, settings, data=text.encode(encoding, "replace"))


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"stage": None},
        {"stage": True},
        {"stage": 1.5},
        {"stage": -1},
        {"stage": 2**64},
        {"stage": "9" * 19},
        {"stage": [1]},
        {"employee_no": None},
        {"employee_no": 1234},
        {"employee_no": -1},
        {"employee_no": 1234.0},
        {"employee_no": "１２３４"},
        {"employee_no": "9" * 40},
        {"employee_no": "<script>"},
        {"employee_no": {"a": 1}},
        {"employee_no": "4321"},
        {"voter_token": None},
        {"voter_token": ""},
        {"voter_token": "not-a-token"},
        {"voter_token": "x" * 513},
        {"voter_token": 12},
        {"channel": "audience"},
        {"channel": "sms"},
        {"channel": None},
        {"phone": PHONE, "code": "123456", "voter_token": None},
        {"phone": PHONE, "code": "12345"},
        {"phone": "abc", "code": "123456"},
        {"phone": 13812345678, "code": "123456"},
        {"code": 123456},
        {"extra": "ignored", "投票": "✓"},
    ],
)
def test_field_errors_answer_as_drf(client, settings, same_state, fields):
    body = _vote(same_state, **fields)
    for name in [name for name, value in fields.items() if value is None and name != "stage"]:
        body.pop(name)  # None above means "missing" (stage: a JSON null)
    for language in ("en", "zh-hans"):
        both(client, settings, body, HTTP_ACCEPT_LANGUAGE=language)


def test_a_phone_and_code_vote_answers_as_drf(client, settings, same_state):
    body = {"stage": same_state.stage.pk, "employee_no": "1234", "phone": PHONE}
    both(client, settings, {**body, "code": "000000"}, HTTP_ACCEPT_LANGUAGE="en")
    both(client, settings, {**body, "code": "000000"})


@pytest.mark.parametrize(
    ("arrange", "code"),
    [
        (lambda v: Stage.objects.filter(pk=v.stage.pk).update(status="closed"), "stage_closed"),
        (lambda v: Stage.objects.filter(pk=v.stage.pk).delete(), "unknown_stage"),
        (lambda v: StaffMemberFactory(phone=PHONE), "staff_cannot_vote"),
        (
            lambda v: (
                set_limits(v.stage, day=1),
                VoteFactory(stage=v.stage, contestant=v.bob, phone=PHONE),
            ),
            "limit_reached",
        ),
        (lambda v: Stage.objects.filter(pk=v.stage.pk).update(weights={"sms": 1}), "channel"),
        (lambda v: None, "session_expired"),
    ],
)
def test_refusals_answer_as_drf(client, settings, same_state, arrange, code):
    from staff.phones import parse_phone

    arrange(same_state)
    if code == "session_expired":
        settings.VOTING_SESSION_MAX_AGE = -1
    phone = parse_phone(PHONE)
    body = _vote(same_state, voter_token=_token(phone.hash, phone.masked))

    for language in ("en", "zh-hans"):
        response = both(client, settings, body, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code >= 400


def test_a_replayed_idempotency_key_answers_as_drf(client, settings, same_state):
    body = _vote(same_state)
    client.post("/api/votes/", body, "application/json", HTTP_IDEMPOTENCY_KEY="k-1")

    replay = both(client, settings, body, HTTP_IDEMPOTENCY_KEY="k-1")
    other = both(
        client, settings, _vote(same_state, employee_no="5678"), HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert (replay.status_code, replay["Idempotent-Replayed"]) == (201, "true")
    assert other.json()["code"] == "idempotency_conflict"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_throttled_vote_answers_as_drf(client, settings, same_state, language):
    settings.VOTING_API_THROTTLE_RATES = {"votes": "0/min"}

    response = both(client, settings, _vote(same_state), HTTP_ACCEPT_LANGUAGE=language)
    bad_json = both(client, settings, data="{", HTTP_ACCEPT_LANGUAGE=language)

    assert (response.status_code, response.json()["code"]) == (429, "rate_limited")
    assert (response["Retry-After"], bad_json.status_code) == ("60", 429)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=_bodies, over_a_vote=st.booleans(), language=st.sampled_from(["en", "zh-hans"]))
def test_generated_bodies_answer_as_drf(client, settings, same_state, body, over_a_vote, language):
    """Generated fields alone, or over a valid vote (so that some reach the ledger)."""
    if over_a_vote:
        body = {**_vote(same_state), **body}
    both(client, settings, body, HTTP_ACCEPT_LANGUAGE=language)
