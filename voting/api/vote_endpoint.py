"""``POST /api/votes/`` as a plain Django view in front of DRF's ``CastVoteView``.

Nearly every request to the vote endpoint is the same: a JSON object posted by the vote
page, asking for JSON back. DRF wraps each one in its ``Request``, selects a parser,
negotiates a renderer, builds throttle instances and a ``Response``, and renders it
(docs/benchmarks.md, "Web vote, 2026-12-03"); for this one shape none of that changes the
answer. ``cast_vote_view`` answers it itself: the courtesy throttle, the body read by
``voting.api.vote_input``, the vote cast by ``voting.api.views.answer_vote``, and every
refusal turned into the error body by ``config.api.exception_handler``, as DRF does.
Anything else — another method, another content type or ``Accept``, a query string
(``?format=``), a body that is not JSON — goes to ``CastVoteView`` unchanged, which also
stays the endpoint's OpenAPI description (``cls`` below). A test sends the same requests
to both and holds status, headers and body equal, byte for byte.
"""

import functools
import json
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import APIException, ParseError

from config.api import exception_handler, loads_json
from staff.exceptions import DomainError
from voting.api.throttles import VoteThrottle
from voting.api.views import CastVoteView, RateLimited, answer_vote
from voting.api.vote_input import parse_vote_body

_drf_view = CastVoteView.as_view()
# What JsonFirstNegotiation answers with JSON without parsing (config.api).
_JSON_ACCEPT = frozenset({"*/*", "application/json"})


def _plain_json_body(request: HttpRequest) -> tuple[bool, Any]:
    """``(True, decoded body)`` for a POST of ``application/json`` asking for JSON, with no
    query string; ``(False, None)`` for anything DRF must answer."""
    meta = request.META
    if (
        request.method != "POST"
        or meta.get("CONTENT_TYPE") != "application/json"
        or meta.get("HTTP_ACCEPT", "*/*") not in _JSON_ACCEPT
        or meta.get("QUERY_STRING")
    ):
        return False, None
    try:
        return True, loads_json(request.body)
    except ParseError:  # DRF's parser words it (and counts the throttle first)
        return False, None


def _json_response(
    data: dict[str, Any], status: int, headers: list[tuple[str, str]]
) -> HttpResponse:
    """``data`` as DRF's ``JSONRenderer`` renders it (compact, UTF-8, U+2028 and U+2029
    escaped), with the headers ``CastVoteView`` adds to every answer (``Vary: Accept``,
    ``Allow``), in DRF's order."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    response = HttpResponse(text.encode(), status=status, content_type="application/json")
    for name, value in headers:
        response[name] = value
    vary, view_headers = _view_headers()
    if vary:
        patch_vary_headers(response, [vary])
    for name, value in view_headers:
        response[name] = value
    return response


@functools.cache
def _view_headers() -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """``CastVoteView``'s own headers: its ``Vary`` (DRF patches it in first) and the rest.
    Computed once: they follow from the view's class attributes alone (its methods, and
    its renderer classes, which DRF reads from its settings when the class is defined)."""
    headers = CastVoteView().default_response_headers
    return headers.pop("Vary", None), tuple(headers.items())


def _error_response(exc: Exception) -> HttpResponse:
    """The refusal ``exc`` as ``config.api.exception_handler`` words it for DRF."""
    drf_response = exception_handler(exc, {})
    if drf_response is None:  # pragma: no cover -- only API and domain errors come here
        raise exc
    extra = [(name, value) for name, value in drf_response.items() if name != "Content-Type"]
    return _json_response(drf_response.data, drf_response.status_code, extra)


@csrf_exempt  # as every DRF view: the API uses no session, so there is no CSRF to check
def cast_vote_view(request: HttpRequest) -> HttpResponse:
    """``POST /api/votes/``: a plain JSON vote answered here, anything else by DRF."""
    plain, data = _plain_json_body(request)
    if not plain:
        return _drf_view(request)
    throttle = VoteThrottle()
    if not throttle.allow_request(request, None):
        return _error_response(RateLimited(throttle.wait()))
    try:
        body, headers = answer_vote(request, parse_vote_body(data))
    except (DomainError, APIException, Http404, PermissionDenied) as exc:
        return _error_response(exc)
    return _json_response(body, 201, list((headers or {}).items()))


# drf-spectacular (and DRF's schema generation) describe a route by its view's ``cls``:
# the schema of this route stays CastVoteView's, extend_schema and all.
cast_vote_view.cls = CastVoteView
cast_vote_view.initkwargs = _drf_view.initkwargs
