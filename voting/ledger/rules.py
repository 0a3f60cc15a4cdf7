"""The rules that admit a vote, as plain functions on plain values: the stage window, the
channels a stage counts, the vote limits and what a voter has left. Both vote paths decide by them (the web vote in
``voting.ledger.services``, the SMS batch ingest), so one rule serves both.

Stage window: a vote counts when the stage's status is ``open`` and
``opens_at <= now < closes_at`` (opening inclusive, closing exclusive; a missing time is
no bound). ``now`` is always the database clock (``campaigns.clock.db_now`` or the vote
statement's own ``now()``), never the application's.

Channels: a stage counts votes by a channel (web, SMS, audience) only when its rules weight
that channel's component above 0 (``campaigns.validators.weighted_channels``). A vote by
another channel would count for nothing, so every path refuses it (``channel_not_used``)
and the public pages do not offer it.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.utils.translation import gettext as _

from campaigns.choices import StageStatus
from campaigns.models import Stage
from campaigns.validators import weighted_channels
from staff.identifiers import candidate_lookup
from voting.choices import LimitKind, VoteChannel
from voting.exceptions import ChannelNotUsedError, LimitReachedError, UnknownCandidateError

# One limit for every reason the voting app records (invalidation, restore, bulk jobs,
# tally repair): the audit log stores it in full.


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


def clean_employee_no(value: object) -> str:
    """The candidate's number as stored: a vote code (digits) or an employee number
    (letters, digits, ``-``; normalised to upper case), or ``UnknownCandidateError``.

    Runs before any query: a 40-digit number or a negative one never reaches the database.
    Which column a number is looked up in is ``staff.identifiers.candidate_lookup``'s rule.
    """
    found = candidate_lookup(value)
    if found is None:
        raise UnknownCandidateError(_("There is no candidate with this number."))
    return found[1]


def accepts_votes(stage: Stage, now: datetime) -> bool:
    """The window rule of the module docstring: ``open`` and ``opens_at <= now < closes_at``."""
    return window_open(stage.status, stage.opens_at, stage.closes_at, now)


def window_open(
    status: str, opens_at: datetime | None, closes_at: datetime | None, now: datetime
) -> bool:
    """``accepts_votes`` on plain values (the web vote path reads no ``Stage`` instance).
    The closing half is ``Stage.accepts_entries_at`` (a test holds the two together)."""
    return (
        status == StageStatus.OPEN
        and (closes_at is None or now < closes_at)
        and (opens_at is None or opens_at <= now)
    )


def channel_used(weights: Mapping[str, Any] | Any, channel: str) -> bool:
    """Whether a stage whose rules weight its components ``weights`` counts votes by
    ``channel`` (module docstring)."""
    return channel in weighted_channels(weights)


def channel_not_used_message(channel: str) -> str:
    """Why a vote by ``channel`` is refused in a stage that does not count it (active
    language)."""
    if channel == VoteChannel.WEB:
        return _("This stage does not count web votes.")
    if channel == VoteChannel.SMS:
        return _("This stage does not count SMS votes.")
    return _("This stage does not count audience votes.")


def check_channel_used(weights: Mapping[str, Any] | Any, channel: str) -> None:
    """Raise ``ChannelNotUsedError`` unless ``channel_used(weights, channel)``."""
    if not channel_used(weights, channel):
        raise ChannelNotUsedError(channel_not_used_message(channel))


def check_vote_limits(
    stage: Stage | StageLimits, *, today: int, in_stage: int, for_candidate: int
) -> None:
    """Raise ``LimitReachedError`` if one more vote would pass a limit of ``stage``, given the
    voter's usage (per stage, today, for the candidate); checked in that order, 0 = no limit.
    """
    if stage.votes_per_stage and in_stage >= stage.votes_per_stage:
        raise LimitReachedError(
            _("You have used all %(n)s of your votes in this stage.")
            % {"n": stage.votes_per_stage},
            limit=LimitKind.STAGE,
        )
    if stage.votes_per_day and today >= stage.votes_per_day:
        raise LimitReachedError(
            _("You have used all %(n)s of your votes for today. New votes from midnight.")
            % {"n": stage.votes_per_day},
            limit=LimitKind.DAY,
        )
    if stage.votes_per_candidate and for_candidate >= stage.votes_per_candidate:
        raise LimitReachedError(
            _("You have given this candidate all %(n)s of your votes for them.")
            % {"n": stage.votes_per_candidate},
            limit=LimitKind.CANDIDATE,
        )


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
