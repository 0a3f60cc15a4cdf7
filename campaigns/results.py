"""The result engine: from component values to a ranking with a cut line.

Terms
-----
- **Component**: one measured quantity of a contestant in a stage — web votes, SMS votes,
  audience votes, judge score, customer satisfaction (``ComponentKey``). Providers in upper
  apps supply raw values (see ``campaigns.components``).
- **Normalisation**: each raw value becomes 0-100. Votes are a share of the stage's top
  vote-getter (``raw / max x 100``); scores are placed on their own scale
  (``(raw - low) / (high - low) x 100``). Normalised values are rounded half-up to 4
  decimal places, and everything after is computed on exactly those stored values, so the
  table an admin sees explains the ranking to the last digit.
- **Weighting**: ``total = sum of weight x normalised`` over the stage's weights (decimal
  strings adding up to 1, so totals are on 0-100 too). A weighted component with no
  provider contributes 0 and is listed as unavailable. Decimal throughout, never float.
- **Ranking**: by total, highest first; equal totals are compared by the stage's
  ``tie_break_order`` (component keys, normalised value, highest first). Entries equal on
  all of these are *tied* and share a rank (competition ranking: 1, 2, 2, 4).
- **Quota and cut line**: the best ``quota`` entries qualify. With per-position quotas
  (``{position_code: n}`` adding up to the quota) each position is its own list with its
  own cut line; entries of a position without a quota cannot qualify.
- **Ties at the cut**: a tied class that straddles the cut line (more tied entries than
  places left) is never split silently. With ``allow_tie_overflow`` the whole class
  qualifies (the quota is exceeded and the overflow is reported); otherwise every member
  is ``tied_at_cut`` and the group is reported for an admin to decide
  (``services.resolve_tie``) before the stage can be finalised.
- **Reserves**: after the cut, the next ``reserve_count`` entries (per position list) are
  reserves, the pool ``services.promote_reserve`` draws from when a qualifier withdraws. A
  tied class at the reserve line is listed whole, for the same reason.

Nothing here is random and nothing is decided by database id: ids order rows only *within*
a tied class, for a stable display, and never change a rank or an outcome. The ranking is a
pure function of its input, so hypothesis tests it without a database.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby
from typing import TYPE_CHECKING

from django.utils import timezone

from campaigns.choices import COMPONENT_CHANNELS, ContestantStatus, ResultOutcome
from campaigns.components import Scale, get_provider
from campaigns.served import served_votes_by_contestant
from campaigns.validators import parse_weights

if TYPE_CHECKING:
    from campaigns.models import Stage

FOUR_PLACES = Decimal("0.0001")
HUNDRED = Decimal(100)
ZERO = Decimal(0)
# The key of the single list when a stage has no per-position quotas.
ALL_POSITIONS = ""


@dataclass(frozen=True)
class RankEntry:
    """One contestant as the ranking sees it: normalised components and the total."""

    contestant_id: int
    position_code: str
    components: Mapping[str, Decimal]
    total: Decimal


@dataclass(frozen=True)
class RankedEntry:
    entry: RankEntry
    rank: int  # over the whole stage
    position_rank: int  # within its position list (equals rank without position quotas)
    outcome: str  # ResultOutcome


@dataclass(frozen=True)
class TieGroup:
    """A tied class straddling a cut line: ``places`` of ``contestant_ids`` can qualify."""

    position_code: str
    contestant_ids: tuple[int, ...]
    places: int
    position_rank: int


@dataclass(frozen=True)
class Ranking:
    rows: tuple[RankedEntry, ...]
    tie_groups: tuple[TieGroup, ...]  # unresolved; empty with allow_tie_overflow
    overflow_groups: tuple[TieGroup, ...]  # admitted whole by allow_tie_overflow
    shortfall: Mapping[str, int]  # position list → places nobody could fill

    def ids_with(self, outcome: str) -> list[int]:
        return [row.entry.contestant_id for row in self.rows if row.outcome == outcome]

    @property
    def qualified_ids(self) -> frozenset[int]:
        return frozenset(self.ids_with(ResultOutcome.QUALIFIED))

    @property
    def reserve_ids(self) -> tuple[int, ...]:
        """Reserves best first (ties in id order, which decides nothing)."""
        return tuple(self.ids_with(ResultOutcome.RESERVE))

    @property
    def tied_ids(self) -> frozenset[int]:
        return frozenset(self.ids_with(ResultOutcome.TIED_AT_CUT))


def _sort_key(entry: RankEntry, tie_break_order: tuple[str, ...]) -> tuple[Decimal, ...]:
    return (-entry.total, *(-entry.components.get(key, ZERO) for key in tie_break_order))


def _competition_ranks(keys: list[tuple[Decimal, ...]]) -> list[int]:
    """Ranks of already sorted keys: equal keys share the rank of the first (1, 2, 2, 4)."""
    ranks: list[int] = []
    for index, key in enumerate(keys):
        ranks.append(ranks[-1] if index and keys[index - 1] == key else index + 1)
    return ranks


def rank_contestants(
    entries: Iterable[RankEntry],
    *,
    quota: int,
    position_quotas: Mapping[str, int] | None,
    tie_break_order: Iterable[str],
    allow_tie_overflow: bool,
    reserve_count: int = 5,
) -> Ranking:
    """Rank entries and draw the cut line(s). Pure and deterministic; see the module docstring.

    ``position_quotas`` (when non-empty) must add up to ``quota``; that is validated with
    the stage's rules, not here.
    """
    # Over 60 lines on purpose: one pass that sorts, ranks and draws every cut line,
    # whose steps share the sorted order; split, each piece would need it all again.
    order = tuple(tie_break_order)
    ordered = sorted(entries, key=lambda e: (_sort_key(e, order), e.contestant_id))
    if len({e.contestant_id for e in ordered}) != len(ordered):
        raise ValueError("Each contestant may appear only once.")
    keys = [_sort_key(e, order) for e in ordered]
    overall_rank = dict(
        zip((e.contestant_id for e in ordered), _competition_ranks(keys), strict=True)
    )

    quotas: dict[str, int] = dict(position_quotas) if position_quotas else {ALL_POSITIONS: quota}

    def list_of(entry: RankEntry) -> str:
        if not position_quotas:
            return ALL_POSITIONS
        return entry.position_code if entry.position_code in quotas else "\x00unlisted"

    outcomes: dict[int, tuple[int, str]] = {}
    tie_groups: list[TieGroup] = []
    overflow: list[TieGroup] = []
    shortfall: dict[str, int] = {}
    lists = sorted({list_of(e) for e in ordered} | set(quotas))
    for list_code in lists:
        members = [e for e in ordered if list_of(e) == list_code]
        list_ranks = _competition_ranks([_sort_key(e, order) for e in members])
        places = quotas.get(list_code, 0)
        reserves_left = reserve_count if places else 0
        index = 0
        for _key, tied in groupby(members, key=lambda e: _sort_key(e, order)):
            tied_class = list(tied)
            class_rank = list_ranks[index]
            index += len(tied_class)
            ids = [e.contestant_id for e in tied_class]
            if places and len(tied_class) <= places:
                outcome = ResultOutcome.QUALIFIED
                places -= len(tied_class)
            elif places:
                group = TieGroup(list_code, tuple(ids), places, class_rank)
                if allow_tie_overflow:
                    outcome = ResultOutcome.QUALIFIED
                    overflow.append(group)
                else:
                    outcome = ResultOutcome.TIED_AT_CUT
                    tie_groups.append(group)
                places = 0
            elif reserves_left > 0:
                outcome = ResultOutcome.RESERVE
                reserves_left -= len(tied_class)
            else:
                outcome = ResultOutcome.ELIMINATED
            for contestant_id in ids:
                outcomes[contestant_id] = (class_rank, outcome)
        if places and list_code in quotas:
            shortfall[list_code] = places

    rows = tuple(
        RankedEntry(
            entry=e,
            rank=overall_rank[e.contestant_id],
            position_rank=outcomes[e.contestant_id][0],
            outcome=outcomes[e.contestant_id][1],
        )
        for e in ordered
    )
    return Ranking(
        rows=rows,
        tie_groups=tuple(tie_groups),
        overflow_groups=tuple(overflow),
        shortfall=shortfall,
    )


# Stage-level computation (reads the database and the providers) ---------------------------


@dataclass(frozen=True)
class ComponentValue:
    raw: Decimal | None  # None when the component is unavailable
    normalised: Decimal
    weight: Decimal
    weighted: Decimal

    @property
    def available(self) -> bool:
        return self.raw is not None

    def as_json(self) -> dict[str, str | bool | None]:
        return {
            "raw": None if self.raw is None else str(self.raw),
            "normalised": str(self.normalised),
            "weight": str(self.weight),
            "weighted": str(self.weighted),
            "available": self.available,
        }


@dataclass(frozen=True)
class ResultLine:
    contestant_id: int
    position_code: str
    components: Mapping[str, ComponentValue]
    channels: Mapping[str, int]  # raw votes per channel: web, sms, audience
    total: Decimal
    served_votes: int = 0  # valid votes of served customers, all channels


@dataclass(frozen=True)
class StageResults:
    stage_id: int
    lines: Mapping[int, ResultLine]  # by contestant id
    ranking: Ranking
    unavailable: tuple[str, ...]  # weighted or tie-break components without a provider
    computed_at: datetime = field(default_factory=timezone.now)


def normalise(raw: Decimal, *, scale: Scale, top: Decimal) -> Decimal:
    """One raw value on 0-100, rounded half-up to 4 places (see the module docstring)."""
    if scale.kind == "share_of_top":
        value = ZERO if top <= 0 else raw / top * HUNDRED
    else:
        value = (raw - scale.low) / (scale.high - scale.low) * HUNDRED
    return min(max(value, ZERO), HUNDRED).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def _channel_votes(
    stage: "Stage", ids: list[int], raw_by_key: Mapping[str, Mapping[int, Decimal] | None]
) -> dict[str, dict[int, Decimal]]:
    """Valid votes per channel and contestant, whether or not the stage weights the channel.

    A channel's subtotal is what its voters did, not what it scores: a stage that weights
    SMS votes only still shows the web votes its ledger holds. A weighted component's raw
    values are reused; an unweighted one is read from its provider. A channel without a
    provider counts 0.
    """
    votes: dict[str, dict[int, Decimal]] = {}
    for key, channel in COMPONENT_CHANNELS.items():
        raw = raw_by_key.get(key)
        if raw is None and key not in raw_by_key:
            provider = get_provider(key)
            if provider is not None:
                fetched = provider.fetch(stage)
                raw = {cid: Decimal(fetched.get(cid, 0)) for cid in ids}
        votes[channel] = dict(raw) if raw is not None else dict.fromkeys(ids, ZERO)
    return votes


def compute_stage_results(stage: "Stage") -> StageResults:
    """Gather, normalise, weight and rank the stage's contestants that are still in.

    Reads: the contestants (one query), whatever each registered provider reads and the
    served vote counter (``campaigns.served``). Writes nothing. Raises
    ``django.core.exceptions.ValidationError`` for unusable weights.
    """
    # Over 60 lines on purpose: the gather → normalise → weight → rank pipeline reads
    # best top to bottom; each step is a few lines over the same per-key dicts.
    weights = parse_weights(stage.weights)
    tie_break_order = [key for key in stage.tie_break_order if key]
    keys = list(dict.fromkeys([*weights, *tie_break_order]))
    contestants = list(
        stage.contestants.filter(status=ContestantStatus.IN)
        .select_related("staff_member__position")
        .only("id", "staff_member__position__code")
    )
    ids = [c.id for c in contestants]

    raw_by_key: dict[str, dict[int, Decimal] | None] = {}
    for key in keys:
        provider = get_provider(key)
        if provider is None:
            raw_by_key[key] = None
            continue
        fetched = provider.fetch(stage)
        raw_by_key[key] = {cid: Decimal(fetched.get(cid, 0)) for cid in ids}

    normalised: dict[str, dict[int, Decimal]] = {}
    for key in keys:
        raw = raw_by_key[key]
        provider = get_provider(key)
        if raw is None or provider is None:
            normalised[key] = dict.fromkeys(ids, ZERO.quantize(FOUR_PLACES))
            continue
        top = max(raw.values(), default=ZERO)
        normalised[key] = {
            cid: normalise(value, scale=provider.scale, top=top) for cid, value in raw.items()
        }

    channel_votes = _channel_votes(stage, ids, raw_by_key)
    served = served_votes_by_contestant(stage)
    lines: dict[int, ResultLine] = {}
    entries: list[RankEntry] = []
    for contestant in contestants:
        cid = contestant.id
        values: dict[str, ComponentValue] = {}
        for key in keys:
            raw = raw_by_key[key]
            weight = weights.get(key, ZERO)
            norm = normalised[key][cid]
            values[key] = ComponentValue(
                raw=None if raw is None else raw[cid],
                normalised=norm,
                weight=weight,
                weighted=(weight * norm).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP),
            )
        total = sum((v.weighted for v in values.values()), ZERO)
        channels = {
            channel: int(votes[cid].to_integral_value(rounding=ROUND_HALF_UP))
            for channel, votes in channel_votes.items()
        }
        position_code = contestant.staff_member.position.code
        lines[cid] = ResultLine(
            cid, position_code, values, channels, total, served_votes=served.get(cid, 0)
        )
        entries.append(
            RankEntry(
                contestant_id=cid,
                position_code=position_code,
                components={key: v.normalised for key, v in values.items()},
                total=total,
            )
        )

    ranking = rank_contestants(
        entries,
        quota=stage.quota,
        position_quotas=stage.position_quotas or None,
        tie_break_order=tie_break_order,
        allow_tie_overflow=stage.allow_tie_overflow,
        reserve_count=stage.reserve_count,
    )
    return StageResults(
        stage_id=stage.pk,
        lines=lines,
        ranking=ranking,
        unavailable=tuple(key for key in keys if raw_by_key[key] is None),
    )
