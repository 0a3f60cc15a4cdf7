"""Schemathesis over the whole ``/api/`` OpenAPI schema, in process (Django's WSGI app).

Every operation gets up to ``MAX_EXAMPLES`` generated requests (plus the schema's own
examples). Checks: no 5xx (``not_a_server_error``) and every 4xx body is the contract's
error shape ``{"code": str, "detail": str}``. An open stage with two
contestants exists, and about half of the generated ids are replaced by real ones, so
the valid paths (a listed stage, a known campaign, a real candidate) are reached too. The
generic SMS webhook's bodies are signed and Aliyun's push gets its token (``_signed``).
"""

import datetime as dt
import hashlib
import hmac
import json
import time

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from campaigns.clock import db_now
from tests.factories.campaigns import ContestantFactory, StageFactory
from tests.factories.staff import StaffMemberFactory

MAX_EXAMPLES = 25
SMS_SECRET = "test-sms-inbound-secret"  # config/settings/test.py
ALIYUN_TOKEN = "fuzz-aliyun-token"

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@schemathesis.check
def error_shape(ctx, response, case) -> None:
    """A 4xx answer has the contract's body: ``{"code": str, "detail": str, ...}``."""
    if not 400 <= response.status_code < 500:
        return
    try:
        body = json.loads(response.content or b"null")
    except ValueError as exc:
        raise AssertionError(f"{response.status_code} body is not JSON") from exc
    assert isinstance(body, dict), f"{response.status_code} body is not an object: {body!r}"
    assert isinstance(body.get("code"), str), f"no string code: {body!r}"
    assert isinstance(body.get("detail"), str), f"no string detail: {body!r}"


@pytest.fixture
def open_stage(db):
    now = db_now()
    stage = StageFactory(
        open=True, opens_at=now - dt.timedelta(days=1), closes_at=now + dt.timedelta(days=1)
    )
    for number in ("1234", "5678"):
        ContestantFactory(stage=stage, staff_member=StaffMemberFactory(employee_no=number))
    return stage


def _real_ids(case, stage) -> None:
    """Point about half of the generated ids at the real stage and campaign."""
    real = {"stage_id": stage.pk, "id": stage.campaign_id, "stage": stage.pk}
    for name, value in list((case.path_parameters or {}).items()):
        if isinstance(value, int) and value % 2 == 0 and name in real:
            case.path_parameters[name] = real[name]
    body = case.body if isinstance(case.body, dict) else {}
    if isinstance(body.get("stage"), int) and body["stage"] % 2 == 0:
        body["stage"] = stage.pk
        body["employee_no"] = "1234"


def _signed(case) -> dict:
    """For the generic SMS webhook: the generated body as bytes, correctly signed, so the
    fuzzed messages reach ingestion.
    Aliyun's push gets its URL token half of the time."""
    if case.path == "/api/sms/inbound/aliyun/{token}/" and len(str(case.body)) % 2 == 0:
        case.path_parameters["token"] = ALIYUN_TOKEN
    if (
        case.path != "/api/sms/inbound/"
        or case.body is None
        or not isinstance(case.body, dict | list)
    ):
        return {}
    body = json.dumps(case.body).encode()
    stamp = str(int(time.time()))
    digest = hmac.new(SMS_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    return {
        "data": body,
        "headers": {"X-Timestamp": stamp, "X-Signature": f"sha256={digest.hexdigest()}"},
    }


@pytest.mark.django_db(transaction=True)
@override_settings(SMS_ALIYUN_CALLBACK_TOKEN=ALIYUN_TOKEN)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_never_fails_and_errors_have_the_contract_shape(case, open_stage):
    _real_ids(case, open_stage)

    case.call_and_validate(checks=[not_a_server_error, error_shape], **_signed(case))
