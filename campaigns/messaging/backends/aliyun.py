"""Aliyun (Alibaba Cloud) SMS: the ``SendSms`` RPC API with signature version 1.0.

Aliyun sends only approved templates: ``SMS_ALIYUN_TEMPLATES`` maps our template names to
Aliyun template codes (``{"otp": "SMS_123456789", …}``) and ``SMS_ALIYUN_SIGN_NAME`` is the
approved signature. Each request is signed as documented: the parameters sorted by name
and percent-encoded per RFC 3986 form the canonical query; the string to sign is
``POST&%2F&<encoded canonical query>``; the signature is base64 HMAC-SHA1 under
``<AccessKeySecret>&``. ``OutId`` is our outbox id, which delivery reports echo.

How each outcome is recorded (``SendSms`` is not idempotent, so nothing that may have
been sent is ever sent again):

* ``OK`` → sent (the ``BizId`` is the provider message id).
* Flow control (``isv.BUSINESS_LIMIT_CONTROL``, ``Throttling.User``, ``Throttling``, …)
  and a refused connection (nothing reached the gateway) → temporary: retried with the
  sender's capped backoff, a bounded number of times.
* ``InternalError`` (and ``isp.SYSTEM_ERROR``), any HTTP 5xx whatever its body, and every
  other refusal code → permanent failure.
* The outcome is unknown when the request went out and no readable answer came back: a
  timeout while waiting, a connection reset or closed mid-answer, an answer that is not
  JSON or carries no ``Code``. The message is kept ``unknown`` and reconciled by a person
  who checked the gateway's send records for its ``OutId`` (``manage.py sms_reconcile``
  or the outbox's admin action), never retried.

The endpoint must be https; plain http is allowed to a loopback address only (a local
signing proxy, or a test's fake gateway), since the request carries phone numbers.
"""

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping

from django.conf import settings

from campaigns.messaging.backends.base import (
    BaseSmsBackend,
    SmsMessage,
    SmsPermanentError,
    SmsTemporaryError,
    SmsUnknownOutcomeError,
)

# Answers worth retrying later; every other non-OK code is final for the message.
TEMPORARY_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "Throttling.User",
        "Throttling",
        "Throttling.Api",
        "Throttling.Tenant",
        # Our own nonce met an earlier one: nothing was sent, a new nonce is safe.
        "SignatureNonceUsed",
    }
)
MAX_RESPONSE_BYTES = 65_536


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Aliyun's signature expects (space as %20, ``~`` kept)."""
    return urllib.parse.quote(str(value), safe="~")


def sign(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    """The ``Signature`` of ``params`` (everything but ``Signature`` itself)."""
    canonical = "&".join(
        f"{percent_encode(key)}={percent_encode(params[key])}" for key in sorted(params)
    )
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunBackend(BaseSmsBackend):
    def build_params(self, message: SmsMessage, *, now: dt.datetime, nonce: str) -> dict[str, str]:
        """The signed request parameters for ``message`` (exposed for tests)."""
        template_code = settings.SMS_ALIYUN_TEMPLATES.get(message.template)
        if not template_code:
            raise SmsPermanentError(f"no Aliyun template configured for {message.template!r}")
        params = {
            "AccessKeyId": settings.SMS_ALIYUN_ACCESS_KEY_ID,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": str(message.id),
            # Mainland numbers go without the country code.
            "PhoneNumbers": message.to_e164.removeprefix("+86"),
            "RegionId": settings.SMS_ALIYUN_REGION,
            "SignName": settings.SMS_ALIYUN_SIGN_NAME,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce,
            "SignatureVersion": "1.0",
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(
                {key: str(value) for key, value in message.params.items()},
                ensure_ascii=False,
                separators=(",", ":"),
            ),
            "Timestamp": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        params["Signature"] = sign(params, settings.SMS_ALIYUN_ACCESS_KEY_SECRET)
        return params

    def send(self, message: SmsMessage) -> str:
        params = self.build_params(message, now=dt.datetime.now(tz=dt.UTC), nonce=uuid.uuid4().hex)
        endpoint = settings.SMS_ALIYUN_ENDPOINT
        if not _allowed_endpoint(endpoint):
            raise SmsPermanentError("SMS_ALIYUN_ENDPOINT must be an https URL")
        request = urllib.request.Request(  # noqa: S310 -- the scheme is checked above
            endpoint,
            data=urllib.parse.urlencode(params, quote_via=urllib.parse.quote).encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(  # noqa: S310 -- the scheme is checked above
                request, timeout=settings.SMS_HTTP_TIMEOUT
            ) as response:
                raw = response.read(MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as exc:
            # Aliyun answers errors with a JSON body and a 4xx/5xx status.
            raw = _read_error_body(exc)
            if exc.code >= 500:
                raise SmsPermanentError(_refusal_detail(f"HTTP {exc.code}", raw)) from exc
            return self.read_answer(raw, refused=True)
        except urllib.error.URLError as exc:
            # Raised while connecting or sending the request: nothing was accepted.
            raise SmsTemporaryError(f"Aliyun unreachable: {exc.reason}") from exc
        except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            # Raised while waiting for or reading the answer: the message may have gone out.
            raise SmsUnknownOutcomeError(f"no answer from Aliyun: {exc!r}") from exc
        return self.read_answer(raw)

    @staticmethod
    def read_answer(raw: bytes, *, refused: bool = False) -> str:
        """``BizId`` of an ``OK`` answer; raises the matching error otherwise.

        ``refused``: the answer came with a 4xx status, so an unreadable body is the
        gateway's refusal (permanent), not an unknown outcome.
        """
        try:
            data = json.loads(raw)
        except ValueError as exc:
            if refused:
                raise SmsPermanentError("Aliyun refused the request (unreadable answer)") from exc
            raise SmsUnknownOutcomeError("unreadable answer from Aliyun") from exc
        code = str(data.get("Code", "")) if isinstance(data, dict) else ""
        if code == "OK" and not refused:
            return str(data.get("BizId", ""))
        if not code:
            if refused:
                raise SmsPermanentError("Aliyun refused the request (no code)")
            raise SmsUnknownOutcomeError("Aliyun answered without a code")
        detail = f"Aliyun {code}: {data.get('Message', '')}"
        if code in TEMPORARY_CODES:
            raise SmsTemporaryError(detail)
        raise SmsPermanentError(detail)


def _allowed_endpoint(endpoint: str) -> bool:
    """https, or plain http to a loopback address (module docstring)."""
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme == "https":
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def _read_error_body(exc: urllib.error.HTTPError) -> bytes:
    """The body of an error answer, or ``b""`` when reading it fails too."""
    try:
        return exc.read(MAX_RESPONSE_BYTES)
    except (OSError, http.client.HTTPException):
        return b""


def _refusal_detail(status: str, raw: bytes) -> str:
    """``Aliyun <status>`` with the answer's code and message when it has them."""
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("Code"):
        return f"Aliyun {status} {data['Code']}: {data.get('Message', '')}"
    return f"Aliyun {status}"
