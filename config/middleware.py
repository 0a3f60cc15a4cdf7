"""Request guards that run before any view: bad input is refused here, never a 500.

- Under ``/admin/`` a NUL byte in the path answers 404, and one in the query string 400.
  PostgreSQL text cannot hold NUL and psycopg2 raises ``ValueError`` on it, so such a value
  must never reach the admin's generic lookups (list filters, searches, object ids). The
  API and the public pages validate their own parameters, NUL included, each with its own
  answer (a code, a friendly 404, a form error); the URL-walk test holds every route to it.
- Under ``/api/`` a request is checked before its view runs: a header value with a control
  character is ``bad_header`` (400), a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is
  ``body_too_large`` (413, from Content-Length, before reading it), and a JSON body nested
  deeper than ``API_JSON_MAX_DEPTH`` is ``parse_error`` (400), always in the contract's
  ``{"code", "detail"}`` shape. Views decoding JSON themselves use ``config.api.loads_json``.

``api_bad_request`` is the project's ``handler400``: the suspicious-request errors Django
raises outside views (a disallowed Host, a body read past the limit) get the same JSON shape
under ``/api/`` and Django's own page elsewhere.
"""

import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults

from config.parsers import json_nesting_depth

API_PREFIX = "/api/"
# As mounted in config.urls. The admin's generic views (changelist filters and searches,
# object ids) pass query and path values to lookups unchecked.
ADMIN_PREFIX = "/admin/"
# C0 control characters and DEL; a tab is legal inside a header value (RFC 9110 §5.5).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def api_error(code: str, detail: str, status: int) -> JsonResponse:
    """The contract's error body for a request refused before any API view ran."""
    return JsonResponse({"code": code, "detail": detail}, status=status)


def _is_json(request: HttpRequest) -> bool:
    content_type = request.content_type or ""
    return content_type == "application/json" or content_type.endswith("+json")


def _bad_header(request: HttpRequest) -> bool:
    for name, value in request.META.items():
        if (name.startswith("HTTP_") or name in {"CONTENT_TYPE", "CONTENT_LENGTH"}) and (
            isinstance(value, str) and _CONTROL.search(value)
        ):
            return True
    length = request.META.get("CONTENT_LENGTH") or "0"
    return not length.isascii() or not length.isdigit()


class RequestGuardMiddleware:
    """Refuse NUL bytes everywhere and malformed API requests before the view (see module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(API_PREFIX):
            refusal = self._check_api_request(request)
            return refusal if refusal is not None else self.get_response(request)
        if path.startswith(ADMIN_PREFIX):
            if "\x00" in path:
                raise Http404
            query = request.META.get("QUERY_STRING", "")
            if "%00" in query or "\x00" in query:
                raise BadRequest("NUL byte in the query string")
        return self.get_response(request)

    def _check_api_request(self, request: HttpRequest) -> JsonResponse | None:
        if _bad_header(request):
            return api_error("bad_header", _("A request header has an invalid value."), 400)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and int(request.META.get("CONTENT_LENGTH") or 0) > limit:
            return api_error("body_too_large", _("The request body is too large."), 413)
        if request.method in {"POST", "PUT", "PATCH", "DELETE"} and _is_json(request):
            depth_limit = settings.API_JSON_MAX_DEPTH
            if json_nesting_depth(request.body, limit=depth_limit) > depth_limit:
                return api_error("parse_error", _("The request body is nested too deeply."), 400)
        return None


def api_bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler400``: the contract's JSON under ``/api/``, Django's page elsewhere."""
    if not request.path_info.startswith(API_PREFIX):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        return api_error("body_too_large", _("The request body is too large."), 413)
    if isinstance(exception, DisallowedHost):
        return api_error("bad_header", _("A request header has an invalid value."), 400)
    return api_error("bad_request", _("The request could not be understood."), 400)
