"""Fixtures of the SMS messaging tests: signed posts to the generic webhook, message dicts,
an English HR client, and the voting fixtures (the webhooks are exercised end to end with
the vote handler that voting registers, as in production)."""

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import translation

from campaigns.messaging.inbound.gateways import sign_generic
from campaigns.messaging.models import InboundSms, OutboundSms
from tests.voting.conftest import (  # noqa: F401 -- fixtures shared with the voting tests
    _quiet_broker_and_fresh_throttles,
    frozen_now,
    voting,
)
from voting.models import Vote

SECRET = "test-sms-inbound-secret"  # config/settings/test.py
URL = "/api/sms/inbound/"


def message(
    id: str, text: str = "TP 1234", sender: str = "13812345678", **extra: Any
) -> dict[str, Any]:
    return {"id": id, "from": sender, "to": "10690000", "text": text, **extra}


def signed_headers(body: bytes, *, timestamp: int | None = None, secret: str = SECRET) -> dict:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "HTTP_X_TIMESTAMP": stamp,
        "HTTP_X_SIGNATURE": sign_generic(secret, stamp, body),
    }


def in_zh(text: Callable[[], str]) -> str:
    """A message as the default (Chinese) reply renders it."""
    with translation.override("zh-hans"):
        return str(text())


@pytest.fixture
def post_signed(client):
    """POST a payload (dict, list or raw bytes) to the generic webhook, correctly signed."""

    def post(payload: Any, **headers: str):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return client.post(
            URL, data=body, content_type="application/json", **{**signed_headers(body), **headers}
        )

    return post


@pytest.fixture
def hr(admin_client):
    """The superuser "hr" with pages in English (requests default to Chinese)."""
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return admin_client


def recorded() -> dict[str, list]:
    """Everything an inbound delivery may write, in a comparable form."""
    inbound = InboundSms.objects.order_by("provider", "message_id")
    return {
        "inbound": list(inbound.values_list("provider", "message_id", "status", "code")),
        "votes": sorted(Vote.objects.values_list("provider_message_id", flat=True)),
        "outbox": list(OutboundSms.objects.order_by("pk").values_list("template", "phone_masked")),
    }


NOTHING = {"inbound": [], "votes": [], "outbox": []}
