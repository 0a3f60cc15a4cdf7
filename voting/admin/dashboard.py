"""Reads of the HR admin's stage dashboard: votes per hour, channel split, unique voters,
invalid-vote share, biggest movers, publication freshness and the last recount.

Admin only: the aggregates GROUP BY the vote ledger (two statements on the
``vote_recount`` index, which starts with stage and status), which the public pages never do.
Everything is read in a fixed, small number of queries whatever the stage's size:
totals (1), hours (1), the latest snapshot and the one about an hour before it (2), the
last recount (1), plus the board's cache (the latest snapshot again on a cache miss).

Hours are Asia/Shanghai (``TIME_ZONE``) clock hours; the chart covers the last
``CHART_HOURS`` hours up to and including the current one.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncHour

from campaigns.choices import StageStatus
from campaigns.models import Stage
from voting.choices import VoteChannel, VoteStatus
from voting.counting.boards import Freshness, board_freshness
from voting.counting.leaderboards import latest_snapshot, leaderboard_for_stage
from voting.counting.recount import last_recount_for_stage
from voting.models import LeaderboardSnapshot, RecountCheck, Vote

CHART_HOURS = 48
# Biggest movers compare the latest board with the newest one at least this much older.
MOVERS_WINDOW = dt.timedelta(hours=1)
MOVERS_SHOWN = 10
# Geometry of the votes-per-hour chart (SVG user units; the SVG scales to its box).
CHART_WIDTH, CHART_HEIGHT, CHART_BAR_GAP = 960, 180, 4


@dataclass(frozen=True)
class HourBar:
    """One hour of the chart: valid and invalidated votes cast in it, and the bar's box."""

    hour: dt.datetime
    valid: int
    invalid: int
    x: float
    y: float
    width: float
    height: float
    labelled: bool


@dataclass(frozen=True)
class ChannelShare:
    channel: str
    label: str
    votes: int
    percent: float
    offset: float


@dataclass(frozen=True)
class Mover:
    contestant_id: int
    employee_no: str
    name: str
    before: int
    after: int

    @property
    def change(self) -> int:
        """Places gained (positive) or lost (negative)."""
        return self.before - self.after


@dataclass(frozen=True)
class StageDashboard:
    """Everything the dashboard shows for one stage."""

    stage: Stage
    now: dt.datetime
    total: int
    valid: int
    invalid: int
    unique_voters: int
    channels: tuple[ChannelShare, ...]
    hours: tuple[HourBar, ...]
    hour_max: int
    latest: LeaderboardSnapshot | None
    earlier: LeaderboardSnapshot | None
    freshness: Freshness
    last_check: RecountCheck | None
    movers: tuple[Mover, ...] = field(default=())

    @property
    def invalid_percent(self) -> float:
        return round(100 * self.invalid / self.total, 1) if self.total else 0.0

    @property
    def is_open(self) -> bool:
        return self.stage.status == StageStatus.OPEN


def _hour_floor(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return moment.astimezone(zone).replace(minute=0, second=0, microsecond=0)


def votes_per_hour(
    stage: Stage, *, now: dt.datetime, hours: int = CHART_HOURS
) -> list[tuple[dt.datetime, int, int]]:
    """``(local hour, valid, invalidated)`` for each of the last ``hours`` clock hours of
    ``now`` (oldest first, empty hours included), in one GROUP BY."""
    zone = ZoneInfo(settings.TIME_ZONE)
    last = _hour_floor(now, zone)
    first = last - dt.timedelta(hours=hours - 1)
    rows = (
        Vote.objects.filter(
            stage=stage, cast_at__gte=first, cast_at__lt=last + dt.timedelta(hours=1)
        )
        .annotate(hour=TruncHour("cast_at", tzinfo=zone))
        .values("hour")
        .annotate(
            valid=Count("pk", filter=Q(status=VoteStatus.VALID)),
            invalid=Count("pk", filter=~Q(status=VoteStatus.VALID)),
        )
        .order_by()
    )
    found = {row["hour"].astimezone(zone): (row["valid"], row["invalid"]) for row in rows}
    return [
        (hour, *found.get(hour, (0, 0)))
        for hour in (first + dt.timedelta(hours=i) for i in range(hours))
    ]


def _chart(hours: list[tuple[dt.datetime, int, int]]) -> tuple[tuple[HourBar, ...], int]:
    top = max((valid + invalid for _h, valid, invalid in hours), default=0)
    step = CHART_WIDTH / max(len(hours), 1)
    bars = []
    for index, (hour, valid, invalid) in enumerate(hours):
        height = CHART_HEIGHT * (valid + invalid) / top if top else 0.0
        bars.append(
            HourBar(
                hour=hour,
                valid=valid,
                invalid=invalid,
                x=round(index * step + CHART_BAR_GAP / 2, 2),
                y=round(CHART_HEIGHT - height, 2),
                width=round(step - CHART_BAR_GAP, 2),
                height=round(height, 2),
                labelled=hour.hour % 6 == 0,
            )
        )
    return tuple(bars), top


def movers(
    latest: LeaderboardSnapshot | None, earlier: LeaderboardSnapshot | None
) -> tuple[Mover, ...]:
    """Contestants whose rank changed from ``earlier`` to ``latest``, biggest change first."""
    if latest is None or earlier is None:
        return ()
    before = {e["contestant_id"]: e["rank"] for e in earlier.entries}
    moved = [
        Mover(
            e["contestant_id"], e["employee_no"], e["name"], before[e["contestant_id"]], e["rank"]
        )
        for e in latest.entries
        if e["contestant_id"] in before and before[e["contestant_id"]] != e["rank"]
    ]
    moved.sort(key=lambda m: (-abs(m.change), m.after, m.employee_no))
    return tuple(moved[:MOVERS_SHOWN])


def _channel_shares(counts: dict[str, int], valid: int) -> tuple[ChannelShare, ...]:
    shares, offset = [], 0.0
    for channel in VoteChannel:
        votes = counts[channel.value]
        percent = round(100 * votes / valid, 1) if valid else 0.0
        shares.append(ChannelShare(channel.value, str(channel.label), votes, percent, offset))
        offset = round(offset + percent, 1)
    return tuple(shares)


def stage_dashboard(stage: Stage, *, now: dt.datetime) -> StageDashboard:
    """The dashboard of ``stage`` as of ``now`` (module docstring: what, in how many queries)."""
    valid = Q(status=VoteStatus.VALID)
    totals: dict[str, Any] = Vote.objects.filter(stage=stage).aggregate(
        total=Count("pk"),
        valid=Count("pk", filter=valid),
        voters=Count("voter_hash", filter=valid, distinct=True),
        **{c: Count("pk", filter=valid & Q(channel=c)) for c in VoteChannel.values},
    )
    bars, top = _chart(votes_per_hour(stage, now=now))
    latest = latest_snapshot(stage)
    earlier = None
    if latest is not None:
        earlier = (
            LeaderboardSnapshot.objects.filter(
                stage=stage, published_at__lte=latest.published_at - MOVERS_WINDOW
            )
            .order_by("-id")
            .first()
        )
    board = leaderboard_for_stage(stage)
    return StageDashboard(
        stage=stage,
        now=now,
        total=totals["total"],
        valid=totals["valid"],
        invalid=totals["total"] - totals["valid"],
        unique_voters=totals["voters"],
        channels=_channel_shares(totals, totals["valid"]),
        hours=bars,
        hour_max=top,
        latest=latest,
        earlier=earlier,
        freshness=board_freshness(board, is_open=stage.status == StageStatus.OPEN, now=now),
        last_check=last_recount_for_stage(stage),
        movers=movers(latest, earlier),
    )
