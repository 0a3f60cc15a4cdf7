"""The published leaderboards as the public reads them: the cache keys, the visibility
rule applied per request, and the fallback to the latest snapshot in the database.

``voting.counting.publication`` writes what this module reads (its docstring explains the
snapshot, the digest chain and the three cache entries per stage). A read never touches
the vote ledger, and a cache hit costs no query. Visibility is decided per request with
the clock the caller passes (the hot path passes the app clock: a database query per read
would cost more than the second of skew it could correct).
"""

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from campaigns.choices import StageStatus, Visibility
from campaigns.models import Stage
from voting.choices import VoteChannel
from voting.models import LeaderboardSnapshot

logger = logging.getLogger(__name__)

CACHE_KEY = "voting:leaderboard:v1:{stage_id}"
HEAD_KEY = "voting:leaderboard:v2:{stage_id}:head"
API_KEY = "voting:leaderboard:v2:{stage_id}:api"
# A page's rendered HTML, one entry per view and language: ``(etag, UTF-8 bytes)``.
HTML_KEY = "voting:leaderboard:v2:{stage_id}:html:{view}:{language}"
HTML_VIEWS = ("page", "screen", "page-live", "screen-live")
# The fields of an entry the API shows (``votes`` only when counts are visible).
PUBLIC_ENTRY_FIELDS = ("rank", "employee_no", "name", "unit", "votes")
CHANNELS: tuple[str, ...] = tuple(VoteChannel.values)
VOTE_FIELDS = ("votes", *CHANNELS)


def rank_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order by votes (then employee number) and set competition ranks (1, 2, 2, 4)."""
    ordered = sorted(entries, key=lambda entry: (-entry["votes"], entry["employee_no"]))
    previous_votes, rank = None, 0
    for index, entry in enumerate(ordered, start=1):
        if entry["votes"] != previous_votes:
            rank, previous_votes = index, entry["votes"]
        entry["rank"] = rank
    return ordered


def stage_rules(stage: Stage) -> dict[str, Any]:
    """The stage's visibility rule and what it depends on, as cached with the board."""
    return {
        "status": stage.status,
        "visibility": stage.visibility,
        "hide_final_hours": stage.hide_final_hours,
        "closes_at": stage.closes_at.isoformat() if stage.closes_at else None,
    }


def hidden_from(rules: dict[str, Any]) -> dt.datetime | None:
    """When a ``hidden_final_hours`` rule starts hiding counts (``None``: never by time).

    The rule hides counts only while voting is open (as in ``campaigns.public``)."""
    if (
        rules["visibility"] != Visibility.HIDDEN_FINAL_HOURS
        or not rules["closes_at"]
        or rules["status"] != StageStatus.OPEN
    ):
        return None
    closes_at = rules["closes_at"]
    if isinstance(closes_at, str):
        closes_at = dt.datetime.fromisoformat(closes_at)
    return closes_at - dt.timedelta(hours=rules["hide_final_hours"])


def visible_at(*, ranks_only: bool, hidden_from: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether counts show at ``now``: never under ``ranks_only``, else until ``hidden_from``."""
    return not ranks_only and (hidden_from is None or now < hidden_from)


def board_cache_keys(stage_id: int) -> list[str]:
    """Every cache key a stage's board may use (payload, head, API body, rendered pages)."""
    return [
        CACHE_KEY.format(stage_id=stage_id),
        HEAD_KEY.format(stage_id=stage_id),
        API_KEY.format(stage_id=stage_id),
        *(
            HTML_KEY.format(stage_id=stage_id, view=view, language=code)
            for view in HTML_VIEWS
            for code, _name in settings.LANGUAGES
        ),
    ]


def latest_snapshot(stage: Stage | int) -> LeaderboardSnapshot | None:
    """The stage's newest snapshot (by chain position), or ``None``."""
    return LeaderboardSnapshot.objects.filter(stage=stage).order_by("-id").first()


@dataclass(frozen=True)
class LeaderboardData:
    """A published board as the public may see it.

    ``entries`` are dicts with ``rank, contestant_id, employee_no, name, unit, branch,
    branch_name, position, position_name`` and, only when ``counts_visible``, ``votes,
    web, sms, audience``. ``cut`` is the snapshot's digest; ``source`` says where the
    board came from (``cache``, ``database`` or ``none`` before the first publication).
    ``checked_at`` is the time of the publication tick that last confirmed the board as
    current (from the cache only; ``None`` when read from the database). ``pictures``
    (``{"<contestant id>": URL}``) and ``basis`` (``render_basis``) come with a cached
    board; ``None`` when read from the database.
    """

    stage_id: int
    published_at: dt.datetime | None
    cut: str | None
    counts_visible: bool
    is_final: bool
    source: str
    entries: tuple[dict[str, Any], ...] = field(default=())
    checked_at: dt.datetime | None = None
    pictures: dict[str, str] | None = None
    basis: str | None = None

    @property
    def etag(self) -> str:
        """A validator for conditional requests: changes with the cut and the visibility."""
        return board_etag_core(self.cut, self.counts_visible, len(self.entries))


def board_etag_core(cut: str | None, visible: bool, size: int) -> str:
    """``LeaderboardData.etag`` from its parts (what a cached head knows without entries)."""
    return hashlib.sha256(f"{cut}|{visible}|{size}".encode()).hexdigest()[:32]


def counts_visible(rules: dict[str, Any], now: dt.datetime) -> bool:
    """Whether a board may show vote counts under the stage's visibility rule at ``now``.

    ``ranks_only`` never shows them; ``hidden_final_hours`` hides them while voting is
    open and ``now`` is within ``hide_final_hours`` of ``closes_at`` (as in
    ``campaigns.public``: the rule hides counts only while voting is still open).
    """
    return visible_at(
        ranks_only=rules["visibility"] == Visibility.RANKS_ONLY,
        hidden_from=hidden_from(rules),
        now=now,
    )


def _cache_get(key: str, stage_id: int) -> Any:
    try:
        return cache.get(key)
    except Exception as exc:  # noqa: BLE001 -- Redis down: serve the database snapshot
        logger.warning("leaderboard cache read failed for stage %s: %s", stage_id, exc)
        return None


def _from_cache(stage_id: int) -> dict[str, Any] | None:
    return _cache_get(CACHE_KEY.format(stage_id=stage_id), stage_id)


def cached_api_answer(stage_id: int, now: dt.datetime) -> tuple[str, bytes] | None:
    """``(etag, JSON body)`` of the unfiltered API answer at ``now``, from the cache alone
    (one GET, no query), or ``None`` on a miss or a cache error."""
    blob = _cache_get(API_KEY.format(stage_id=stage_id), stage_id)
    if blob is None:
        return None
    visible = visible_at(ranks_only=blob["ranks_only"], hidden_from=blob["hidden_from"], now=now)
    return blob["bodies"].get(visible)


def _matches(entry: dict[str, Any], branch: str | None, position: str | None) -> bool:
    if branch and f"/{branch}/" not in f"/{entry.get('unit_path', '')}":
        return False
    return not position or entry.get("position") == position


def board_from_payload(
    payload: dict[str, Any],
    *,
    visible: bool,
    source: str,
    branch: str | None = None,
    position: str | None = None,
) -> LeaderboardData:
    entries = [dict(entry) for entry in payload["entries"]]
    if branch or position:
        entries = rank_entries([e for e in entries if _matches(e, branch, position)])
    if not visible:
        for entry in entries:
            for name in VOTE_FIELDS:
                entry.pop(name, None)
    published_at = payload["published_at"]
    checked_at = payload.get("checked_at")
    return LeaderboardData(
        stage_id=payload["stage"],
        published_at=dt.datetime.fromisoformat(published_at) if published_at else None,
        cut=payload["cut"],
        counts_visible=visible,
        is_final=payload["is_final"],
        source=source,
        entries=tuple(entries),
        checked_at=dt.datetime.fromisoformat(checked_at) if checked_at else None,
        pictures=payload.get("pictures"),
        basis=payload.get("basis"),
    )


def leaderboard_for_stage(
    stage: Stage | int, *, branch: str | None = None, position: str | None = None
) -> LeaderboardData:
    """The published board of ``stage``, optionally of one branch and/or one position.

    Reads the cache (no database query on a hit when given a stage id); on a miss or a
    cache error, the latest snapshot in the database (one query, plus one for the stage
    when given an id). Never reads the vote ledger. ``branch`` is a unit code and matches
    contestants anywhere in its subtree; ``position`` a position code; a filtered board
    is ranked again within itself. Applies the visibility rule of the stage as of the
    passed instance (or as cached at the last tick): hidden counts are removed from the
    entries. Raises ``Stage.DoesNotExist`` for an unknown stage id.
    """
    stage_id = stage.pk if isinstance(stage, Stage) else int(stage)
    payload = _from_cache(stage_id)
    source = "cache"
    if payload is None:
        stage_obj = stage if isinstance(stage, Stage) else Stage.objects.get(pk=stage_id)
        snapshot = latest_snapshot(stage_id)
        source = "database" if snapshot else "none"
        payload = {
            "stage": stage_id,
            "published_at": snapshot.published_at.isoformat() if snapshot else None,
            "cut": snapshot.digest if snapshot else None,
            "is_final": snapshot.is_final if snapshot else False,
            "rules": stage_rules(stage_obj),
            "entries": snapshot.entries if snapshot else [],
        }
    rules = stage_rules(stage) if isinstance(stage, Stage) else payload["rules"]
    return board_from_payload(
        payload,
        visible=counts_visible(rules, timezone.now()),
        source=source,
        branch=branch,
        position=position,
    )


# -- the API's answer ------------------------------------------------------------------


def api_etag(board: LeaderboardData, branch: str | None = None, position: str | None = None) -> str:
    """The API's ETag (quoted) of ``board`` as filtered by ``branch`` and ``position``."""
    filters = hashlib.sha256(f"{branch}|{position}".encode()).hexdigest()[:8]
    return f'"{board.etag}-{filters}"'


def api_document(board: LeaderboardData) -> dict[str, Any]:
    """The API's JSON document of ``board`` (``voting.api.leaderboard``'s contract), made of
    JSON types only: ``published_at`` in local time, ISO 8601, as DRF writes it."""
    published_at = None
    if board.published_at is not None:
        published_at = timezone.localtime(board.published_at).isoformat()
        if published_at.endswith("+00:00"):
            published_at = published_at[:-6] + "Z"
    return {
        "stage": board.stage_id,
        "published_at": published_at,
        "cut": board.cut,
        "entries": [
            {name: entry[name] for name in PUBLIC_ENTRY_FIELDS if name in entry}
            for entry in board.entries
        ],
    }


def api_body(board: LeaderboardData) -> bytes:
    """``api_document`` serialised byte for byte as DRF's ``JSONRenderer`` does (compact,
    UTF-8, U+2028/U+2029 escaped), so the cached body equals a rendered one."""
    text = json.dumps(
        api_document(board), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()
