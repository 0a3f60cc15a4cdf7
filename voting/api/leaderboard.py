"""``GET /api/stages/<id>/leaderboard/``: the published board of a stage.

Served from the published snapshot (``voting.counting.leaderboards.leaderboard_for_stage``): the
cache, or the database snapshot when the cache is down, never the vote ledger. Fields the
stage's visibility rule hides are left out, not nulled. Conditional requests: the ETag
changes with the cut, the visibility and the filters; ``If-None-Match`` with the current
ETag gets ``304 Not Modified`` (live pages poll every couple of seconds).

The common request (no query string, JSON wanted) is answered from the cache alone: one
GET of the body the publication tick serialised, with its ETag, for the visibility in
force at this moment (``voting.counting.leaderboards.cached_api_answer``), before DRF even parses the
request; no database query, 304 included. Anything else (filters, ``?format=``, a browser
asking for HTML, a cache miss or Redis down) takes DRF's path, which writes the same bytes
(``voting.counting.leaderboards.api_document``) and the same ETag.

Slices: a whole board of 7,000 staff is over 600 kB, too much for a phone that needs the top
ten. ``?top=N`` answers the first N entries; ``?page=P`` answers page P of ``page_size``
entries (default 100, at most 1,000) and adds ``page``, ``pages`` and ``total``. Without
either the answer is the whole board, as the contract says. Bad values are 400
``bad_slice``; a page beyond the last is the last (as the public pages do).
"""

import re
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.models import Stage
from voting.api.serializers import ErrorOutputSerializer
from voting.counting.leaderboards import (
    api_document,
    api_etag,
    cached_api_answer,
    leaderboard_for_stage,
)
from voting.exceptions import BadInputError, UnknownStageError

_FILTER = re.compile(r"[A-Za-z0-9_-]{1,32}", re.ASCII)
_NUMBER = re.compile(r"[0-9]{1,7}", re.ASCII)
PAGE_SIZE_DEFAULT = 100
SLICE_MAX = 1000
# What DRF's answer carries besides the ETag (JSON renderer negotiated, GET-only view).
_DRF_HEADERS = {"Vary": "Accept", "Allow": "GET, HEAD, OPTIONS"}


class LeaderboardEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    employee_no = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    votes = serializers.IntegerField(
        required=False, help_text="Left out when the stage's visibility rule hides counts."
    )


class LeaderboardOutputSerializer(serializers.Serializer):
    stage = serializers.IntegerField()
    page = serializers.IntegerField(required=False, help_text="With `?page=` only.")
    pages = serializers.IntegerField(required=False, help_text="With `?page=` only.")
    total = serializers.IntegerField(
        required=False, help_text="Entries of the whole board; with `?page=` only."
    )
    published_at = serializers.DateTimeField(allow_null=True)
    cut = serializers.CharField(
        allow_null=True,
        help_text="The snapshot's digest: identifies the counted state this board shows.",
    )
    entries = LeaderboardEntrySerializer(many=True)


def _filter_param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if not _FILTER.fullmatch(value):
        raise BadInputError(
            "bad_filter", _("%(name)s must be a unit or position code.") % {"name": name}
        )
    return value


def _positive_param(request: Request, name: str, *, maximum: int) -> int | None:
    """A whole number 1..``maximum`` from the query string, ``None`` if absent."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if not _NUMBER.fullmatch(value) or not 1 <= int(value) <= maximum:
        raise BadInputError(
            "bad_slice",
            _("%(name)s must be a whole number from 1 to %(maximum)s.")
            % {"name": name, "maximum": maximum},
        )
    return int(value)


def _sliced(document: dict[str, Any], request: Request) -> tuple[dict[str, Any], str]:
    """The document cut to ``?top=`` or ``?page=``/``?page_size=``, and an ETag suffix
    naming the slice (empty for the whole board)."""
    top = _positive_param(request, "top", maximum=SLICE_MAX)
    page = _positive_param(request, "page", maximum=10**7 - 1)
    size = _positive_param(request, "page_size", maximum=SLICE_MAX)
    entries = document["entries"]
    if top is not None and (page is not None or size is not None):
        raise BadInputError("bad_slice", _("Use either top or page, not both."))
    if top is not None:
        return {**document, "entries": entries[:top]}, f"-t{top}"
    if page is None and size is None:
        return document, ""
    size = size or PAGE_SIZE_DEFAULT
    pages = max(1, -(-len(entries) // size))
    page = min(page or 1, pages)
    start = (page - 1) * size
    sliced = {
        **document,
        "page": page,
        "pages": pages,
        "total": len(entries),
        "entries": entries[start : start + size],
    }
    return sliced, f"-p{page}x{size}"


def _not_modified(if_none_match: str, etag: str) -> bool:
    return etag in if_none_match or if_none_match.strip() == "*"


def _wants_json(request: HttpRequest) -> bool:
    """Whether DRF's negotiation would pick the JSON renderer (no HTML asked for)."""
    accept = request.META.get("HTTP_ACCEPT", "")
    return "html" not in accept


class StageLeaderboardView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if (
            request.method == "GET"
            and not request.META.get("QUERY_STRING")
            and _wants_json(request)
        ):
            answer = cached_api_answer(kwargs["stage_id"], timezone.now())
            if answer is not None:
                etag, body = answer
                headers = {"ETag": etag, "Cache-Control": "no-cache", **_DRF_HEADERS}
                if _not_modified(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
                    return HttpResponse(status=304, headers=headers)
                return HttpResponse(body, content_type="application/json", headers=headers)
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        summary="A stage's published leaderboard",
        description=(
            "Rank, employee number, name, unit and (if the stage shows counts) votes of "
            "every contestant, as of the last publication (every few seconds while the "
            "stage is open). `branch` (a unit code, matching its whole subtree) and "
            "`position` (a position code) give a board of that group, ranked within it. "
            "Send `If-None-Match` with the last ETag to get 304 when nothing changed."
        ),
        parameters=[
            OpenApiParameter("branch", OpenApiTypes.STR, description="Unit code."),
            OpenApiParameter("position", OpenApiTypes.STR, description="Position code."),
            OpenApiParameter(
                "top", OpenApiTypes.INT, description="Only the first N entries (1-1000)."
            ),
            OpenApiParameter("page", OpenApiTypes.INT, description="Page number, from 1."),
            OpenApiParameter(
                "page_size", OpenApiTypes.INT, description="Entries per page (default 100)."
            ),
        ],
        responses={
            200: LeaderboardOutputSerializer,
            304: OpenApiResponse(description="Not modified since the given ETag."),
            400: ErrorOutputSerializer,
            404: ErrorOutputSerializer,
        },
        tags=["voting"],
    )
    def get(self, request: Request, stage_id: int) -> Response:
        branch = _filter_param(request, "branch")
        position = _filter_param(request, "position")
        try:
            board = leaderboard_for_stage(stage_id, branch=branch, position=position)
        except Stage.DoesNotExist:
            raise UnknownStageError(_("There is no such voting stage.")) from None
        document, suffix = _sliced(api_document(board), request)
        etag = api_etag(board, branch, position)
        if suffix:
            etag = f'{etag[:-1]}{suffix}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if _not_modified(request.headers.get("If-None-Match", ""), etag):
            return Response(status=304, headers=headers)
        return Response(document, headers=headers)
