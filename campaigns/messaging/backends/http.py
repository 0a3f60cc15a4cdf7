"""A generic HTTP gateway: one JSON POST per message to ``SMS_HTTP_URL``.

Request body: ``{"id": "<our outbox id>", "to": "+86…", "template", "params",
"language", "text"}`` with ``Authorization: Bearer <SMS_HTTP_TOKEN>`` and an
``Idempotency-Key`` of ``sms-<id>`` for gateways that de-duplicate. A 2xx answer may carry
``{"message_id": "…"}``. 429 and 5xx are temporary, other 4xx permanent; a failure while
sending the request is temporary (nothing was accepted), while no answer after the request
was sent is an unknown outcome (never retried blindly).
"""

import http.client
import json
import urllib.error
import urllib.request

from django.conf import settings

from campaigns.messaging.backends.base import (
    BaseSmsBackend,
    SmsMessage,
    SmsPermanentError,
    SmsTemporaryError,
    SmsUnknownOutcomeError,
)

MAX_RESPONSE_BYTES = 65_536


class HttpGatewayBackend(BaseSmsBackend):
    def send(self, message: SmsMessage) -> str:
        url = settings.SMS_HTTP_URL
        if not url.startswith(("https://", "http://")):
            raise SmsPermanentError("SMS_HTTP_URL is not an http(s) URL")
        payload = {
            "id": str(message.id),
            "to": message.to_e164,
            "template": message.template,
            "params": message.params,
            "language": message.language,
            "text": message.body,
        }
        request = urllib.request.Request(  # noqa: S310 -- the scheme is checked above
            url,
            data=json.dumps(payload, ensure_ascii=False).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": f"Bearer {settings.SMS_HTTP_TOKEN}",
                "Idempotency-Key": f"sms-{message.id}",
            },
        )
        try:
            with urllib.request.urlopen(  # noqa: S310 -- the scheme is checked above
                request, timeout=settings.SMS_HTTP_TIMEOUT
            ) as response:
                raw = response.read(MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise SmsTemporaryError(f"gateway answered HTTP {exc.code}") from exc
            raise SmsPermanentError(f"gateway answered HTTP {exc.code}") from exc
        except urllib.error.URLError as exc:
            # urllib wraps errors raised while connecting or sending the request: the
            # gateway has not accepted anything, so trying again later is safe.
            raise SmsTemporaryError(f"gateway unreachable: {exc.reason}") from exc
        except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            # Raised while waiting for or reading the answer: the message may have gone out.
            raise SmsUnknownOutcomeError(f"no answer from the gateway: {exc}") from exc
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            data = {}
        return str(data.get("message_id", "")) if isinstance(data, dict) else ""
