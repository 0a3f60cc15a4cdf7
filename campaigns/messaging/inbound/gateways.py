"""Gateway adapters: authenticate an inbound SMS webhook and turn its payload into
``InboundMessage`` rows for ``campaigns.messaging.inbound.router.route_sms_batch``.

* **generic** — ``X-Timestamp`` (unix seconds, ASCII digits only: a float,
  a sign or spaces are refused) within ``SMS_INBOUND_MAX_SKEW`` (300 s) of this server's
  clock, and ``X-Signature: sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<raw
  body>"`` under ``SMS_INBOUND_SECRET``, over the raw bytes as received (a re-serialised
  body does not verify). The prefix must be exactly ``sha256=``; the hex digest is
  accepted in lower or upper case (it is lower-cased, then compared in constant time).
* **twilio** — ``X-Twilio-Signature``: base64 of the HMAC-SHA1, keyed with
  ``SMS_TWILIO_AUTH_TOKEN``, of the full URL Twilio requested (scheme, host, path and
  query string) followed by every POST parameter, sorted by name, as name + value
  (Twilio's "Validating requests" recipe). The URL is tried as seen, without its port,
  and with the scheme's default port when it names none (``https://host:443/…`` and
  ``https://host/…`` both verify), as Twilio's own validators do. It is ``SMS_PUBLIC_BASE_URL`` + the request's path when that setting is
  set (a proxy that rewrites the Host header or terminates TLS); otherwise it is what
  Django sees, so behind a TLS proxy ``SECURE_PROXY_SSL_HEADER`` must be set or every
  request is refused.
* **aliyun** — the upstream-message push (an array of ``{phone_number, send_time,
  content, sign_name, dest_code, sequence_id}``) is unsigned: it is authenticated by a
  secret token (``SMS_ALIYUN_CALLBACK_TOKEN``), compared in constant time, given in an
  ``X-Callback-Token`` header or as the last segment of the callback URL. The logging
  filter (``config.logfilters``) keeps the URL form out of every log line Django writes. ``sequence_id`` is the message id.

An empty secret refuses every request: an unconfigured gateway never accepts unsigned
votes. Refusals raise ``BadSignatureError`` (403) before anything is parsed or stored.

Envelope errors of a JSON body raise ``WebhookInputError`` (400): ``parse_error`` (not JSON,
not UTF-8, nested too deep), ``bad_request`` (not an object / array as expected),
``bad_messages`` (``messages`` missing or not a list), ``batch_too_large`` (over 1,000).
A message with a bad field is the message's own result (pinned): no usable ``id`` →
``refused``/``bad_message``, not recorded; ``from`` not a mainland mobile →
``refused``/``bad_phone``; ``text`` missing, not a string or holding a lone surrogate →
``refused``/``bad_text``. ``to`` must be a string if present; ``received_at`` (ISO 8601,
or unix seconds) is informational and ignored when unreadable.
"""

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from campaigns.messaging.exceptions import BadSignatureError, WebhookInputError
from campaigns.messaging.inbound.router import MAX_BATCH, MESSAGE_ID_MAX_CHARS, InboundMessage

logger = logging.getLogger(__name__)

_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)
SIGNATURE_PREFIX = "sha256="


def _refuse(reason: str) -> BadSignatureError:
    logger.warning("security: inbound SMS webhook refused (%s)", reason)
    return BadSignatureError(_("The request signature is missing, wrong or too old."))


def sign_generic(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Signature`` header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def verify_generic(headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> None:
    """Check the generic webhook's timestamp and signature; raise ``BadSignatureError``."""
    secret = settings.SMS_INBOUND_SECRET
    if not secret:
        raise _refuse("SMS_INBOUND_SECRET is not set")
    timestamp = headers.get("X-Timestamp") or ""
    signature = headers.get("X-Signature") or ""
    if not _TIMESTAMP.fullmatch(timestamp):
        raise _refuse("missing or malformed X-Timestamp")
    server_now = int(time.time() if now is None else now)
    if abs(server_now - int(timestamp)) > settings.SMS_INBOUND_MAX_SKEW:
        logger.warning(
            "security: inbound SMS timestamp %s is %d s from server time %d",
            timestamp,
            int(timestamp) - server_now,
            server_now,
        )
        raise _refuse("stale timestamp")
    if not signature.startswith(SIGNATURE_PREFIX):
        raise _refuse("missing signature or wrong algorithm prefix")
    given = signature[len(SIGNATURE_PREFIX) :]
    if not _HEX_DIGEST.fullmatch(given):
        raise _refuse("signature is not a hex SHA-256 digest")
    expected = sign_generic(secret, timestamp, body)[len(SIGNATURE_PREFIX) :]
    if not hmac.compare_digest(expected, given.lower()):
        raise _refuse("wrong signature")


def twilio_signature(auth_token: str, url: str, params: Mapping[str, list[str]]) -> str:
    """Twilio's ``X-Twilio-Signature`` for a POST to ``url`` with form ``params``."""
    payload = url + "".join(
        name + value for name in sorted(params) for value in sorted(params[name])
    )
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _url_variants(url: str) -> list[str]:
    """The URLs a Twilio signature may cover, as Twilio's own validators try them: the URL
    as seen, and the same URL without its port when it names one or with the scheme's
    default port (``:443``, ``:80``) when it names none. Twilio signs the URL as it was
    configured, which may or may not name the port the request came in on."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets in the netloc
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    try:
        port = parts.port
    except ValueError:  # a port that is no number: only the URL as seen can match
        return [url]
    if port is not None:
        return [url, urlunsplit(parts._replace(netloc=prefix + host))]
    default = _DEFAULT_PORTS.get(parts.scheme)
    if default is None:
        return [url]
    return [url, urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}"))]


def public_url(full_path: str) -> str:
    """The URL a gateway requested: ``SMS_PUBLIC_BASE_URL`` followed by the request's
    path and query (behind a proxy that rewrites the Host header or the scheme), or ""
    when the setting is empty and the URL Django rebuilds from the request is the one."""
    base = settings.SMS_PUBLIC_BASE_URL.rstrip("/")
    return f"{base}{full_path}" if base else ""


def verify_twilio(url: str, params: Mapping[str, list[str]], signature: str) -> None:
    """Check ``X-Twilio-Signature`` against the full URL and form fields; raise
    ``BadSignatureError``."""
    token = settings.SMS_TWILIO_AUTH_TOKEN
    if not token:
        raise _refuse("SMS_TWILIO_AUTH_TOKEN is not set")
    if not signature:
        raise _refuse("missing X-Twilio-Signature")
    for candidate in _url_variants(url):
        if hmac.compare_digest(twilio_signature(token, candidate, params), signature):
            return
    raise _refuse("wrong Twilio signature")


def verify_aliyun_token(token: str) -> None:
    """Check the secret token of Aliyun's callback URL; raise ``BadSignatureError``."""
    expected = settings.SMS_ALIYUN_CALLBACK_TOKEN
    if not expected:
        raise _refuse("SMS_ALIYUN_CALLBACK_TOKEN is not set")
    if not hmac.compare_digest(expected.encode(), token.encode()):
        raise _refuse("wrong Aliyun callback token")


def load_json(body: bytes) -> Any:
    """The decoded JSON body, or ``WebhookInputError`` (``parse_error``)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise WebhookInputError("parse_error", _("The request body is not valid JSON.")) from exc


def _check_size(messages: list[Any]) -> None:
    if len(messages) > MAX_BATCH:
        raise WebhookInputError(
            "batch_too_large",
            _("At most %(n)s messages per request.") % {"n": MAX_BATCH},
        )


def _message_id(value: object) -> str | None:
    """A usable message id: a string or integer, 1-100 characters, no NUL, encodable."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    if not 0 < len(text) <= MESSAGE_ID_MAX_CHARS or "\x00" in text:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text


# A provider's clock stamp is kept only when it is a real moment: UTC offsets in use stop at
# ±14 h, and anything outside these years is junk that PostgreSQL (offsets past ±15:59) or
# Python (past year 9999 in UTC) could not even store.
_RECEIVED_AT_MAX_OFFSET = dt.timedelta(hours=14)
_RECEIVED_AT_YEARS = range(2000, 2100)


def _received_at(value: object) -> dt.datetime | None:
    """The provider's ``received_at`` as an aware UTC moment, or ``None`` when it is
    unreadable or not a plausible moment (it is informational: never a refusal)."""
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            moment = dt.datetime.fromtimestamp(value, tz=dt.UTC)
        elif isinstance(value, str):
            moment = parse_datetime(value.strip())
            if moment is None:
                return None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
        else:
            return None
        offset = moment.utcoffset()
        if offset is None or abs(offset) > _RECEIVED_AT_MAX_OFFSET:
            return None
        moment = moment.astimezone(dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.year in _RECEIVED_AT_YEARS else None


class _ReceivedAt:
    """``_received_at`` for one batch, once per distinct stamp: a gateway's batch holds a
    few seconds' worth of messages, stamped alike."""

    def __init__(self) -> None:
        self.seen: dict[tuple[type, object], dt.datetime | None] = {}

    def __call__(self, value: object) -> dt.datetime | None:
        if not isinstance(value, int | str):
            return _received_at(value)
        key = (type(value), value)  # the type too: True == 1, and True is no stamp
        if key not in self.seen:
            self.seen[key] = _received_at(value)
        return self.seen[key]


def _text_field(value: object) -> str:
    return value if isinstance(value, str) else ""


def generic_messages(payload: Any) -> list[InboundMessage]:
    """The messages of a generic webhook body (module docstring for the errors)."""
    if not isinstance(payload, dict):
        raise WebhookInputError("bad_request", _("The request body must be a JSON object."))
    messages = payload.get("messages")
    if not isinstance(messages, list):
        raise WebhookInputError("bad_messages", _("messages must be a list of messages."))
    _check_size(messages)
    parsed = []
    received_at = _ReceivedAt()
    for message in messages:
        if not isinstance(message, dict):
            parsed.append(InboundMessage(id=None, sender="", text=None))
            continue
        to = message.get("to", "")
        parsed.append(
            InboundMessage(
                id=_message_id(message.get("id")) if isinstance(to, str) else None,
                sender=message.get("from"),
                text=message.get("text"),
                to=_text_field(to),
                received_at=received_at(message.get("received_at")),
            )
        )
    return parsed


def twilio_messages(params: Mapping[str, list[str]]) -> list[InboundMessage]:
    """The one message of a Twilio webhook (``MessageSid``, ``From``, ``To``, ``Body``)."""

    def first(name: str) -> str | None:
        values = params.get(name) or [None]
        return values[0]

    return [
        InboundMessage(
            id=_message_id(first("MessageSid") or first("SmsSid")),
            sender=first("From") or "",
            text=first("Body"),
            to=first("To") or "",
        )
    ]


def aliyun_messages(payload: Any) -> list[InboundMessage]:
    """The messages of an Aliyun upstream push (a JSON array), ``sequence_id`` as id."""
    if not isinstance(payload, list):
        raise WebhookInputError("bad_request", _("The request body must be a JSON array."))
    _check_size(payload)
    parsed = []
    received_at = _ReceivedAt()
    for message in payload:
        if not isinstance(message, dict):
            parsed.append(InboundMessage(id=None, sender="", text=None))
            continue
        parsed.append(
            InboundMessage(
                id=_message_id(message.get("sequence_id")),
                sender=message.get("phone_number"),
                text=message.get("content"),
                to=_text_field(message.get("dest_code")),
                received_at=received_at(message.get("send_time")),
            )
        )
    return parsed
