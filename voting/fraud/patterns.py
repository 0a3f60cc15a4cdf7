"""Fraud review: the suspicious-vote patterns, their clusters, and the vote filters that the
admin changelist and the background invalidation job share.

The ledger keeps no personal data to look at: only keyed hashes (``voter_hash``,
``ip_hash``, ``user_agent_hash``) and the masked phone (``138****5678``). Every pattern
below is therefore computed from hashes, masks and the database clock, never from a phone
number or an IP address.

Patterns (thresholds are settings, read at call time; defaults in brackets):

* **ip** — many votes for one candidate from one IP: at least ``VOTING_FRAUD_IP_VOTES``
  [5] votes with the same ``ip_hash`` for the same contestant inside one window of
  ``VOTING_FRAUD_IP_WINDOW_MINUTES`` [10] minutes.
* **subnet** — the same for one /24 (IPv4) or /48 (IPv6) network, at least
  ``VOTING_FRAUD_SUBNET_VOTES`` [20] votes in ``VOTING_FRAUD_SUBNET_WINDOW_MINUTES`` [10]
  minutes, grouped by ``Vote.ip_subnet_hash`` (``SUBNET_FIELD``, a keyed hash of the
  network made by ``voting.fingerprints.hash_ip_subnet``; ``ip_hash`` hashes the whole
  address, so the network cannot be derived from it). Votes without one (SMS, or cast
  before the column existed) are left out. The pattern is offered only while the model
  has the column (``subnet_available``).
* **sequence** — consecutive phone numbers: at least ``VOTING_FRAUD_SEQUENCE_VOTERS`` [4]
  different voters for one candidate inside one window of
  ``VOTING_FRAUD_SEQUENCE_WINDOW_MINUTES`` [30] minutes whose masked numbers agree on
  everything but the last ``VOTING_FRAUD_SEQUENCE_DIGITS`` [1] digit(s): ``138****5670`` …
  ``138****5679`` form one block of 10. A script walking through consecutive numbers
  always lands in one block; different people land there by chance only when their hidden
  middle digits differ, which for four voters of one candidate in half an hour is rare
  (about 1 in 40,000 cells per voter). The mask hides the middle four digits, so a hit is
  "looks consecutive"; reviewers confirm with the cluster page before invalidating.

Windows are aligned on the clock (epoch seconds divided by the window length), so one
pass of ``GROUP BY`` over a stage finds every cluster in linear time; a burst that
straddles a window boundary is split, which is the price of not comparing every vote
with every other. Patterns count votes whatever their status, so invalidating part of a
cluster never makes the rest of it look clean (the background job relies on this).

A **cluster key** names one cluster: ``ip:<contestant>:<ip hash>:<window>``,
``subnet:<contestant>:<subnet hash>:<window>`` or
``sequence:<contestant>:<masked block>:<window>``; the changelist filter ``suspicious``
accepts a pattern name or one cluster key.
"""

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    CharField,
    Count,
    Expression,
    F,
    Func,
    Max,
    Min,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast, Concat, Left
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Contestant
from voting.choices import VoteStatus
from voting.models import Vote

PATTERN_IP = "ip"
PATTERN_SUBNET = "subnet"
PATTERN_SEQUENCE = "sequence"
PATTERN_ANY = "any"
# The column the subnet pattern needs (see the module docstring).
SUBNET_FIELD = "ip_subnet_hash"
# Mainland mobile numbers are masked as 138****5678: 11 characters.
MASK_LENGTH = 11

PATTERN_LABELS = {
    PATTERN_IP: _("Same IP, many votes for one candidate"),
    PATTERN_SUBNET: _("Same /24 subnet, many votes for one candidate"),
    PATTERN_SEQUENCE: _("Consecutive phone numbers for one candidate"),
    PATTERN_ANY: _("Any suspicious pattern"),
}
_CLUSTER_KEY = re.compile(r"(ip|subnet|sequence):([0-9]{1,18}):([0-9a-f*]{1,64}):(-?[0-9]{1,12})")
_MASK_BLOCK = re.compile(r"[0-9]{3}\*{4}[0-9]{1,4}")


class EpochWindow(Func):
    """The number of the clock-aligned window of ``seconds`` that a datetime falls in.

    ``floor(epoch / seconds)``; on SQLite the stored UTC text is read with ``strftime``.
    """

    output_field = BigIntegerField()

    def __init__(self, expression: Any, *, seconds: int) -> None:
        super().__init__(expression)
        self.seconds = max(int(seconds), 1)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        return super().as_sql(
            compiler,
            connection,
            template=f"CAST(FLOOR(EXTRACT(EPOCH FROM %(expressions)s) / {self.seconds}) AS bigint)",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        return super().as_sql(
            compiler,
            connection,
            template=f"(CAST(strftime('%%%%s', %(expressions)s) AS integer) / {self.seconds})",
            **extra,
        )


@dataclass(frozen=True)
class Pattern:
    """One suspicious pattern: what it groups by and the threshold of a cluster."""

    name: str
    key_field: str
    window_seconds: int
    threshold: int
    count_distinct_voters: bool

    def key_expression(self) -> Expression:
        if self.name == PATTERN_SEQUENCE:
            digits = min(max(int(settings.VOTING_FRAUD_SEQUENCE_DIGITS), 1), 4)
            return Left("phone_masked", MASK_LENGTH - digits)
        return F(self.key_field)

    def annotate(self, votes: QuerySet[Vote], *, select: bool = True) -> QuerySet[Vote]:
        """Add ``fraud_key`` (what the pattern groups on) and ``fraud_window``; with
        ``select=False`` as aliases for filtering only."""
        add = votes.annotate if select else votes.alias
        return add(
            fraud_key=self.key_expression(),
            fraud_window=EpochWindow("cast_at", seconds=self.window_seconds),
        )

    def cluster_id(self) -> Expression:
        """The cluster key of a vote annotated by ``annotate`` (module docstring)."""
        return Concat(
            Value(f"{self.name}:"),
            Cast("contestant_id", CharField()),
            Value(":"),
            F("fraud_key"),
            Value(":"),
            Cast("fraud_window", CharField()),
            output_field=CharField(),
        )

    def clusters(self, base: QuerySet[Vote]) -> QuerySet:
        """Grouped rows ``contestant_id, fraud_key, fraud_window, votes, voters`` of the
        clusters among ``base`` (one ``GROUP BY`` … ``HAVING``)."""
        measure = "voters" if self.count_distinct_voters else "votes"
        return (
            self.annotate(base.exclude(**{self.key_field: ""}))
            .values("contestant_id", "fraud_key", "fraud_window")
            .annotate(
                votes=Count("pk"),
                voters=Count("voter_hash", distinct=True),
                valid=Count("pk", filter=Q(status=VoteStatus.VALID)),
                first_at=Min("cast_at"),
                last_at=Max("cast_at"),
            )
            .filter(**{f"{measure}__gte": self.threshold})
            .order_by()
        )


def subnet_available() -> bool:
    """Whether the ledger stores a subnet hash (the subnet pattern needs it)."""
    return any(f.name == SUBNET_FIELD for f in Vote._meta.get_fields())


def patterns() -> dict[str, Pattern]:
    """The active patterns with today's settings, by name."""
    found = {
        PATTERN_IP: Pattern(
            PATTERN_IP,
            "ip_hash",
            int(settings.VOTING_FRAUD_IP_WINDOW_MINUTES) * 60,
            int(settings.VOTING_FRAUD_IP_VOTES),
            count_distinct_voters=False,
        ),
        PATTERN_SEQUENCE: Pattern(
            PATTERN_SEQUENCE,
            "phone_masked",
            int(settings.VOTING_FRAUD_SEQUENCE_WINDOW_MINUTES) * 60,
            int(settings.VOTING_FRAUD_SEQUENCE_VOTERS),
            count_distinct_voters=True,
        ),
    }
    if subnet_available():
        found[PATTERN_SUBNET] = Pattern(
            PATTERN_SUBNET,
            SUBNET_FIELD,
            int(settings.VOTING_FRAUD_SUBNET_WINDOW_MINUTES) * 60,
            int(settings.VOTING_FRAUD_SUBNET_VOTES),
            count_distinct_voters=False,
        )
    return found


def parse_cluster_key(value: str) -> tuple[Pattern, int, str, int] | None:
    """``(pattern, contestant_id, key, window)`` of a cluster key, or ``None``."""
    match = _CLUSTER_KEY.fullmatch(value or "")
    if match is None:
        return None
    pattern = patterns().get(match[1])
    if pattern is None:
        return None
    key = match[3]
    if pattern.name == PATTERN_SEQUENCE and not _MASK_BLOCK.fullmatch(key):
        return None
    return pattern, int(match[2]), key, int(match[4])


def suspicious_votes(
    votes: QuerySet[Vote], suspicious: str, *, base: QuerySet[Vote] | None = None
) -> QuerySet[Vote]:
    """``votes`` narrowed to those in a cluster of pattern ``suspicious`` (a pattern name,
    ``any``, or one cluster key). Clusters are found among ``base`` (default: every vote),
    whatever the votes' status; an unknown value gives no votes."""
    base = Vote.objects.all() if base is None else base
    single = parse_cluster_key(suspicious)
    if single is not None:
        pattern, contestant_id, key, window = single
        return pattern.annotate(votes.filter(contestant_id=contestant_id), select=False).filter(
            fraud_key=key, fraud_window=window
        )
    available = patterns()
    chosen = list(available.values()) if suspicious == PATTERN_ANY else []
    if suspicious in available:
        chosen = [available[suspicious]]
    if not chosen:
        return votes.none()
    condition = Q()
    for pattern in chosen:
        members = (
            pattern.annotate(base.exclude(**{pattern.key_field: ""}))
            .values("contestant_id", "fraud_key", "fraud_window")
            .annotate(
                measure=Count("voter_hash", distinct=True)
                if pattern.count_distinct_voters
                else Count("pk"),
                cluster=pattern.cluster_id(),
            )
            .filter(measure__gte=pattern.threshold)
            .values("cluster")
            .order_by()
        )
        condition |= Q(**{f"{pattern.name}_cluster__in": members})
        votes = votes.alias(**{f"{pattern.name}_cluster": _vote_cluster_id(pattern)})
    return votes.filter(condition)


def _vote_cluster_id(pattern: Pattern) -> Expression:
    """The cluster key a single vote would have under ``pattern`` (no annotation needed)."""
    return Concat(
        Value(f"{pattern.name}:"),
        Cast("contestant_id", CharField()),
        Value(":"),
        pattern.key_expression(),
        Value(":"),
        Cast(EpochWindow("cast_at", seconds=pattern.window_seconds), CharField()),
        output_field=CharField(),
    )


@dataclass(frozen=True)
class Cluster:
    """One suspicious cluster, for the clusters page."""

    pattern: str
    key: str
    contestant: Contestant
    shown_key: str
    votes: int
    voters: int
    valid: int
    first_at: dt.datetime
    last_at: dt.datetime

    @property
    def label(self) -> str:
        return str(PATTERN_LABELS[self.pattern])


def top_clusters(stage_id: int, *, limit: int | None = None) -> list[Cluster]:
    """The largest clusters of every active pattern in one stage, biggest first.

    One grouped query per pattern plus one for the contestants shown.
    """
    limit = int(settings.VOTING_FRAUD_CLUSTERS_LIMIT) if limit is None else limit
    base = Vote.objects.filter(stage_id=stage_id)
    rows: list[tuple[Pattern, dict[str, Any]]] = []
    for pattern in patterns().values():
        measure = "-voters" if pattern.count_distinct_voters else "-votes"
        for row in pattern.clusters(base).order_by(measure, "contestant_id")[:limit]:
            rows.append((pattern, row))
    rows.sort(key=lambda item: (-item[1]["votes"], item[0].name, item[1]["contestant_id"]))
    rows = rows[:limit]
    contestants = Contestant.objects.select_related("staff_member").in_bulk(
        {row["contestant_id"] for _pattern, row in rows}
    )
    clusters = []
    for pattern, row in rows:
        key = row["fraud_key"]
        clusters.append(
            Cluster(
                pattern=pattern.name,
                key=f"{pattern.name}:{row['contestant_id']}:{key}:{row['fraud_window']}",
                contestant=contestants[row["contestant_id"]],
                shown_key=f"{key}{'x' * (MASK_LENGTH - len(key))}"
                if pattern.name == PATTERN_SEQUENCE
                else key[:8],
                votes=row["votes"],
                voters=row["voters"],
                valid=row["valid"],
                first_at=row["first_at"],
                last_at=row["last_at"],
            )
        )
    return clusters


def local_window(window: int, seconds: int) -> tuple[dt.datetime, dt.datetime]:
    """The start and end of window number ``window`` in local time, for display."""
    start = dt.datetime.fromtimestamp(window * seconds, tz=dt.UTC)
    return (
        timezone.localtime(start),
        timezone.localtime(start + dt.timedelta(seconds=seconds)),
    )
