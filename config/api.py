"""Shared API plumbing: the error shape, pagination, permission classes and a cheaper
content negotiation for JSON clients.

Every API error has the body ``{"code": "<stable machine code>", "detail": "<translated
message>"}`` and a 4xx status. Domain errors carry their own code; DRF's
errors are mapped to stable codes here, in one place, so no view builds error bodies.
Request bodies are bounded and decoded by ``config.parsers``.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.parsers import BodyTooLarge, BoundedJSONParser, loads_json
from staff.exceptions import DomainError

# Re-exported for the apps, which import nothing else from config: views that decode a
# body themselves call loads_json; BoundedJSONParser is the default parser in settings.
__all__ = [
    "BodyTooLarge",
    "BoundedJSONParser",
    "DefaultPagination",
    "JsonFirstNegotiation",
    "exception_handler",
    "loads_json",
]


class DefaultPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class JsonFirstNegotiation(DefaultContentNegotiation):
    """DRF's content negotiation, with its answer for a JSON client given without parsing.

    A request with no ``Accept`` header, ``*/*`` or ``application/json``, and no ``?format=``
    override, gets the first renderer when that is JSON: what DRF's negotiation picks for
    it, after parsing the header and every renderer's media type on each request (a third
    of DRF's own time per request on the vote path). Anything else is negotiated by DRF.
    """

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        if (
            accept in {"*/*", "application/json"}
            and renderers
            and renderers[0].media_type == "application/json"
            and format_suffix is None
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], "application/json"
        return super().select_renderer(request, renderers, format_suffix)


def _first_message(detail: Any) -> str:
    """Flatten DRF's nested error detail into one readable line."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = _first_message(value)
            return message if key == "non_field_errors" else f"{key}: {message}"
        return ""
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else ""
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn domain and framework errors into ``{"code", "detail"}`` responses."""
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"code": exc.code, "detail": str(exc.message)}
        headers = None
        # An error that says when to come back (a code resend too soon) says it twice: in
        # the body for clients and in the standard header for proxies and libraries.
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            body["retry_after"] = retry_after
            headers = {"Retry-After": str(retry_after)}
        return Response(
            body,
            status=getattr(exc, "status_code", status.HTTP_400_BAD_REQUEST),
            headers=headers,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        code, detail = "invalid", _first_message(exc.detail) or _("Invalid input.")
        response.data = {"code": code, "detail": detail, "errors": exc.detail}
        return response
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        response.data = {"code": code, "detail": _first_message(exc.detail)}
    return response
