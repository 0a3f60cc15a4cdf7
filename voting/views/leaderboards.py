"""Public leaderboard pages: a stage's board (phone first), the big screen for the venue,
and the live fragment both of them poll.

The pages are complete without JavaScript: the board is rendered on the server and the
filters are a GET form. With it, ``static/voting/js/leaderboard.js`` asks the fragment view
(``…/live/``, the same query string) every few seconds with ``If-None-Match`` and swaps the
board in on a 200 only. Everything comes from the published snapshot
(``voting.counting.publication``: the cache, or the latest snapshot in PostgreSQL when Redis is
down), never from the vote ledger. The ETag follows ``voting.api.leaderboard``'s (the cut,
the visibility, the filters) plus what only the rendered page shows: staleness, the
stage's facts and the pictures (the render basis), the view and the language.

The phone page and its fragment show ``PAGE_SIZE`` rows a page (``?page=N``; a bad number
is page 1, one beyond the end the last page), with previous/next links that keep the
filters; the fragment's URL keeps the page. The big screen is not paged. Phones on slow
data poll a slim fragment (``?rows=N``): the first rows of the page that the screen shows,
a few kilobytes instead of the whole page (docs/benchmarks.md, "Board bytes").

**The hot path** (no query string but ``?page=``, the common case under a read storm): one cache round
trip and no database query. The cached head (``voting.counting.publication``) holds the stage's
facts, so the ETag is computed from it and the clock alone (the hidden final hours start at
``hidden_from``, compared on every request); a poll with the current ETag gets 304 there
and then. Otherwise the HTML rendered for that ETag, view, page and language comes from the
cache (rendered from the cached board on a miss, still without a query, and stored). The
full pages are cached with markers for the CSRF token of the language switcher and the
host, filled in per request. The head is trusted while the publication ticks confirm it
(its ``checked_at`` is at most ``stale_after()`` old); otherwise — beat stopped, a stage
finalised and no longer published, Redis down or empty — and for filtered boards, the view
reads the stage from the database (the slower path, with the same output and ETags).
"""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.timesince import timesince
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views import View

from campaigns.choices import StageStatus
from campaigns.models import Campaign, Stage
from campaigns.public import public_stage_status, public_stage_status_label
from campaigns.selectors import public_stage
from voting.counting.boards import (
    SCREEN_TOP_DEFAULT,
    Freshness,
    PublicBoard,
    board_etag,
    board_freshness,
    filter_choices,
    freshness_at,
    public_board,
    stale_after,
)
from voting.counting.leaderboards import (
    CACHE_KEY,
    HEAD_KEY,
    HTML_KEY,
    LeaderboardData,
    board_etag_core,
    board_from_payload,
    leaderboard_for_stage,
    visible_at,
)
from voting.counting.publication import render_basis, stage_facts, stage_pictures
from voting.forms import BoardFilterForm

logger = logging.getLogger(__name__)

# The largest id a database column holds: a longer number in a URL is a 404.
MAX_ID = 2**63 - 1
# Milliseconds between two polls of a live board (the board is published every 2 s).
POLL_MS = 3000
# Stand-ins rendered into cached full pages, replaced per request (hot path).
CSRF_MARKER = "csrf-token-of-this-request"
HOST_MARKER = "host-of-this-request"
CSRF_MARKER_BYTES, HOST_MARKER_BYTES = CSRF_MARKER.encode(), HOST_MARKER.encode()
# Rows per page of the phone page and its fragment (``?page=N``, 1-based; phones want small
# pages). The big screen shows its ``?top=`` rows and is not paged.
PAGE_SIZE = 100
# The slim fragment (``…/live/?rows=N``): only the first N rows of the page, what a phone
# shows in its viewport. N is rounded up to one of these sizes so that the cached HTML
# stays a handful of variants; more than the largest is the whole page.
SLIM_ROWS = (10, 20, 40)


def slim_rows(value: str | None) -> int | None:
    """The rows a slim fragment shows for ``?rows=``: the smallest ``SLIM_ROWS`` size at
    least ``value``; ``None`` (the whole page) for a missing or bad value, or a larger one."""
    try:
        wanted = int(value or "")
    except ValueError:
        return None
    return next((size for size in SLIM_ROWS if wanted <= size), None) if wanted > 0 else None


def page_count(n_rows: int) -> int:
    """How many pages ``n_rows`` rows take (at least one, for an empty board)."""
    return max(1, -(-n_rows // PAGE_SIZE))


def page_number(value: str | None, n_rows: int) -> int:
    """The page ``?page=`` asks for: 1 for a missing or bad value, the last page for one
    beyond the end."""
    try:
        number = int(value or "")
    except ValueError:
        return 1
    return min(max(number, 1), page_count(n_rows))


def age_text(age: dt.timedelta | None) -> str:
    """A stale board's age in words ("3 minutes"); under a minute, "less than a minute"."""
    if age is None:
        return ""
    if age < dt.timedelta(minutes=1):
        return _("less than a minute")
    now = timezone.now()
    return timesince(now - age, now, depth=1)


def stage_from_facts(stage_id: int, facts: dict[str, Any]) -> Stage:
    """An unsaved ``Stage`` (with its ``Campaign``) carrying the cached facts: what the
    templates read of a stage, without a query. Never saved."""
    stage = Stage(
        pk=stage_id,
        name=facts["name"],
        status=facts["status"],
        visibility=facts["visibility"],
        hide_final_hours=facts["hide_final_hours"],
        closes_at=facts["closes_at"],
        campaign_id=facts["campaign_id"],
    )
    stage.campaign = Campaign(pk=facts["campaign_id"], name=facts["campaign_name"])
    return stage


@dataclass(frozen=True)
class BoardRequest:
    """A board request parsed: the stage, the whole board, the filtered one and the form,
    the pictures (``{"<contestant id>": URL}``) and the render basis."""

    stage: Stage
    form: BoardFilterForm
    board: LeaderboardData
    freshness: Freshness
    limit: int | None
    variant: tuple[str, ...]
    pictures: dict[str, str]
    basis: str
    page: int = 1
    rows: int | None = None  # a slim fragment's first rows (``slim_rows``)

    @property
    def etag(self) -> str:
        return board_etag(self.board.etag, self.freshness, self.basis, self.variant)


class _RenderRequest:
    """What the page templates read of ``request`` when a page is rendered for the cache:
    the path (no query string on the hot path) and a marker for the host."""

    def __init__(self, path: str) -> None:
        self.path = path

    def get_full_path(self) -> str:
        return self.path

    def get_host(self) -> str:
        return HOST_MARKER


class LeaderboardMixin(View):
    """Reads the stage and the board for a GET, as the page, the screen or the fragment."""

    screen = False
    live = False

    @property
    def template_name(self) -> str:
        if self.live:
            return (
                "voting/_leaderboard_screen_live.html"
                if self.screen
                else "voting/_leaderboard_live.html"
            )
        return "voting/leaderboard_screen.html" if self.screen else "voting/leaderboard_detail.html"

    def variant(
        self, branch: str, position: str, limit: int | None, page: int = 1, rows: int | None = None
    ) -> tuple[str, ...]:
        view = "screen" if self.screen else "page"
        paging = (f"page={page}",) if page > 1 else ()
        slim = (f"rows={rows}",) if rows else ()
        return (view, branch, position, str(limit), get_language() or "", *paging, *slim)

    def rows_asked(self, request: HttpRequest) -> int | None:
        """The slim fragment's rows: the phone page's live fragment only."""
        if self.screen or not self.live:
            return None
        return slim_rows(request.GET.get("rows"))

    def get(self, request: HttpRequest, stage_id: int) -> HttpResponse:
        if stage_id > MAX_ID:
            raise Http404
        # The hot path: the unfiltered board (any page of it on the phone page).
        if not request.META.get("QUERY_STRING") or (
            not self.screen and set(request.GET) <= {"page", "rows"}
        ):
            response = self.from_cache(request, stage_id)
            if response is not None:
                return response
        parsed = self.parse(request, stage_id)
        if self.live and parsed.etag in request.headers.get("If-None-Match", ""):
            return _with_etag(HttpResponseNotModified(), parsed.etag)
        if self.live:
            html = render_to_string(self.template_name, self.context(request, parsed))
            return _with_etag(HttpResponse(html), parsed.etag)
        return render(request, self.template_name, self.context(request, parsed))

    # -- the hot path: the cache alone -----------------------------------------------

    def from_cache(self, request: HttpRequest, stage_id: int) -> HttpResponse | None:
        """The answer from the cache alone (module docstring), or ``None`` to take the
        slower path (head missing or not confirmed by a recent tick, cache down)."""
        now = timezone.now()
        language = get_language() or ""
        rows = self.rows_asked(request)
        view = ("screen" if self.screen else "page") + ("-live" if self.live else "")
        view += f":r{rows}" if rows else ""
        head_key = HEAD_KEY.format(stage_id=stage_id)

        def html_key_of(page: int) -> str:
            name = view + (f":{page}" if page > 1 else "")
            return HTML_KEY.format(stage_id=stage_id, view=name, language=language)

        # The page asked for, before the head says how many there are (usually the same).
        asked = 1 if self.screen else page_number(request.GET.get("page"), MAX_ID)
        html_key = html_key_of(asked)
        conditional = self.live and "HTTP_IF_NONE_MATCH" in request.META
        try:
            # A poll that may well be a 304 needs the head only.
            found = cache.get_many([head_key] if conditional else [head_key, html_key])
        except Exception as exc:  # noqa: BLE001 -- Redis down: the database path
            logger.warning("leaderboard cache read failed for stage %s: %s", stage_id, exc)
            return None
        head = found.get(head_key)
        if head is None or max(now - head["checked_at"], dt.timedelta(0)) > stale_after():
            return None
        page = 1 if self.screen else page_number(request.GET.get("page"), head["n_entries"])
        prefetched = not conditional
        if page != asked:  # beyond the end: the last page's HTML
            html_key, prefetched = html_key_of(page), False
        facts = head["facts"]
        if not facts["public"]:
            raise Http404
        visible = visible_at(
            ranks_only=head["ranks_only"], hidden_from=head["hidden_from"], now=now
        )
        freshness = freshness_at(
            head["checked_at"], is_open=facts["status"] == StageStatus.OPEN, now=now
        )
        limit = SCREEN_TOP_DEFAULT if self.screen else None
        etag = board_etag(
            board_etag_core(head["cut"], visible, head["n_entries"]),
            freshness,
            head["basis"],
            self.variant("", "", limit, page, rows),
        )
        if self.live and etag in request.META.get("HTTP_IF_NONE_MATCH", ""):
            return _with_etag(HttpResponseNotModified(), etag)
        cached = found.get(html_key) if prefetched else _safe_get(html_key)
        if cached is not None and cached[0] == etag:
            html = cached[1]
        else:
            html = self.render_for_cache(
                request, stage_id, head, visible, freshness, limit, page, rows
            )
            if html is None:
                return None
            _safe_set(html_key, (etag, html))
        if self.live:
            return _with_etag(HttpResponse(html), etag)
        html = html.replace(CSRF_MARKER_BYTES, get_token(request).encode())
        if self.screen:
            html = html.replace(HOST_MARKER_BYTES, escape(request.get_host()).encode())
        return HttpResponse(html)

    def render_for_cache(
        self,
        request: HttpRequest,
        stage_id: int,
        head: dict[str, Any],
        visible: bool,
        freshness: Freshness,
        limit: int | None,
        page: int = 1,
        rows: int | None = None,
    ) -> bytes | None:
        """The view's HTML (UTF-8, as the response sends it) for the cached head, from the
        cached board (no query), with the markers in place of the CSRF token and the host;
        ``None`` if the board is gone."""
        payload = _safe_get(CACHE_KEY.format(stage_id=stage_id))
        if payload is None or payload["cut"] != head["cut"]:
            return None
        board = board_from_payload(payload, visible=visible, source="cache")
        stage = stage_from_facts(stage_id, head["facts"])
        branches, positions = filter_choices(board)
        # The query string as the page number alone (normalised): every request for this
        # page gets the same HTML.
        get = QueryDict(f"page={page}" if page > 1 else "")
        form = BoardFilterForm(
            get,
            branches=[(c.code, c.name) for c in branches],
            positions=[(c.code, c.name) for c in positions],
        )
        form.is_valid()
        parsed = BoardRequest(
            stage=stage,
            form=form,
            board=board,
            freshness=freshness,
            limit=limit,
            variant=self.variant("", "", limit, page, rows),
            pictures=payload["pictures"],
            basis=head["basis"],
            page=page,
            rows=rows,
        )
        context = self.context(request, parsed, get)
        if not self.live:
            path = request.path + (f"?{get.urlencode()}" if get else "")
            context.update(request=_RenderRequest(path), csrf_token=CSRF_MARKER)
        return render_to_string(self.template_name, context).encode()

    # -- the slower path: the stage from the database --------------------------------

    def parse(self, request: HttpRequest, stage_id: int) -> BoardRequest:
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
        page = 1 if self.screen else page_number(request.GET.get("page"), len(board.entries))
        pictures = whole.pictures if whole.pictures is not None else stage_pictures(stage.pk)
        rows = self.rows_asked(request)
        return BoardRequest(
            stage=stage,
            form=form,
            board=board,
            freshness=board_freshness(board, is_open=public_stage_status(stage) == "open"),
            limit=limit,
            variant=self.variant(branch or "", position or "", limit, page, rows),
            pictures=pictures,
            basis=render_basis(stage_facts(stage), pictures),
            page=page,
            rows=rows,
        )

    def context(
        self, request: HttpRequest, parsed: BoardRequest, get: QueryDict | None = None
    ) -> dict[str, Any]:
        paged = not self.screen
        board: PublicBoard = public_board(
            parsed.stage,
            parsed.board,
            freshness=parsed.freshness,
            limit=(parsed.rows or PAGE_SIZE) if paged else parsed.limit,
            offset=(parsed.page - 1) * PAGE_SIZE if paged else 0,
            pictures=parsed.pictures,
        )
        name = "voting:leaderboard-screen-live" if self.screen else "voting:leaderboard-live"
        # The query string without the page, then the page shown (when not the first).
        filters = (request.GET if get is None else get).copy()
        filters.pop("page", None)
        filters.pop("rows", None)
        paging = filters.copy()
        if paged and parsed.page > 1:
            paging["page"] = str(parsed.page)
        query = paging.urlencode()
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
            # A slim fragment is the top of the page only: the page keeps its own pager.
            "pager": _pager(parsed.stage.pk, filters, parsed.page, len(parsed.board.entries))
            if paged and not parsed.rows
            else None,
        }


def _pager(stage_id: int, filters: QueryDict, page: int, n_rows: int) -> dict[str, Any]:
    """The phone page's previous/next links (to the page, not the fragment), keeping the
    filters; ``previous``/``next`` are ``""`` at either end."""
    base = reverse("voting:leaderboard", args=[stage_id])

    def link(number: int) -> str:
        query = filters.copy()
        if number > 1:
            query["page"] = str(number)
        text = query.urlencode()
        return base + (f"?{text}" if text else "")

    count = page_count(n_rows)
    return {
        "number": page,
        "count": count,
        "previous": link(page - 1) if page > 1 else "",
        "next": link(page + 1) if page < count else "",
    }


def _safe_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception as exc:  # noqa: BLE001 -- the cache is an optimisation here
        logger.warning("leaderboard cache read failed (%s): %s", key, exc)
        return None


def _safe_set(key: str, value: Any) -> None:
    try:
        cache.set(key, value, timeout=settings.VOTING_LEADERBOARD_CACHE_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 -- the cache is an optimisation here
        logger.warning("leaderboard cache write failed (%s): %s", key, exc)


def _with_etag(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response


class LeaderboardView(LeaderboardMixin):
    """``stages/<id>/leaderboard/``: the board for phones, with branch and position filters."""


class LeaderboardScreenView(LeaderboardView):
    """``stages/<id>/leaderboard/screen/``: the venue's projector (1920 x 1080), the top
    ``?top=`` rows (10 by default) large, with the SMS instruction."""

    screen = True


class LeaderboardLiveView(LeaderboardMixin):
    """The live part of the page (or, ``screen``, of the big screen) as an HTML fragment,
    with an ETag; ``If-None-Match`` with the current one gets 304 before any rendering.
    The phone page's fragment takes ``?rows=N``: only the page's first rows (``slim_rows``),
    what the script polls while the reader looks at the top of the board."""

    live = True
