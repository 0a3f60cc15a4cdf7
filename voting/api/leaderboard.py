"""``GET /api/stages/<id>/leaderboard/`` (DESIGN.md §8): the published board of a stage.

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
        etag = api_etag(board, branch, position)
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if _not_modified(request.headers.get("If-None-Match", ""), etag):
            return Response(status=304, headers=headers)
        return Response(api_document(board), headers=headers)
