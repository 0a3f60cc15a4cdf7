"""The logging filter on every handler Django writes through (``LOGGING`` in settings):
no secret and no phone number reaches a log line.

``RedactSecretsFilter`` rewrites each record's message (its arguments formatted in) and
its traceback text before any handler formats them:

* the Aliyun callback token: the ``/sms/inbound/aliyun/<token>/`` path segment, any
  ``token=…`` parameter in a query string or message, and the configured
  ``SMS_ALIYUN_CALLBACK_TOKEN`` wherever else it appears, become ``[redacted]``;
* phone numbers in any written form are masked (``139****5678``,
  ``staff.phone_masking``), in query strings also when percent-encoded: a number typed
  into an admin search box travels in the query string of the request line.

The record is changed in place, so every later handler sees the redacted form too.
"""

import logging
import re
from urllib.parse import quote, unquote_plus

from django.conf import settings

from staff.phone_masking import mask_phone_numbers

REDACTED = "[redacted]"
_CALLBACK_PATH = re.compile(r"(/sms/inbound/aliyun/)[^/?#\s\"']+")
_TOKEN_PARAM = re.compile(r"((?:^|[?&;\s,(\"'])[\w.-]*token=)[^&;\s\"'#)]+", re.IGNORECASE)
_QUERY_STRING = re.compile(r"\?[^\s\"'#]+")
# A configured token shorter than this is not searched for as a literal: it would redact
# ordinary words (a real token is long and random).
_MIN_LITERAL = 12


def redact(text: str) -> str:
    """``text`` without the callback token and with phone numbers masked."""
    text = _CALLBACK_PATH.sub(rf"\g<1>{REDACTED}", text)
    text = _TOKEN_PARAM.sub(rf"\g<1>{REDACTED}", text)
    token = getattr(settings, "SMS_ALIYUN_CALLBACK_TOKEN", "")
    if len(token) >= _MIN_LITERAL and token in text:
        text = text.replace(token, REDACTED)
    text = _QUERY_STRING.sub(_mask_query_string, text)
    return mask_phone_numbers(text)


def _mask_query_string(match: re.Match[str]) -> str:
    """A query string with the numbers in it masked, read percent-decoded (``139+1234``,
    ``%EF%BC%91…``); unchanged when it holds none."""
    query = match[0]
    decoded = unquote_plus(query)
    masked = mask_phone_numbers(decoded)
    return query if masked == decoded else quote(masked, safe="?=&;/:,*[]")


class RedactSecretsFilter(logging.Filter):
    """Redacts every record it sees and lets it through (module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: left for the handler to report
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
