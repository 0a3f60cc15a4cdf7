"""Read functions of the voting app: allowances, receipts, per-channel counts, the outbox."""

import datetime as dt
import re
from dataclasses import dataclass
from typing import NamedTuple

from django.db.models import Count, Q

from campaigns.clock import db_now, local_day
from campaigns.models import Stage
from voting.choices import RECEIPT_ALPHABET, RECEIPT_LENGTH, VoteStatus
from voting.models import Vote

_RECEIPT = re.compile(rf"[{RECEIPT_ALPHABET}]{{{RECEIPT_LENGTH}}}")
# Crockford base32 reads O as 0 and I, L as 1, and ignores hyphens and spaces.
_RECEIPT_FOLD = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})


@dataclass(frozen=True)
class VoteUsage:
    """How many ledger rows (valid or not) a voter has in a stage: in all, on one local
    day, and for one contestant."""

    stage: int
    today: int
    candidate: int


class StageLimits(NamedTuple):
    """A stage's vote limits as plain values (0 = unlimited): what the web vote path reads
    instead of a whole ``Stage``; anything with these three attributes will do."""

    votes_per_day: int
    votes_per_stage: int
    votes_per_candidate: int

    @classmethod
    def of(cls, stage: Stage) -> "StageLimits":
        return cls(stage.votes_per_day, stage.votes_per_stage, stage.votes_per_candidate)


@dataclass(frozen=True)
class RemainingVotes:
    """Votes a voter may still cast; ``None`` means unlimited.

    ``today`` is what the voter can still do today: the smaller of the day's and the
    stage's allowances. ``candidate`` is only set when asked for one contestant.
    """

    today: int | None
    stage: int | None
    candidate: int | None = None


def vote_usage(
    stage: Stage | int,
    voter_hash: str,
    *,
    day: dt.date,
    contestant_id: int | None = None,
    up_to_vote_id: int | None = None,
) -> VoteUsage:
    """Count the voter's votes in ``stage`` in one aggregate query (index on voter, stage).

    Invalidated votes count too: an invalidation does not give the allowance back.
    ``up_to_vote_id`` counts only votes up to that one (one voter's votes are serialised by
    the voter lock, so their ids are in commit order): the usage as it was when it was cast.
    """
    votes = Vote.objects.filter(stage=stage, voter_hash=voter_hash)
    if up_to_vote_id is not None:
        votes = votes.filter(pk__lte=up_to_vote_id)
    counts = votes.aggregate(
        stage=Count("pk"),
        today=Count("pk", filter=Q(local_day=day)),
        candidate=Count("pk", filter=Q(contestant_id=contestant_id or 0)),
    )
    return VoteUsage(stage=counts["stage"], today=counts["today"], candidate=counts["candidate"])


def _left(limit: int, used: int) -> int | None:
    return None if limit == 0 else max(limit - used, 0)


def remaining_from_usage(
    stage: Stage | StageLimits, usage: VoteUsage, *, with_candidate: bool = False
) -> RemainingVotes:
    """The allowances left after ``usage`` under ``stage``'s limits (0 means unlimited)."""
    day_left = _left(stage.votes_per_day, usage.today)
    stage_left = _left(stage.votes_per_stage, usage.stage)
    today = min((n for n in (day_left, stage_left) if n is not None), default=None)
    candidate = _left(stage.votes_per_candidate, usage.candidate) if with_candidate else None
    return RemainingVotes(today=today, stage=stage_left, candidate=candidate)


def remaining_votes(
    stage: Stage, voter_hash: str, *, contestant_id: int | None = None
) -> RemainingVotes:
    """What ``voter_hash`` may still cast in ``stage`` today, by the database clock's local
    day (Asia/Shanghai); with ``contestant_id``, also for that contestant. A read only: the
    answer may be stale by the time a vote is cast, where ``cast_vote`` decides again."""
    usage = vote_usage(stage, voter_hash, day=local_day(db_now()), contestant_id=contestant_id)
    return remaining_from_usage(stage, usage, with_candidate=contestant_id is not None)


def normalize_receipt_code(code: str) -> str | None:
    """The canonical form of a receipt code as a person may type it, or ``None``."""
    folded = str(code or "").strip().upper().translate(_RECEIPT_FOLD)
    return folded if _RECEIPT.fullmatch(folded) else None


def vote_by_receipt(code: str) -> Vote | None:
    """The vote with this receipt code (typed loosely), with its stage, campaign and
    candidate loaded; ``None`` if there is none. A malformed code costs no query."""
    canonical = normalize_receipt_code(code)
    if canonical is None:
        return None
    return (
        Vote.objects.select_related("stage__campaign", "contestant__staff_member")
        .filter(receipt_code=canonical)
        .first()
    )


def valid_votes_by_contestant(stage: Stage | int, *, channel: str) -> dict[int, int]:
    """Valid votes per contestant of ``stage`` on one channel, in one aggregate query."""
    rows = (
        Vote.objects.filter(stage=stage, channel=channel, status=VoteStatus.VALID)
        .values("contestant_id")
        .annotate(votes=Count("pk"))
        .order_by()
    )
    return {row["contestant_id"]: row["votes"] for row in rows}
