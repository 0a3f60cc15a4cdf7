"""Reads of the public leaderboard pages: the published board as a page shows it, its
freshness, the contestants' pictures and the filter choices. Never the vote ledger.

Terms:

* **As of** — the time a board is known to be current: the publication tick that last
  confirmed it (``LeaderboardData.checked_at``, kept in the cache), or, when the board came
  from the database (cache down or empty), the snapshot's ``published_at``, which is when
  the counted state last *changed* (an unchanged state writes no snapshot).
* **Stale** — while the stage is open, a board whose "as of" is older than
  ``STALE_AFTER_INTERVALS`` publish intervals (``VOTING_PUBLISH_INTERVAL``, at least
  ``STALE_AFTER_MIN``): beat or the workers have stopped, and the pages say
  "last updated X ago" instead of pretending to be live. A closed stage's board is final
  and never stale. From the database fallback a quiet stage (no vote for a while) also
  reads as stale: with Redis down the pages cannot tell a quiet board from a stalled one,
  and saying so is the honest answer.
"""

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from campaigns.choices import StageStatus, Visibility
from campaigns.clock import db_now
from campaigns.models import Contestant, Stage
from voting.counting.leaderboards import LeaderboardData, leaderboard_for_stage

STALE_AFTER_INTERVALS = 3
STALE_AFTER_MIN = dt.timedelta(seconds=10)
# The big screen's board: the top 10 by default (``?top=`` up to 24: two columns of 12,
# so a 23-contestant stage fits 1080 pixels whole).
SCREEN_TOP_DEFAULT = 10


def stale_after() -> dt.timedelta:
    """How old a live board may be before it is called stale (read at call time)."""
    interval = dt.timedelta(seconds=settings.VOTING_PUBLISH_INTERVAL)
    return max(STALE_AFTER_INTERVALS * interval, STALE_AFTER_MIN)


@dataclass(frozen=True)
class Freshness:
    """How current a board is: ``as_of`` (see the module docstring), its ``age`` and
    whether it is ``stale``. Both are ``None``/false before the first publication."""

    as_of: dt.datetime | None
    age: dt.timedelta | None
    is_stale: bool

    @property
    def age_seconds(self) -> int | None:
        return int(self.age.total_seconds()) if self.age is not None else None

    @property
    def stale_minutes(self) -> int:
        """Whole minutes of a stale board's age (0 when fresh): the pages' ETag includes it
        so that "last updated X ago" is re-rendered once a minute and no more often."""
        return int(self.age.total_seconds() // 60) if self.is_stale and self.age else 0


def board_freshness(
    board: LeaderboardData, *, is_open: bool, now: dt.datetime | None = None
) -> Freshness:
    """The freshness of ``board`` at ``now`` (default: the app clock). No query."""
    return freshness_at(board.checked_at or board.published_at, is_open=is_open, now=now)


def freshness_at(
    as_of: dt.datetime | None, *, is_open: bool, now: dt.datetime | None = None
) -> Freshness:
    """The freshness at ``now`` of a board known current ``as_of`` (module docstring)."""
    if as_of is None:
        return Freshness(as_of=None, age=None, is_stale=False)
    age = max((now or timezone.now()) - as_of, dt.timedelta(0))
    return Freshness(as_of=as_of, age=age, is_stale=is_open and age > stale_after())


def pictures_for_contestants(contestant_ids: list[int]) -> dict[int, str]:
    """``{contestant_id: picture URL}`` (thumbnail, else photo) of those with one; one
    query, none for an empty list."""
    if not contestant_ids:
        return {}
    rows = Contestant.objects.filter(pk__in=contestant_ids).values_list(
        "pk", "staff_member__thumbnail", "staff_member__photo"
    )
    pictures = {}
    for pk, thumbnail, photo in rows:
        name = thumbnail or photo
        if name:
            pictures[pk] = default_storage.url(name)
    return pictures


@dataclass(frozen=True)
class FilterChoice:
    code: str
    name: str


def filter_choices(board: LeaderboardData) -> tuple[list[FilterChoice], list[FilterChoice]]:
    """The branches and positions present on a (whole) board, each sorted by name."""
    branches = {e["branch"]: e["branch_name"] for e in board.entries if e.get("branch")}
    positions = {e["position"]: e["position_name"] for e in board.entries if e.get("position")}
    return (
        [FilterChoice(code, name) for code, name in sorted(branches.items(), key=lambda i: i[1])],
        [FilterChoice(code, name) for code, name in sorted(positions.items(), key=lambda i: i[1])],
    )


@dataclass(frozen=True)
class BoardRow:
    """One line of a public board. ``votes`` and ``bar`` (0-100, the share of the leader's
    votes) are ``None`` when the visibility rule hides counts."""

    rank: int
    contestant_id: int
    employee_no: str
    name: str
    unit: str
    branch_name: str
    position_name: str
    votes: int | None
    bar: float | None
    picture: str | None

    @property
    def initial(self) -> str:
        return self.name[:1]


@dataclass(frozen=True)
class PublicBoard:
    """A board as the public pages render it: rows, freshness, and why counts are hidden."""

    stage: Stage
    data: LeaderboardData
    freshness: Freshness
    rows: tuple[BoardRow, ...]
    is_open: bool
    total_votes: int | None

    @property
    def hidden_reason(self) -> str:
        """``ranks_only`` or ``final_hours`` when counts are hidden, else ``""``."""
        if self.data.counts_visible:
            return ""
        if self.stage.visibility == Visibility.RANKS_ONLY:
            return "ranks_only"
        return "final_hours"


def board_etag(core: str, freshness: Freshness, basis: str, variant: tuple[str, ...]) -> str:
    """A strong validator of a rendered board: the board's own ETag (``core``, that is
    ``LeaderboardData.etag``: cut, visibility, size), its staleness (to the minute), the
    render ``basis`` (the stage's facts and the pictures, ``voting.counting.publication.render_basis``)
    and the rendering ``variant`` (view, filters, language). Quoted, ready for the ``ETag`` header; whatever
    changes the rendered HTML changes it, so HTML can be cached under it."""
    parts = (core, str(freshness.is_stale), str(freshness.stale_minutes), basis, *variant)
    return '"' + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32] + '"'


def _rows(
    entries: list[dict[str, Any]], pictures: dict[str, str], top: int
) -> tuple[BoardRow, ...]:
    """The rows of ``entries``; ``top`` is the leader's votes (the bars' 100)."""
    return tuple(
        BoardRow(
            rank=e["rank"],
            contestant_id=e["contestant_id"],
            employee_no=e["employee_no"],
            name=e["name"],
            unit=e["unit"],
            branch_name=e.get("branch_name", ""),
            position_name=e.get("position_name", ""),
            votes=e.get("votes"),
            bar=round(100 * e["votes"] / top, 1) if "votes" in e and top else None,
            picture=pictures.get(str(e["contestant_id"])),
        )
        for e in entries
    )


def public_board(
    stage: Stage,
    board: LeaderboardData,
    *,
    freshness: Freshness | None = None,
    limit: int | None = None,
    offset: int = 0,
    pictures: dict[str, str] | None = None,
) -> PublicBoard:
    """A board already read (``leaderboard_for_stage``, filtered or not) as a public page
    shows it: ``limit`` rows (all when ``None``) from the ``offset``-th, with ``pictures``
    (``{"<contestant id>": URL}``; when not given, one query when there are rows; never
    the vote ledger). The bars stay relative to the whole board's leader."""
    entries = list(board.entries[offset : offset + limit] if limit else board.entries[offset:])
    if pictures is None:
        found = pictures_for_contestants([e["contestant_id"] for e in entries])
        pictures = {str(pk): url for pk, url in found.items()}
    is_open = stage.status == StageStatus.OPEN
    return PublicBoard(
        stage=stage,
        data=board,
        freshness=freshness or board_freshness(board, is_open=is_open),
        rows=_rows(entries, pictures, max((e.get("votes", 0) for e in board.entries), default=0)),
        is_open=is_open,
        total_votes=sum(e["votes"] for e in board.entries) if board.counts_visible else None,
    )


@dataclass(frozen=True)
class StageBoardAge:
    """The freshness of one open stage's board (for ``/healthz`` and the admin)."""

    stage_id: int
    freshness: Freshness


def open_board_ages() -> list[StageBoardAge]:
    """The freshness of the board of every open stage, measured on the database clock (the
    clock that stamped the boards): one query for the clock, one for the stages, then the
    cache per stage (the latest snapshot, one query each, when the cache misses or is down)."""
    now = db_now()
    stages = Stage.objects.filter(status=StageStatus.OPEN).order_by("pk")
    return [
        StageBoardAge(
            stage_id=stage.pk,
            freshness=board_freshness(leaderboard_for_stage(stage), is_open=True, now=now),
        )
        for stage in stages
    ]
