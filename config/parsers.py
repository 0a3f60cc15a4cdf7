"""Bounded JSON decoding for every API body: size and nesting are checked before parsing.

Python's JSON decoder recurses once per nesting level, so a 4 KB body of 2,000 nested
arrays exhausts the stack (``RecursionError``, a 500). A linear scan of the raw bytes
refuses anything nested deeper than ``API_JSON_MAX_DEPTH`` first. The parser also bounds
the body: DRF reads the request stream itself, past Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``
check on ``request.body``. Kept apart from ``config.api``, which imports DRF's views, whose
settings import this parser (an import cycle otherwise).
"""

import json
import re
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

# A JSON string, escapes included, or an unterminated one running to the end of the body.
# Possessive, so a body of stray quotes and backslashes is still scanned in linear time.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_OPENING = frozenset(b"[{")


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"
    default_detail = gettext_lazy("The request body is too large.")


def json_nesting_depth(body: bytes, *, limit: int) -> int:
    """How deep the arrays and objects of a JSON text nest, counted up to ``limit + 1``.

    Works on the raw bytes before any parsing (brackets inside strings do not count), so
    a hostile body costs one linear scan, never a recursion in the decoder.
    """
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_A_BRACKET)
    depth = deepest = 0
    for byte in brackets:
        depth += 1 if byte in _OPENING else -1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
    return deepest


def _refuse_constant(name: str) -> None:
    """Strict JSON: ``NaN`` and ``Infinity`` are not JSON values."""
    raise ValueError(name)


def loads_json(body: bytes | str) -> Any:
    """Decode a JSON request body, refusing one nested deeper than ``API_JSON_MAX_DEPTH``.

    Raises DRF's ``ParseError`` (``parse_error``, 400) for invalid or too deeply nested
    JSON, so every view that decodes a body itself answers like the parsers do.
    """
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if json_nesting_depth(raw, limit=settings.API_JSON_MAX_DEPTH) > settings.API_JSON_MAX_DEPTH:
        raise exceptions.ParseError(_("The request body is nested too deeply."))
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise exceptions.ParseError(_("The request body is not valid JSON.")) from exc


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with the body size and nesting bounded before decoding.

    DRF reads the request stream itself, past Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``
    check on ``request.body``; this parser reads at most one byte over that limit.
    """

    def parse(
        self, stream: IO[bytes] | None, media_type: str | None = None, parser_context: Any = None
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(-1 if limit is None else limit + 1) if stream is not None else b""
        if limit is not None and len(body) > limit:
            raise BodyTooLarge
        return loads_json(body)
