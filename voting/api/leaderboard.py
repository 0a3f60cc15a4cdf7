"""``GET /api/stages/<id>/leaderboard/`` (DESIGN.md §8): the published board of a stage.

Served from the published snapshot (``voting.publication.leaderboard_for_stage``): the
cache, or the database snapshot when the cache is down, never the vote ledger. Fields the
stage's visibility rule hides are left out, not nulled. Conditional requests: the ETag
changes with the cut, the visibility and the filters; ``If-None-Match`` with the current
ETag gets ``304 Not Modified`` (live pages poll every couple of seconds).
"""

import hashlib
import re

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
from voting.exceptions import BadInputError, UnknownStageError
from voting.publication import leaderboard_for_stage

_FILTER = re.compile(r"[A-Za-z0-9_-]{1,32}", re.ASCII)
PUBLIC_ENTRY_FIELDS = ("rank", "employee_no", "name", "unit", "votes")


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


class StageLeaderboardView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

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
        filters = hashlib.sha256(f"{branch}|{position}".encode()).hexdigest()[:8]
        etag = f'"{board.etag}-{filters}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag in request.headers.get("If-None-Match", "") or (
            request.headers.get("If-None-Match", "").strip() == "*"
        ):
            return Response(status=304, headers=headers)
        body = {
            "stage": board.stage_id,
            "published_at": board.published_at,
            "cut": board.cut,
            "entries": [
                {name: entry[name] for name in PUBLIC_ENTRY_FIELDS if name in entry}
                for entry in board.entries
            ],
        }
        return Response(LeaderboardOutputSerializer(body).data, headers=headers)
