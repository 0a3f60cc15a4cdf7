"""The body of ``POST /api/votes/``, read by hand on the hot path.

A DRF serializer builds and deep-copies its fields on every request (about a millisecond a
vote, docs/benchmarks.md, "Web vote ingest"), more than the vote's own statements cost.
``parse_vote_body`` reads a well-formed body with plain checks, each the rule of the
corresponding ``CastVoteInputSerializer`` field, and hands anything else to that
serializer, which words the error exactly as before (or accepts an unusual but valid
form, such as a phone number sent as a JSON number). So the answers are the serializer's
for every input, and the serializer stays the request's OpenAPI schema; a test runs both
on the same generated bodies and holds them equal.
"""

import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from rest_framework.serializers import Serializer

from staff.identifiers import candidate_lookup
from voting.api.serializers import (
    PHONE_MAX_CHARS,
    VOTE_CHANNELS,
    VOTER_TOKEN_MAX_CHARS,
    CastVoteInputSerializer,
    strict_id,
)
from voting.choices import OTP_DIGITS, VoteChannel
from voting.exceptions import BadInputError

# Each input field's error code (``bad_request`` for anything else), for every voting view.
FIELD_ERROR_CODES = {
    "phone": "bad_phone",
    "code": "bad_code",
    "stage": "bad_stage",
    "employee_no": "bad_employee_no",
    "voter_token": "bad_token",
    "channel": "bad_channel",
}
_OTP_CODE = re.compile(rf"[0-9]{{{OTP_DIGITS}}}")
# The fields a vote body may have; any other key is ignored (as by the serializer).
_FIELDS = ("stage", "employee_no", "phone", "code", "voter_token", "channel")


@dataclass(frozen=True)
class VoteInput:
    """A valid vote body: ``voter_token``, or ``phone`` and ``code``."""

    stage: int
    employee_no: str
    channel: str
    voter_token: str | None = None
    phone: str | None = None
    code: str | None = None


def _text(value: Any, max_chars: int) -> str | None:
    """A ``CharField``'s value (trimmed, not blank, at most ``max_chars``) or ``None``."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if 0 < len(value) <= max_chars else None


def _plain(data: dict[str, Any]) -> VoteInput | None:
    """The body when every field present is in its plain form, else ``None``."""
    stage = strict_id(data.get("stage"))
    found = candidate_lookup(data.get("employee_no"))
    if stage is None or found is None:
        return None
    values: dict[str, str | None] = {}
    for name, max_chars in (("voter_token", VOTER_TOKEN_MAX_CHARS), ("phone", PHONE_MAX_CHARS)):
        if name in data:
            values[name] = _text(data[name], max_chars)
            if values[name] is None:
                return None
    if "code" in data:
        code = data["code"].strip() if isinstance(data["code"], str) else ""
        if not _OTP_CODE.fullmatch(code):
            return None
        values["code"] = code
    channel = data.get("channel", VoteChannel.WEB)
    if not isinstance(channel, str) or channel not in VOTE_CHANNELS:
        return None
    if "voter_token" not in values and ("phone" not in values or "code" not in values):
        return None
    return VoteInput(stage=stage, employee_no=found[1], channel=str(channel), **values)


def validated_input(serializer_class: type[Serializer], data: Any) -> dict[str, Any]:
    """``data`` validated by ``serializer_class``, or ``BadInputError`` with the code of the
    first bad field (``FIELD_ERROR_CODES``)."""
    if not isinstance(data, dict):
        raise BadInputError("bad_request", _("The request body must be a JSON object."))
    serializer = serializer_class(data=data)
    if serializer.is_valid():
        return dict(serializer.validated_data)
    field, messages = next(iter(serializer.errors.items()))
    message = messages[0] if isinstance(messages, list) and messages else messages
    if field not in FIELD_ERROR_CODES:
        raise BadInputError("bad_request", str(message))
    raise BadInputError(FIELD_ERROR_CODES[field], f"{field}: {message}")


def parse_vote_body(data: Any) -> VoteInput:
    """The vote body ``data`` (decoded JSON), or ``BadInputError`` as ``validated_input``
    gives it for ``CastVoteInputSerializer``."""
    parsed = _plain(data) if isinstance(data, dict) else None
    if parsed is not None:
        return parsed
    valid = validated_input(CastVoteInputSerializer, data)
    return VoteInput(**{name: valid[name] for name in _FIELDS if name in valid})
