"""Leaderboard publication: snapshots, their digest chain and the cache (the public read is
``voting.counting.leaderboards``).

Terms and invariants:

* **Counted state** of a stage — valid votes per contestant and channel as
  ``voting.counting.tallies.counted_votes`` reads them: tallies plus pending outbox events, in one
  SQL statement. That statement's MVCC snapshot is the **cut**: the state contains every
  vote (and invalidation) whose transaction committed before it, and no other. It is
  defined by commit visibility, never by ``id <= X`` or ``cast_at <= T`` (ids and
  ``cast_at`` are not commit-ordered), and it equals the from-scratch count of
  the ledger as of that statement (the tally invariant of ``voting.counting.tallies``).
* **Snapshot** (``LeaderboardSnapshot``) — one published board: the counted state in
  canonical form (``counts``), the ranked ``entries`` as published, ``valid_votes``,
  ``published_at`` (database clock) and ``digest``. Publishing an unchanged state writes
  nothing; ``(stage, digest)`` is unique, so two publishers (two beats, a redelivered task)
  cannot store the same state twice, and the chain cannot fork (one successor per
  snapshot, one first snapshot per stage).
* **Digest chain** — ``digest = sha256("service-star/leaderboard/v1" | stage id |
  previous digest | valid votes | canonical counts)``, where the canonical counts are the
  JSON of ``{contestant_id: {channel: votes}}`` with sorted keys and no zero entries.
  Each snapshot commits to everything published before it. ``voting.counting.recount`` recomputes
  every digest from the stored counts (an edited or removed snapshot breaks the chain)
  and recomputes the latest digest from a fresh GROUP BY over the ledger when nothing has
  changed since it was published — so a later change to an already-counted vote (an UPDATE
  of its contestant, channel or status behind the services' back) no longer reproduces the
  digest, and it also breaks ``ledger == tally + pending``, which the recount checks at
  any time.
* **Cache** — written to the Django cache (Redis in production) on every publication
  tick, even when the state did not change, so a Redis that lost its data or came back
  from an outage is refilled within one tick (one ``set_many``, three keys per stage):

  - ``voting:leaderboard:v1:<stage id>`` (``CACHE_KEY``) — the **payload**: the board
    (entries with every count), the stage's visibility rule, its **facts** (name, campaign,
    status, rule, whether the campaign is public) and the contestants' picture URLs;
  - ``…:v2:<stage id>:head`` (``HEAD_KEY``) — the **head**: the payload without entries
    and pictures, plus what a read decides per request (``hidden_from``, the size of the
    board, the render ``basis``): all a public page needs to compute its ETag;
  - ``…:v2:<stage id>:api`` (``API_KEY``) — the API's JSON **body, already serialised**,
    with its ETag, for each visibility the rule can produce (counts shown and/or hidden)
    and the moment the one switches to the other.

  Pages add, lazily, their rendered HTML per view and language (``HTML_KEY``, with the
  ETag it was rendered for). A cache that is down is logged and skipped: the snapshot in
  PostgreSQL is the record.

The public read (``voting.counting.leaderboards.leaderboard_for_stage``) uses the cache, falls back to the latest
snapshot in the database, and never reads the vote ledger. Visibility is applied at read
time: the start of the hidden final hours (``hidden_from``) is compared with the clock on
every request, so it takes effect at that very moment; a change of rule reaches cached
readers with the next tick (it is read from the stage when the reader passes one).
"""

import datetime as dt
import hashlib
import json
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from campaigns.choices import CampaignStatus, ContestantStatus, StageStatus, Visibility
from campaigns.clock import db_now
from campaigns.models import Contestant, Stage
from campaigns.selectors import open_stages
from staff.models import OrgUnit
from voting.counting.leaderboards import (
    API_KEY,
    CACHE_KEY,
    CHANNELS,
    HEAD_KEY,
    api_body,
    api_etag,
    board_from_payload,
    hidden_from,
    latest_snapshot,
    rank_entries,
    stage_rules,
)
from voting.counting.tallies import counted_votes
from voting.models import LeaderboardSnapshot

logger = logging.getLogger(__name__)

DIGEST_DOMAIN = "service-star/leaderboard/v1"
# Stages whose board is still published; a closed stage gets its final board, and a
# finalised one is frozen.
PUBLISHED_STATUSES = (StageStatus.OPEN, StageStatus.CLOSED, StageStatus.PREVIEWED)


def canonical_counts(counted: dict[tuple[int, str], int]) -> dict[str, dict[str, int]]:
    """``{(contestant_id, channel): n}`` as ``{"<contestant_id>": {channel: n}}``, zeros dropped."""
    counts: dict[str, dict[str, int]] = {}
    for (contestant_id, channel), votes in sorted(counted.items()):
        if votes:
            counts.setdefault(str(contestant_id), {})[channel] = votes
    return counts


def chain_digest(*, stage_id: int, previous_digest: str, counts: dict[str, dict[str, int]]) -> str:
    """The digest of a counted state chained to the previous snapshot's digest ("" first)."""
    valid_votes = sum(n for channels in counts.values() for n in channels.values())
    canonical = json.dumps(counts, sort_keys=True, separators=(",", ":"))
    payload = f"{DIGEST_DOMAIN}|{stage_id}|{previous_digest}|{valid_votes}|{canonical}"
    return hashlib.sha256(payload.encode()).hexdigest()


def _branch_of(path: str, branches: dict[str, str]) -> tuple[str, str]:
    for code in path.strip("/").split("/"):
        if code in branches:
            return code, branches[code]
    return "", ""


def build_entries(stage: Stage, counts: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """The ranked board of ``stage`` for a counted state (two queries: contestants, branches)."""
    contestants = (
        Contestant.objects.filter(stage=stage)
        .exclude(status=ContestantStatus.WITHDRAWN)
        .select_related("staff_member__unit", "staff_member__position")
    )
    branches = dict(OrgUnit.objects.branches().values_list("code", "name"))
    entries = []
    for contestant in contestants:
        member = contestant.staff_member
        by_channel = counts.get(str(contestant.pk), {})
        branch, branch_name = _branch_of(member.unit.path, branches)
        entries.append(
            {
                "rank": 0,
                "contestant_id": contestant.pk,
                "employee_no": member.employee_no,
                "name": member.name,
                "unit": member.unit.name,
                "unit_path": member.unit.path,
                "branch": branch,
                "branch_name": branch_name,
                "position": member.position.code if member.position_id else "",
                "position_name": member.position.name if member.position_id else "",
                "votes": sum(by_channel.values()),
                **{channel: by_channel.get(channel, 0) for channel in CHANNELS},
            }
        )
    return rank_entries(entries)


def stage_facts(stage: Stage) -> dict[str, Any]:
    """What the public pages show of a stage besides its board (``stage.campaign`` loaded):
    names, status, visibility rule, and whether its campaign is public (not a draft)."""
    return {
        "name": stage.name,
        "campaign_id": stage.campaign_id,
        "campaign_name": stage.campaign.name,
        "public": stage.campaign.status != CampaignStatus.DRAFT,
        "status": stage.status,
        "visibility": stage.visibility,
        "hide_final_hours": stage.hide_final_hours,
        "closes_at": stage.closes_at,
    }


def stage_pictures(stage_id: int) -> dict[str, str]:
    """``{"<contestant id>": picture URL}`` (thumbnail, else photo) of the stage's
    contestants that have one (one query)."""
    rows = Contestant.objects.filter(stage_id=stage_id).values_list(
        "pk", "staff_member__thumbnail", "staff_member__photo"
    )
    return {
        str(pk): default_storage.url(thumb or photo) for pk, thumb, photo in rows if thumb or photo
    }


def render_basis(facts: dict[str, Any], pictures: dict[str, str]) -> str:
    """A digest of what a rendered page shows besides the board itself (the stage's facts
    and the pictures): part of the pages' ETags, so that cached HTML follows them."""
    text = json.dumps([facts, pictures], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cache_payload(
    stage: Stage, snapshot: LeaderboardSnapshot, facts: dict[str, Any], pictures: dict[str, str]
) -> dict[str, Any]:
    return {
        "stage": stage.pk,
        "snapshot": snapshot.pk,
        "published_at": snapshot.published_at.isoformat(),
        "cut": snapshot.digest,
        "valid_votes": snapshot.valid_votes,
        "is_final": snapshot.is_final,
        # The tick that last confirmed this board as current (the snapshot's own time is
        # when the state last changed): what the pages' "stale" marker measures. The
        # database clock, like the snapshot's published_at.
        "checked_at": db_now().isoformat(),
        "rules": stage_rules(stage),
        "facts": facts,
        "pictures": pictures,
        "basis": render_basis(facts, pictures),
        "entries": snapshot.entries,
    }


def _head(payload: dict[str, Any]) -> dict[str, Any]:
    rules = payload["rules"]
    return {
        "stage": payload["stage"],
        "cut": payload["cut"],
        "published_at": dt.datetime.fromisoformat(payload["published_at"]),
        "checked_at": dt.datetime.fromisoformat(payload["checked_at"]),
        "is_final": payload["is_final"],
        "facts": payload["facts"],
        "basis": payload["basis"],
        "n_entries": len(payload["entries"]),
        "ranks_only": rules["visibility"] == Visibility.RANKS_ONLY,
        "hidden_from": hidden_from(rules),
    }


def _api_blob(payload: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
    """The API's answers for every visibility the rule can produce: ``{visible: (etag, body)}``."""
    states = (
        [False] if head["ranks_only"] else [True] if head["hidden_from"] is None else [True, False]
    )
    bodies = {}
    for visible in states:
        board = board_from_payload(payload, visible=visible, source="cache")
        bodies[visible] = (api_etag(board), api_body(board))
    return {"ranks_only": head["ranks_only"], "hidden_from": head["hidden_from"], "bodies": bodies}


def _cache_board(stage: Stage, snapshot: LeaderboardSnapshot) -> None:
    # The stage as committed now (the caller's instance may hold an old campaign), and the
    # pictures: two small queries per tick, so that no read needs any.
    current = Stage.objects.select_related("campaign").get(pk=stage.pk)
    facts = stage_facts(current)
    payload = _cache_payload(current, snapshot, facts, stage_pictures(stage.pk))
    head = _head(payload)
    try:
        cache.set_many(
            {
                CACHE_KEY.format(stage_id=stage.pk): payload,
                HEAD_KEY.format(stage_id=stage.pk): head,
                API_KEY.format(stage_id=stage.pk): _api_blob(payload, head),
            },
            timeout=settings.VOTING_LEADERBOARD_CACHE_TIMEOUT,
        )
    except Exception as exc:  # noqa: BLE001 -- the cache is not the record (module docstring)
        logger.warning("leaderboard cache write failed for stage %s: %s", stage.pk, exc)


def publish_stage_leaderboard(stage: Stage, *, final: bool = False) -> LeaderboardSnapshot | None:
    """Publish ``stage``'s board if its counted state changed; return the current snapshot.

    Reads the counted state (one statement, the cut), and when it differs from the latest
    snapshot's (or ``final`` is asked and the latest is not final) inserts a new snapshot
    chained to it, in a savepoint: if another publisher inserted the same state or the
    same chain position first, the unique constraints refuse this one and the winner is
    returned. Then writes the board to the cache (errors logged, never raised). Takes no
    locks. Returns ``None`` only for a stage with no snapshot and nothing to publish.
    """
    counts = canonical_counts(counted_votes(stage))
    latest = latest_snapshot(stage)
    unchanged = latest is not None and latest.counts == counts
    if unchanged and (latest.is_final or not final):
        _cache_board(stage, latest)
        return latest
    snapshot = LeaderboardSnapshot(
        stage=stage,
        previous=latest,
        is_final=final,
        valid_votes=sum(n for channels in counts.values() for n in channels.values()),
        counts=counts,
        entries=build_entries(stage, counts),
        digest=chain_digest(
            stage_id=stage.pk,
            previous_digest=latest.digest if latest else "",
            counts=counts,
        ),
    )
    try:
        with transaction.atomic():
            snapshot.save()
    except IntegrityError:
        # Another publisher stored this state (or this chain position) first.
        logger.info("stage %s: leaderboard already published by another worker", stage.pk)
        snapshot = latest_snapshot(stage)
        if snapshot is None:  # pragma: no cover -- the winner's row is committed
            return None
    snapshot.refresh_from_db(fields=["published_at"])
    _cache_board(stage, snapshot)
    return snapshot


def publish_leaderboards() -> list[LeaderboardSnapshot]:
    """Publish every open stage's board, and the final board of closed stages.

    One ``publish_stage_leaderboard`` per stage whose status is open, closed or previewed
    (the last two as final boards, so a late invalidation after closing is published
    too). A failure of one stage is logged and does not stop the others. Returns the
    current snapshot of each stage published.
    """
    stages = list(open_stages()) + list(
        Stage.objects.filter(status__in=[s for s in PUBLISHED_STATUSES if s != StageStatus.OPEN])
    )
    published = []
    for stage in stages:
        try:
            snapshot = publish_stage_leaderboard(stage, final=stage.status != StageStatus.OPEN)
        except Exception:
            logger.exception("publishing the leaderboard of stage %s failed", stage.pk)
            continue
        if snapshot is not None:
            published.append(snapshot)
    return published
