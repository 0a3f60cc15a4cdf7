"""Demo votes: a live-looking vote ledger for the demo campaign's first stage.

``manage.py seed_demo`` sends ``campaigns.signals.demo_campaign_seeded`` after the demo
campaign exists; ``voting.receivers`` answers it by calling ``seed_demo_votes`` for stage 1.
The votes give the public leaderboard, the results preview, the stage dashboard and the
fraud review something to show. They are generated, not cast: casting a million votes one
by one through ``cast_vote`` would take an hour, so the seed writes the same rows the vote
path writes, in bulk, and keeps every invariant the vote path keeps.

How the votes are generated (one ``random.Random`` with a fixed seed, so the same inputs
give the same ledger; only the times move with the clock):

* **Voters.** Fake mainland mobile numbers: voter *i* gets one of the demo prefixes
  (``staff.demo.PHONE_PREFIXES``) and eight digits through an affine bijection on
  0..10^8-1, so numbers never repeat. Each is hashed and masked like a real voter's
  (``staff.phones.hash_phone`` / ``mask_phone``); the number itself is never stored.
  A number whose hash is a staff member's, or a voter's who already voted in the stage
  (real votes, or an earlier demo batch), is skipped: staff may not vote, and a voter's
  limits must hold across batches.
* **Votes per voter.** One, then another with probability 0.3 each time: about 1.43 votes
  per voter, so a million votes come from about 700,000 voters. Capped by the number of
  days of the window and by the stage's ``votes_per_stage``.
* **Limits by construction.** A voter's votes fall on different local days and go to
  different candidates, so any ``votes_per_day`` and ``votes_per_candidate`` of 1 or more
  (or 0, unlimited) holds; ``tests/voting/test_demo.py`` checks it with GROUP BYs.
* **Candidates.** A Zipf-like long tail over the stage's candidates in a seeded random
  order: the weight of rank *r* is ``1 / (r + 5) ** 1.1``, so with 7,000 candidates the
  top 100 take about half the votes, the top 300 two thirds, and the rest share a long
  thin tail.
* **Channels.** A voter uses one channel: SMS for 80 %, the web page for 20 %. Web votes
  carry the keyed hashes of an IP address (a pool of carrier addresses, one per ten votes
  and at most 20,000), its /24 network and a browser (a pool of cheap-phone user agents);
  SMS votes carry none.
* **Times.** The last ``DEMO_DAYS`` days up to now, never before the stage opened: whole
  clock hours weighted by an Asia/Shanghai day (quiet nights, peaks late morning and
  evening), busier weekends and a campaign that gains momentum; a uniform second inside
  the hour. ``local_day`` is the Asia/Shanghai date of ``cast_at``. Rows are inserted in
  ``cast_at`` order, so ids grow with time as in a real ledger.
* **Fraud to review.** About 0.5 % of the votes are stored invalidated with the reason
  "demo: duplicate SIM farm" (one ``voting.vote.invalidated`` audit event records them);
  and one suspicious cluster is planted in the first batch: ``CLUSTER_VOTES`` web votes
  from one IP address and browser for one mid-table candidate, within six minutes in the
  small hours, from fresh voters — the fraud review's "same IP" (and "same subnet")
  pattern finds it.
* **Receipt codes.** ``DEM0`` (the canonical form of "DEMO": the receipt alphabet folds O
  to 0, so a person typing ``DEMO…`` finds the vote) and a six-character base-32 counter:
  unique, in the receipt alphabet, and the mark of a demo vote. A random real receipt
  starts with ``DEM0`` once in about a million votes; the idempotency check would count
  it as a demo vote, which is harmless. The tally step picks the run's own votes by id
  and by the run's contiguous range of codes, so it never counts such a vote.

Writing: one transaction inserts the votes (``COPY`` on PostgreSQL, ``executemany`` in
batches on SQLite), adds one GROUP BY of the inserted valid votes to the tallies, inserts
the voters (their rows are the per-voter locks of the vote path) and records the audit
event. No tally events are written: the tally invariant of ``voting.tallies`` is
"valid votes in the ledger == tally + pending events" in every consistent view, and since
the new votes and their tally increments commit together, no view ever sees one without
the other — exactly what a cast vote plus its folded event would give. After the commit
the first leaderboard snapshot is published (``voting.publication``) and the stage is
recounted (``voting.recount``), which proves the equation.

Idempotent: a stage that already holds at least the asked number of demo votes is left
alone; one that holds fewer gets the missing ones, from fresh voters.
"""

import bisect
import datetime as dt
import io
import itertools
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from campaigns.choices import ContestantStatus, StageStatus
from campaigns.clock import db_now
from campaigns.models import Contestant, Stage
from staff.demo import PHONE_PREFIXES
from staff.models import StaffMember
from staff.phones import hash_phone, mask_phone
from staff.services import record_audit_event
from voting.choices import RECEIPT_ALPHABET, RECEIPT_LENGTH, AuditAction, VoteChannel, VoteStatus
from voting.fingerprints import hash_ip, hash_ip_subnet, hash_user_agent
from voting.models import Tally, Vote, Voter
from voting.publication import publish_stage_leaderboard
from voting.recount import RecountReport, recount_stage

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

DEMO_SEED = 20_261_123
DEMO_DAYS = 20
# The receipt codes of demo votes: a prefix in the receipt alphabet, then a counter.
RECEIPT_PREFIX = "DEM0"
COUNTER_LENGTH = RECEIPT_LENGTH - len(RECEIPT_PREFIX)
MAX_DEMO_CODES = len(RECEIPT_ALPHABET) ** COUNTER_LENGTH
# After each vote a voter casts another with this probability (about 1.43 votes a voter).
ANOTHER_VOTE = 0.3
SMS_SHARE = 0.8
ZIPF_EXPONENT = 1.1
ZIPF_OFFSET = 5
INVALID_SHARE = 0.005
INVALID_REASON = "demo: duplicate SIM farm"
# The planted cluster: this many web votes from one IP for one candidate within
# CLUSTER_SECONDS, at CLUSTER_LOCAL_TIME two days ago; the candidate ranked CLUSTER_RANK.
CLUSTER_VOTES = 60
CLUSTER_SECONDS = 6 * 60
CLUSTER_LOCAL_TIME = dt.time(2, 11)
CLUSTER_RANK = 150
CLUSTER_MIN_VOTES = 1000  # a smaller seed gets no cluster
CLUSTER_IP = "203.0.113.77"  # TEST-NET-3: a documentation address, never a real user's
# Rows per INSERT statement (SQLite) and per COPY chunk (PostgreSQL); one progress tick.
BATCH_SIZE = 5000
VOTER_BATCH_SIZE = 5000
IP_POOL_SIZE = 20_000
# Voter i's number: PHONE_PREFIXES[i % 28] + (i // 28 * A + B) mod 10^8, a bijection of
# the eight digits because A is prime to 10. Cluster voters come from a far index range.
PHONE_MULTIPLIER = 61_803_399
PHONE_OFFSET = 12_345_679
CLUSTER_VOTER_BASE = 2_000_000_000
# First octets of Chinese carrier address blocks, for the web voters' IP pool.
CARRIER_OCTETS = (
    36, 39, 42, 58, 59, 60, 61, 101, 106, 110, 111, 112, 113, 114, 115, 116, 117, 118,
    119, 120, 121, 122, 123, 124, 125, 171, 175, 180, 182, 183, 202, 210, 211, 218, 219,
    220, 221, 222, 223,
)  # fmt: skip
USER_AGENTS = (
    "Mozilla/5.0 (Linux; Android 10; Redmi 8A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/83.0.4103.101 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 12; V2120A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/101.0.4951.74 Mobile Safari/537.36 MicroMessenger/8.0.40",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.42",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 15_7 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/15.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 11; PCAM00) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/90.0.4430.210 Mobile Safari/537.36 HeyTapBrowser/40.7",
    "Mozilla/5.0 (Linux; Android 9; MI 8 SE) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/66.0.3359.126 MQQBrowser/10.1 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; 22081212C) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/108.0.5359.128 Mobile Safari/537.36 XiaoMi/MiuiBrowser/17.4",
    "Mozilla/5.0 (Linux; Android 10; HMA-AL00) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/88.0.4324.93 Mobile Safari/537.36 HuaweiBrowser/12.0",
)
CLUSTER_USER_AGENT = "Mozilla/5.0 (Linux; Android 7.1.2; vbox86p) AppleWebKit/537.36"
# Relative votes per Asia/Shanghai clock hour 0..23: stores open at 9, evenings are busy.
HOUR_WEIGHTS = (
    2, 1, 1, 1, 1, 2, 4, 8, 14, 20, 24, 25, 20, 16, 18, 20, 21, 20, 19, 22, 25, 23, 14, 6,
)  # fmt: skip
WEEKEND_FACTOR = 1.25

_VOTE_COLUMNS = (
    "stage_id",
    "contestant_id",
    "voter_hash",
    "phone_masked",
    "channel",
    "ip_hash",
    "ip_subnet_hash",
    "user_agent_hash",
    "cast_at",
    "local_day",
    "status",
    "invalidated_reason",
    "invalidated_at",
    "receipt_code",
)


@dataclass(frozen=True)
class DemoVotesSummary:
    """What ``seed_demo_votes`` found and did. ``created`` is 0 when nothing was needed
    (``existing`` already reached ``requested``) or possible (``skipped`` says why)."""

    stage_id: int
    requested: int
    existing: int
    created: int
    voters: int = 0
    invalidated: int = 0
    cluster_votes: int = 0
    seconds: float = 0.0
    skipped: str = ""
    snapshot_id: int | None = None
    recount: RecountReport | None = None

    @property
    def total(self) -> int:
        """Demo votes in the stage after the run."""
        return self.existing + self.created

    def __str__(self) -> str:
        """One line for the operator (``seed_demo`` prints it)."""
        if self.skipped:
            return _("Demo votes: none added (%(reason)s).") % {"reason": self.skipped}
        if not self.created:
            return _("Demo votes: %(total)d already there, nothing to add.") % {"total": self.total}
        if self.recount is None:
            recount = _("no recount")
        elif self.recount.ok:
            recount = _("recount OK (ledger = tallies, %(valid)d valid votes)") % {
                "valid": self.recount.valid_votes
            }
        else:
            recount = _("recount found %(n)d differences") % {"n": len(self.recount.differences)}
        return _(
            "Demo votes: %(created)d new (%(total)d in the stage) from %(voters)d voters, "
            "%(invalidated)d invalidated, %(cluster)d in a planted same-IP cluster; "
            "leaderboard published; %(recount)s; %(seconds).1f s."
        ) % {
            "created": self.created,
            "total": self.total,
            "voters": self.voters,
            "invalidated": self.invalidated,
            "cluster": self.cluster_votes,
            "recount": recount,
            "seconds": self.seconds,
        }


def demo_receipt_code(index: int) -> str:
    """The receipt code of demo vote number ``index`` (0-based, global): ``DEM0`` and a
    six-character counter. Codes sort like their indexes (the alphabet is in ASCII order)."""
    if not 0 <= index < MAX_DEMO_CODES:
        raise ValueError("demo receipt counter out of range")
    digits = []
    for _position in range(COUNTER_LENGTH):
        index, digit = divmod(index, len(RECEIPT_ALPHABET))
        digits.append(RECEIPT_ALPHABET[digit])
    return RECEIPT_PREFIX + "".join(reversed(digits))


def _receipt_codes(first: int, count: int) -> Iterator[str]:
    """``demo_receipt_code(first)``, ``demo_receipt_code(first + 1)``, … (``count`` codes),
    from a table of three-character halves: a million codes in a fraction of a second."""
    if count and not 0 <= first <= first + count - 1 < MAX_DEMO_CODES:
        raise ValueError("demo receipt counter out of range")
    base = len(RECEIPT_ALPHABET) ** 3
    halves = ["".join(chars) for chars in itertools.product(RECEIPT_ALPHABET, repeat=3)]
    for index in range(first, first + count):
        high, low = divmod(index, base)
        yield f"{RECEIPT_PREFIX}{halves[high]}{halves[low]}"


def _receipt_index(code: str) -> int:
    value = 0
    for char in code[len(RECEIPT_PREFIX) :]:
        value = value * len(RECEIPT_ALPHABET) + RECEIPT_ALPHABET.index(char)
    return value


def demo_voter_phone(index: int) -> str:
    """The E.164 number of demo voter ``index``; different indexes give different numbers."""
    prefix = PHONE_PREFIXES[index % len(PHONE_PREFIXES)]
    body = (index // len(PHONE_PREFIXES) * PHONE_MULTIPLIER + PHONE_OFFSET) % 100_000_000
    return f"+86{prefix}{body:08d}"


def demo_votes_in_stage(stage: Stage | int) -> int:
    """How many demo votes (receipt code ``DEM0…``) ``stage`` holds."""
    return Vote.objects.filter(stage=stage, receipt_code__startswith=RECEIPT_PREFIX).count()


@dataclass(frozen=True)
class _Slot:
    """One whole clock hour of the window a vote may fall in."""

    prefix: str  # "YYYY-MM-DD HH:" in UTC, as stored
    local_day: str  # its Asia/Shanghai date, "YYYY-MM-DD"
    day: int  # index of that date in the window
    start: dt.datetime


def _slots(start: dt.datetime, end: dt.datetime) -> tuple[list[_Slot], list[float]]:
    """The whole hours inside [start, end) and their cumulative weights."""
    zone = ZoneInfo(settings.TIME_ZONE)
    hour = dt.timedelta(hours=1)
    first = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    if first < start:
        first += hour
    slots: list[_Slot] = []
    weights: list[float] = []
    days: dict[dt.date, int] = {}
    moment = first
    while moment + hour <= end:
        local = moment.astimezone(zone)
        day = days.setdefault(local.date(), len(days))
        slots.append(_Slot(moment.strftime("%Y-%m-%d %H:"), local.date().isoformat(), day, moment))
        weights.append(HOUR_WEIGHTS[local.hour] * (WEEKEND_FACTOR if local.weekday() >= 5 else 1.0))
        moment += hour
    # Momentum: the last day is about twice as busy as the first.
    span = max(len(days) - 1, 1)
    weights = [w * (0.7 + 0.7 * slot.day / span) for w, slot in zip(weights, slots, strict=True)]
    return slots, list(itertools.accumulate(weights))


def _ranked_candidates(contestant_ids: Sequence[int], rng: random.Random) -> list[int]:
    """The candidates in popularity order: a seeded shuffle, most popular first."""
    ranked = list(contestant_ids)
    rng.shuffle(ranked)
    return ranked


def _ip_pool(rng: random.Random, *, size: int) -> list[tuple[str, str]]:
    """``(ip_hash, subnet_hash)`` of ``size`` carrier addresses."""
    pool = []
    for _index in range(size):
        octet = rng.choice(CARRIER_OCTETS)
        ip = f"{octet}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        pool.append((hash_ip(ip), hash_ip_subnet(ip)))
    return pool


def _stamp(moment: dt.datetime) -> str:
    """A datetime as stored by the seed: UTC, whole seconds ("YYYY-MM-DD HH:MM:SS")."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


# A generated vote before its receipt: (cast_at, contestant_id, voter_hash, phone_masked,
# channel, ip_hash, subnet_hash, ua_hash, local_day, invalidated).
_Row = tuple[str, int, str, str, str, str, str, str, str, bool]


@dataclass
class _Generated:
    rows: list[_Row]
    voters: dict[str, str]  # voter_hash -> first cast_at
    cluster_votes: int


def _generate(
    stage: Stage,
    *,
    count: int,
    contestant_ids: list[int],
    start: dt.datetime,
    end: dt.datetime,
    excluded: set[str],
    voter_offset: int,
    plant_cluster: bool,
    progress: Progress,
) -> _Generated:
    """Generate ``count`` votes (module docstring); no database access."""
    rng = random.Random(DEMO_SEED)  # noqa: S311 -- demo data, not a secret
    slots, slot_cum = _slots(start, end)
    if not slots:
        return _Generated([], {}, 0)
    ranked = _ranked_candidates(contestant_ids, rng)
    candidate_cum = list(
        itertools.accumulate(
            1 / (rank + ZIPF_OFFSET) ** ZIPF_EXPONENT for rank in range(len(ranked))
        )
    )
    # One address per ten votes, at most IP_POOL_SIZE: hashing addresses is not free.
    ip_pool = _ip_pool(rng, size=min(IP_POOL_SIZE, max(count // 10, 100)))
    agents = [hash_user_agent(agent) for agent in USER_AGENTS]
    days = slots[-1].day + 1
    cap = min(days, len(ranked))
    if stage.votes_per_stage:
        cap = min(cap, stage.votes_per_stage)
    label = _("Demo votes: generating")

    rows: list[_Row] = []
    voters: dict[str, str] = {}
    cluster_votes = 0
    if plant_cluster and count >= CLUSTER_MIN_VOTES:
        cluster_votes = _plant_cluster(
            rows, voters, ranked=ranked, slots=slots, end=end, excluded=excluded
        )
    regular = count - cluster_votes
    slot_total, candidate_total = slot_cum[-1], candidate_cum[-1]
    web = VoteChannel.WEB.value
    sms = VoteChannel.SMS.value
    random_ = rng.random
    randrange = rng.randrange
    index = voter_offset
    produced = 0
    next_tick = 0
    while produced < regular:
        e164 = demo_voter_phone(index)
        index += 1
        voter_hash = hash_phone(e164)
        if voter_hash in excluded or voter_hash in voters:
            continue
        masked = mask_phone(e164)
        votes = 1
        while votes < cap and random_() < ANOTHER_VOTE:
            votes += 1
        votes = min(votes, regular - produced)
        if random_() < SMS_SHARE:
            channel, ip_hash, subnet_hash, agent = sms, "", "", ""
        else:
            channel = web
            ip_hash, subnet_hash = ip_pool[randrange(len(ip_pool))]
            agent = agents[randrange(len(agents))]
        used_days: set[int] = set()
        used_candidates: set[int] = set()
        first = ""
        for _vote in range(votes):
            while True:
                slot = slots[bisect.bisect(slot_cum, random_() * slot_total)]
                if slot.day not in used_days:
                    break
            used_days.add(slot.day)
            while True:
                candidate = ranked[bisect.bisect(candidate_cum, random_() * candidate_total)]
                if candidate not in used_candidates:
                    break
            used_candidates.add(candidate)
            second = randrange(3600)
            cast_at = f"{slot.prefix}{second // 60:02d}:{second % 60:02d}"
            if not first or cast_at < first:
                first = cast_at
            rows.append(
                (cast_at, candidate, voter_hash, masked, channel, ip_hash, subnet_hash, agent,
                 slot.local_day, random_() < INVALID_SHARE)
            )  # fmt: skip
        voters[voter_hash] = first
        produced += votes
        if produced >= next_tick:
            progress(label, produced + cluster_votes, count)
            next_tick = produced + 50_000
    progress(label, count, count)
    return _Generated(rows, voters, cluster_votes)


def _plant_cluster(
    rows: list[_Row],
    voters: dict[str, str],
    *,
    ranked: list[int],
    slots: list[_Slot],
    end: dt.datetime,
    excluded: set[str],
) -> int:
    """Append the suspicious cluster (module docstring) to ``rows``; return its size."""
    zone = ZoneInfo(settings.TIME_ZONE)
    today = end.astimezone(zone).date()
    at = dt.datetime.combine(today - dt.timedelta(days=2), CLUSTER_LOCAL_TIME, tzinfo=zone)
    if at < slots[0].start or at + dt.timedelta(seconds=CLUSTER_SECONDS) >= end:
        at = slots[0].start + dt.timedelta(minutes=11)  # a window too short: its first hour
    candidate = ranked[min(CLUSTER_RANK, len(ranked) - 1)]
    ip_hash, subnet_hash = hash_ip(CLUSTER_IP), hash_ip_subnet(CLUSTER_IP)
    agent = hash_user_agent(CLUSTER_USER_AGENT)
    index = CLUSTER_VOTER_BASE
    planted = 0
    while planted < CLUSTER_VOTES:
        e164 = demo_voter_phone(index)
        index += 1
        voter_hash = hash_phone(e164)
        if voter_hash in excluded:
            continue
        moment = at + dt.timedelta(seconds=planted * CLUSTER_SECONDS // CLUSTER_VOTES)
        cast_at = _stamp(moment)
        local_day = moment.astimezone(zone).date().isoformat()
        rows.append(
            (cast_at, candidate, voter_hash, mask_phone(e164), VoteChannel.WEB.value, ip_hash,
             subnet_hash, agent, local_day, False)
        )  # fmt: skip
        voters[voter_hash] = cast_at
        planted += 1
    return planted


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _insert_votes_sqlite(rows: Iterable[tuple], *, total: int, progress: Progress) -> None:
    table = _quote(Vote._meta.db_table)
    columns = ", ".join(_quote(c) for c in _VOTE_COLUMNS)
    marks = ", ".join(["%s"] * len(_VOTE_COLUMNS))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 -- names from models
    label = _("Demo votes: writing")
    done = 0
    iterator = iter(rows)
    with connection.cursor() as cursor:
        while batch := list(itertools.islice(iterator, BATCH_SIZE)):
            cursor.executemany(sql, batch)
            done += len(batch)
            progress(label, done, total)


def _copy_text(value: object) -> str:
    # Generated values hold no tab, newline or backslash; None is COPY's NULL.
    return "\\N" if value is None else str(value)


def _insert_votes_postgresql(rows: Iterable[tuple], *, total: int, progress: Progress) -> None:
    table = _quote(Vote._meta.db_table)
    columns = ", ".join(_quote(c) for c in _VOTE_COLUMNS)
    sql = f"COPY {table} ({columns}) FROM STDIN"
    label = _("Demo votes: writing")
    done = 0
    iterator = iter(rows)
    chunk = BATCH_SIZE * 20
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg2's own cursor: COPY is not part of the DB-API
        while batch := list(itertools.islice(iterator, chunk)):
            buffer = io.StringIO("".join("\t".join(map(_copy_text, row)) + "\n" for row in batch))
            raw.copy_expert(sql, buffer)
            done += len(batch)
            progress(label, done, total)


def _insert_voters(voters: dict[str, str], *, postgres: bool) -> None:
    """Insert the voters (hash, first vote time) that are missing, in hash order.

    ``ON CONFLICT DO NOTHING``: a real voter may already have a row. On PostgreSQL the rows
    are copied into a temporary table first (``COPY`` cannot skip conflicts itself).
    """
    table = _quote(Voter._meta.db_table)
    ordered = sorted(voters.items())
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute(
                "CREATE TEMPORARY TABLE demo_voter (voter_hash varchar(64), created_at "
                "timestamptz) ON COMMIT DROP"
            )
            buffer = io.StringIO("".join(f"{h}\t{first}+00\n" for h, first in ordered))
            cursor.cursor.copy_expert("COPY demo_voter (voter_hash, created_at) FROM STDIN", buffer)
            cursor.execute(
                f"INSERT INTO {table} (voter_hash, created_at) "  # noqa: S608 -- names from models
                "SELECT voter_hash, created_at FROM demo_voter ORDER BY voter_hash "
                "ON CONFLICT (voter_hash) DO NOTHING"
            )
            # Dropped now: inside an outer transaction (tests) ON COMMIT comes too late.
            cursor.execute("DROP TABLE demo_voter")
            return
        for start in range(0, len(ordered), VOTER_BATCH_SIZE):
            batch = ordered[start : start + VOTER_BATCH_SIZE]
            values = ", ".join(["(%s, %s)"] * len(batch))
            params: list[str] = []
            for voter_hash, first in batch:
                params += [voter_hash, first]
            cursor.execute(
                f"INSERT INTO {table} (voter_hash, created_at) VALUES {values} "  # noqa: S608
                "ON CONFLICT (voter_hash) DO NOTHING",
                params,
            )


def _add_tallies(stage: Stage, *, after_id: int, codes: tuple[str, str], now: dt.datetime) -> None:
    """Add the inserted valid votes to the tallies: one INSERT … SELECT … GROUP BY with an
    increment. They are exactly the votes of ``stage`` with an id above ``after_id`` (the
    largest id before the insert: the index narrows the scan) and a receipt code between
    ``codes`` in byte order (the run's codes are contiguous, so nothing else is there)."""
    tally = _quote(Tally._meta.db_table)
    vote = _quote(Vote._meta.db_table)
    postgres = connection.vendor == "postgresql"
    stamp = "now()" if postgres else "%s"
    # Byte order whatever the database's collation (SQLite compares bytes already).
    collate = ' COLLATE "C"' if postgres else ""
    sql = (
        f"INSERT INTO {tally} (stage_id, contestant_id, channel, votes, updated_at) "  # noqa: S608
        f"SELECT stage_id, contestant_id, channel, COUNT(*), {stamp} FROM {vote} "
        f"WHERE stage_id = %s AND status = %s AND id > %s AND receipt_code{collate} "
        "BETWEEN %s AND %s "
        "GROUP BY stage_id, contestant_id, channel "
        "ON CONFLICT (stage_id, contestant_id, channel) DO UPDATE "
        f"SET votes = {tally}.votes + excluded.votes, updated_at = excluded.updated_at"
    )
    params: list[object] = [] if postgres else [_stamp(now)]
    params += [stage.pk, VoteStatus.VALID, after_id, *codes]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _window(stage: Stage, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = now - dt.timedelta(days=DEMO_DAYS)
    if stage.opens_at is not None and stage.opens_at > start:
        start = stage.opens_at
    end = now if stage.closes_at is None else min(now, stage.closes_at)
    return start, end


def seed_demo_votes(
    stage: Stage, *, votes: int, progress: Progress | None = None
) -> DemoVotesSummary:
    """Give ``stage`` ``votes`` demo votes in all (module docstring); return a summary.

    Does nothing when the stage already holds that many demo votes, and adds none to a
    stage that is not open, has no candidates in the running, or whose window has no
    whole hour yet (``skipped`` says which). Otherwise, in one transaction: inserts the
    missing votes, adds them to the tallies, inserts their voters and records one
    ``voting.vote.invalidated`` audit event for the invalidated ones; then, after the
    commit, publishes a leaderboard snapshot and recounts the stage (a ``RecountCheck``).
    ``progress(label, done, total)`` is called as votes are generated and written and
    after each finishing step, with a translated label per phase. Raises ``ValueError`` for a negative ``votes``.
    """
    if votes < 0:
        raise ValueError("votes must not be negative")
    report = progress or (lambda _label, _done, _total: None)
    started = time.monotonic()
    existing = demo_votes_in_stage(stage)
    base = {"stage_id": stage.pk, "requested": votes, "existing": existing, "created": 0}
    if existing >= votes:
        return DemoVotesSummary(**base)
    if stage.status != StageStatus.OPEN:
        return DemoVotesSummary(**base, skipped=_("the stage is not open"))
    contestant_ids = list(
        Contestant.objects.filter(stage=stage, status=ContestantStatus.IN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not contestant_ids:
        return DemoVotesSummary(**base, skipped=_("the stage has no candidates"))
    now = db_now()
    start, end = _window(stage, now)
    excluded = set(StaffMember.objects.values_list("phone_hash", flat=True))
    if Vote.objects.filter(stage=stage).exists():
        excluded.update(
            Vote.objects.filter(stage=stage).values_list("voter_hash", flat=True).distinct()
        )
    generated = _generate(
        stage,
        count=votes - existing,
        contestant_ids=contestant_ids,
        start=start,
        end=end,
        excluded=excluded,
        voter_offset=2 * existing,
        plant_cluster=existing == 0,
        progress=report,
    )
    if not generated.rows:
        return DemoVotesSummary(**base, skipped=_("the voting window has no whole hour yet"))
    generated.rows.sort(key=lambda row: row[0])

    last_code = Vote.objects.filter(receipt_code__startswith=RECEIPT_PREFIX).aggregate(
        last=Max("receipt_code")
    )["last"]
    first_index = _receipt_index(last_code) + 1 if last_code else 0
    invalidated_at = _stamp(now)
    postgres = connection.vendor == "postgresql"
    suffix = "+00" if postgres else ""
    valid, invalid = VoteStatus.VALID.value, VoteStatus.INVALIDATED.value

    def ledger_rows() -> Iterable[tuple]:
        codes = _receipt_codes(first_index, len(generated.rows))
        for row, code in zip(generated.rows, codes, strict=True):
            cast_at, contestant, voter, masked, channel, ip, subnet, agent, day, bad = row
            yield (
                stage.pk, contestant, voter, masked, channel, ip, subnet, agent,
                cast_at + suffix, day, invalid if bad else valid,
                INVALID_REASON if bad else "", invalidated_at + suffix if bad else None, code,
            )  # fmt: skip

    total = len(generated.rows)
    codes = (demo_receipt_code(first_index), demo_receipt_code(first_index + total - 1))
    with transaction.atomic():
        after_id = Vote.objects.aggregate(last=Max("pk"))["last"] or 0
        if postgres:
            _insert_votes_postgresql(ledger_rows(), total=total, progress=report)
        else:
            with connection.cursor() as cursor:
                # A larger page cache for this connection: the voter indexes take random
                # inserts. 256 MB at most, released when the connection closes.
                cursor.execute("PRAGMA cache_size = -262144")
            _insert_votes_sqlite(ledger_rows(), total=total, progress=report)
        finishing = _("Demo votes: tallies, voters, board, recount")
        report(finishing, 0, 4)
        _add_tallies(stage, after_id=after_id, codes=codes, now=now)
        report(finishing, 1, 4)
        _insert_voters(generated.voters, postgres=postgres)
        invalid_ids = [
            pk
            for pk, code in Vote.objects.filter(
                stage=stage, status=VoteStatus.INVALIDATED, pk__gt=after_id
            )
            .order_by("pk")
            .values_list("pk", "receipt_code")
            if codes[0] <= code <= codes[1]
        ]
        if invalid_ids:
            record_audit_event(
                stage,
                actor=None,
                action=AuditAction.VOTES_INVALIDATED,
                reason=INVALID_REASON,
                data={"vote_ids": invalid_ids, "count": len(invalid_ids), "demo": True},
                campaign_id=stage.campaign_id,
            )
    report(finishing, 2, 4)
    snapshot = publish_stage_leaderboard(stage)
    report(finishing, 3, 4)
    recount = recount_stage(stage)
    report(finishing, 4, 4)
    if not recount.ok:
        logger.error("demo votes of stage %s: recount found differences", stage.pk)
    return DemoVotesSummary(
        **{**base, "created": total},
        voters=len(generated.voters),
        invalidated=len(invalid_ids),
        cluster_votes=generated.cluster_votes,
        seconds=time.monotonic() - started,
        snapshot_id=snapshot.pk if snapshot is not None else None,
        recount=recount,
    )
