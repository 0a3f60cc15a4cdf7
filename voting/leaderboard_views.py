"""Public leaderboard pages: a stage's board (phone first), the big screen for the venue,
and the live fragment both of them poll.

The pages are complete without JavaScript: the board is rendered on the server and the
filters are a GET form. With it, ``static/voting/js/leaderboard.js`` asks the fragment view
(``…/live/``, the same query string) every few seconds with ``If-None-Match`` and swaps the
board in on a 200 only; an unchanged board is a 304 that costs one stage query and one
cache read. Everything comes from the published snapshot (``voting.publication``: the
cache, or the latest snapshot in PostgreSQL when Redis is down), never from the vote
ledger. The ETag follows ``voting.api.leaderboard``'s (the cut, the visibility, the
filters) plus what only the rendered page shows: staleness, the view and the language.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views import View

from campaigns.models import Stage
from campaigns.public import public_stage_status, public_stage_status_label
from campaigns.selectors import public_stage
from voting.boards import (
    SCREEN_TOP_DEFAULT,
    Freshness,
    PublicBoard,
    board_etag,
    board_freshness,
    filter_choices,
    public_board,
)
from voting.forms import BoardFilterForm
from voting.publication import LeaderboardData, leaderboard_for_stage

# The largest id a database column holds: a longer number in a URL is a 404.
MAX_ID = 2**63 - 1
# Milliseconds between two polls of a live board (the board is published every 2 s).
POLL_MS = 3000


def age_text(age: dt.timedelta | None) -> str:
    """A stale board's age in words ("3 minutes"); under a minute, "less than a minute"."""
    if age is None:
        return ""
    if age < dt.timedelta(minutes=1):
        return _("less than a minute")
    now = timezone.now()
    return timesince(now - age, now, depth=1)


@dataclass(frozen=True)
class BoardRequest:
    """A board request parsed: the stage, the whole board, the filtered one and the form."""

    stage: Stage
    form: BoardFilterForm
    board: LeaderboardData
    freshness: Freshness
    limit: int | None
    variant: tuple[str, ...]

    @property
    def etag(self) -> str:
        return board_etag(self.board, self.freshness, *self.variant)


class LeaderboardMixin(View):
    """Reads the stage and the board for a GET, as the page, the screen or the fragment."""

    screen = False

    def parse(self, request: HttpRequest, stage_id: int) -> BoardRequest:
        if stage_id > MAX_ID:
            raise Http404
        try:
            stage = public_stage(stage_id)
        except Stage.DoesNotExist:
            raise Http404 from None
        whole = leaderboard_for_stage(stage)
        branches, positions = filter_choices(whole)
        form = BoardFilterForm(
            request.GET,
            branches=[(c.code, c.name) for c in branches],
            positions=[(c.code, c.name) for c in positions],
        )
        # An unknown filter is shown as a field error over the whole board.
        values = form.cleaned_data if form.is_valid() else {}
        branch = values.get("branch") or None
        position = values.get("position") or None
        board = (
            leaderboard_for_stage(stage, branch=branch, position=position)
            if branch or position
            else whole
        )
        limit = (values.get("top") or SCREEN_TOP_DEFAULT) if self.screen else None
        return BoardRequest(
            stage=stage,
            form=form,
            board=board,
            freshness=board_freshness(board, is_open=public_stage_status(stage) == "open"),
            limit=limit,
            variant=(
                "screen" if self.screen else "page",
                branch or "",
                position or "",
                str(limit),
                get_language() or "",
            ),
        )

    def context(self, request: HttpRequest, parsed: BoardRequest) -> dict[str, Any]:
        board: PublicBoard = public_board(
            parsed.stage, parsed.board, freshness=parsed.freshness, limit=parsed.limit
        )
        name = "voting:leaderboard-screen-live" if self.screen else "voting:leaderboard-live"
        query = request.GET.urlencode()
        return {
            "stage": parsed.stage,
            "campaign": parsed.stage.campaign,
            "stage_status": public_stage_status(parsed.stage),
            "stage_status_label": public_stage_status_label(parsed.stage),
            "form": parsed.form,
            "board": board,
            "freshness": board.freshness,
            "stale_age": age_text(board.freshness.age) if board.freshness.is_stale else "",
            "live_url": reverse(name, args=[parsed.stage.pk]) + (f"?{query}" if query else ""),
            "etag": parsed.etag,
            "poll_ms": POLL_MS,
            "sms_number": settings.SMS_VOTE_NUMBER,
            "dense": self.screen and len(board.rows) > 12,
        }


def _with_etag(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response


class LeaderboardView(LeaderboardMixin):
    """``stages/<id>/leaderboard/``: the board for phones, with branch and position filters."""

    template_name = "voting/leaderboard_detail.html"

    def get(self, request: HttpRequest, stage_id: int) -> HttpResponse:
        parsed = self.parse(request, stage_id)
        return render(request, self.template_name, self.context(request, parsed))


class LeaderboardScreenView(LeaderboardView):
    """``stages/<id>/leaderboard/screen/``: the venue's projector (1920 x 1080), the top
    ``?top=`` rows (10 by default) large, with the SMS instruction."""

    screen = True
    template_name = "voting/leaderboard_screen.html"


class LeaderboardLiveView(LeaderboardMixin):
    """The live part of the page (or, ``screen``, of the big screen) as an HTML fragment,
    with an ETag; ``If-None-Match`` with the current one gets 304 before any rendering."""

    def get(self, request: HttpRequest, stage_id: int) -> HttpResponse:
        parsed = self.parse(request, stage_id)
        if parsed.etag in request.headers.get("If-None-Match", ""):
            return _with_etag(HttpResponseNotModified(), parsed.etag)
        template = (
            "voting/_leaderboard_screen_live.html"
            if self.screen
            else "voting/_leaderboard_live.html"
        )
        html = render_to_string(template, self.context(request, parsed), request=request)
        return _with_etag(HttpResponse(html), parsed.etag)
