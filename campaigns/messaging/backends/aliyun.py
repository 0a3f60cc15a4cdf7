"""Aliyun (Alibaba Cloud) SMS: the ``SendSms`` RPC API with signature version 1.0.

Aliyun sends only approved templates: ``SMS_ALIYUN_TEMPLATES`` maps our template names to
Aliyun template codes (``{"otp": "SMS_123456789", …}``) and ``SMS_ALIYUN_SIGN_NAME`` is the
approved signature. Each request is signed as documented: the parameters sorted by name
and percent-encoded per RFC 3986 form the canonical query; the string to sign is
``POST&%2F&<encoded canonical query>``; the signature is base64 HMAC-SHA1 under
``<AccessKeySecret>&``. ``OutId`` is our outbox id, which delivery reports echo.

``SendSms`` is not idempotent: a timeout after the request went out becomes ``unknown``
and is reconciled from delivery reports by ``OutId``, never re-sent blindly. Flow-control
answers (``isv.BUSINESS_LIMIT_CONTROL``, throttling) are temporary and retried with the
sender's capped backoff, a bounded number of times.
"""

import base64
import datetime as dt
import hashlib
import hmac
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
        "isp.SYSTEM_ERROR",
        "ServiceUnavailable",
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
        if not endpoint.startswith("https://"):
            raise SmsPermanentError("SMS_ALIYUN_ENDPOINT must be an https URL")
        request = urllib.request.Request(  # noqa: S310 -- https checked above
            endpoint,
            data=urllib.parse.urlencode(params, quote_via=urllib.parse.quote).encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(  # noqa: S310 -- https checked above
                request, timeout=settings.SMS_HTTP_TIMEOUT
            ) as response:
                raw = response.read(MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as exc:
            # Aliyun answers errors with a JSON body and a 4xx/5xx status.
            raw = exc.read(MAX_RESPONSE_BYTES)
            if exc.code >= 500 and not raw:
                raise SmsTemporaryError(f"Aliyun answered HTTP {exc.code}") from exc
        except urllib.error.URLError as exc:
            raise SmsTemporaryError(f"Aliyun unreachable: {exc.reason}") from exc
        except (TimeoutError, ConnectionError) as exc:
            raise SmsUnknownOutcomeError(f"no answer from Aliyun: {exc}") from exc
        return self.read_answer(raw)

    @staticmethod
    def read_answer(raw: bytes) -> str:
        """``BizId`` of an ``OK`` answer; raises the matching error otherwise."""
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise SmsUnknownOutcomeError("unreadable answer from Aliyun") from exc
        code = str(data.get("Code", "")) if isinstance(data, dict) else ""
        if code == "OK":
            return str(data.get("BizId", ""))
        detail = f"Aliyun {code}: {data.get('Message', '')}" if code else "Aliyun: no code"
        if code in TEMPORARY_CODES:
            raise SmsTemporaryError(detail)
        raise SmsPermanentError(detail)
