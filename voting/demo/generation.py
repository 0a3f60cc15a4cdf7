"""Demo vote generation: who votes for whom, when, from where, as plain rows.

Deterministic for a seed (``DEMO_SEED``): candidates ranked by a Zipf law, votes spread
over the stage's window by hour-of-day weights, only by the channels the stage's rules
weight (mostly SMS where web votes count too), a few invalidated, plus one planted cluster
for the fraud review to find: same-IP web votes where web votes count, else SMS votes from
a run of consecutive numbers (a SIM farm). Writes nothing: ``voting.demo.seeding``
inserts what this module generates.
"""

import bisect
import datetime as dt
import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from campaigns.models import Stage
from campaigns.validators import weighted_channels
from staff.demo import PHONE_PREFIXES
from staff.phones import hash_phone, mask_phone
from voting.choices import RECEIPT_ALPHABET, RECEIPT_LENGTH, VoteChannel
from voting.fingerprints import hash_ip, hash_ip_subnet, hash_user_agent

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
# The SMS cluster's numbers: this prefix and a four-digit counter, consecutive numbers that
# the fraud review's "sequence" pattern groups in blocks of ten.
CLUSTER_SMS_PREFIX = "+861709999"
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

VOTE_COLUMNS = (
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


def receipt_codes(first: int, count: int) -> Iterator[str]:
    """``demo_receipt_code(first)``, ``demo_receipt_code(first + 1)``, … (``count`` codes),
    from a table of three-character halves: a million codes in a fraction of a second."""
    if count and not 0 <= first <= first + count - 1 < MAX_DEMO_CODES:
        raise ValueError("demo receipt counter out of range")
    base = len(RECEIPT_ALPHABET) ** 3
    halves = ["".join(chars) for chars in itertools.product(RECEIPT_ALPHABET, repeat=3)]
    for index in range(first, first + count):
        high, low = divmod(index, base)
        yield f"{RECEIPT_PREFIX}{halves[high]}{halves[low]}"


def receipt_index(code: str) -> int:
    value = 0
    for char in code[len(RECEIPT_PREFIX) :]:
        value = value * len(RECEIPT_ALPHABET) + RECEIPT_ALPHABET.index(char)
    return value


def demo_voter_phone(index: int) -> str:
    """The E.164 number of demo voter ``index``; different indexes give different numbers."""
    prefix = PHONE_PREFIXES[index % len(PHONE_PREFIXES)]
    body = (index // len(PHONE_PREFIXES) * PHONE_MULTIPLIER + PHONE_OFFSET) % 100_000_000
    return f"+86{prefix}{body:08d}"


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


def text_stamp(moment: dt.datetime) -> str:
    """A datetime as stored by the seed: UTC, whole seconds ("YYYY-MM-DD HH:MM:SS")."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


# A generated vote before its receipt: (cast_at, contestant_id, voter_hash, phone_masked,
# channel, ip_hash, subnet_hash, ua_hash, local_day, invalidated).
_Row = tuple[str, int, str, str, str, str, str, str, str, bool]


@dataclass
class Generated:
    rows: list[_Row]
    voters: dict[str, str]  # voter_hash -> first cast_at
    cluster_votes: int


def generate_votes(
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
) -> Generated:
    """Generate ``count`` votes (module docstring); no database access."""
    # One long function on purpose: the loop below runs a million times in a seed that
    # must finish within two minutes, so its names stay local and nothing is a call per
    # vote that does not have to be.
    rng = random.Random(DEMO_SEED)  # noqa: S311 -- demo data, not a secret
    slots, slot_cum = _slots(start, end)
    if not slots:
        return Generated([], {}, 0)
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
    sms_share = demo_sms_share(stage)

    rows: list[_Row] = []
    voters: dict[str, str] = {}
    cluster_votes = 0
    if plant_cluster and count >= CLUSTER_MIN_VOTES:
        cluster_votes = _plant_cluster(
            rows,
            voters,
            ranked=ranked,
            slots=slots,
            end=end,
            excluded=excluded,
            by_sms=sms_share == 1.0,
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
        if random_() < sms_share:
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
    return Generated(rows, voters, cluster_votes)


def demo_sms_share(stage: Stage) -> float:
    """The share of demo voters who vote by SMS: ``SMS_SHARE`` where the stage's rules
    weight both web and SMS votes, all of them where only SMS counts (a stage takes no web
    votes then), none where only web counts."""
    channels = weighted_channels(stage.weights)
    if VoteChannel.WEB not in channels:
        return 1.0
    if VoteChannel.SMS not in channels:
        return 0.0
    return SMS_SHARE


def _cluster_voter(index: int, *, by_sms: bool) -> str:
    """The number of the cluster's voter ``index``: consecutive numbers for an SMS cluster."""
    if by_sms:
        return f"{CLUSTER_SMS_PREFIX}{index:04d}"
    return demo_voter_phone(CLUSTER_VOTER_BASE + index)


def _plant_cluster(
    rows: list[_Row],
    voters: dict[str, str],
    *,
    ranked: list[int],
    slots: list[_Slot],
    end: dt.datetime,
    excluded: set[str],
    by_sms: bool,
) -> int:
    """Append the suspicious cluster (module docstring) to ``rows``; return its size.
    Web votes from one IP and browser, or (``by_sms``) SMS votes from consecutive numbers."""
    zone = ZoneInfo(settings.TIME_ZONE)
    today = end.astimezone(zone).date()
    at = dt.datetime.combine(today - dt.timedelta(days=2), CLUSTER_LOCAL_TIME, tzinfo=zone)
    if at < slots[0].start or at + dt.timedelta(seconds=CLUSTER_SECONDS) >= end:
        at = slots[0].start + dt.timedelta(minutes=11)  # a window too short: its first hour
    candidate = ranked[min(CLUSTER_RANK, len(ranked) - 1)]
    if by_sms:
        channel, ip_hash, subnet_hash, agent = VoteChannel.SMS.value, "", "", ""
    else:
        channel = VoteChannel.WEB.value
        ip_hash, subnet_hash = hash_ip(CLUSTER_IP), hash_ip_subnet(CLUSTER_IP)
        agent = hash_user_agent(CLUSTER_USER_AGENT)
    index = 0
    planted = 0
    while planted < CLUSTER_VOTES:
        e164 = _cluster_voter(index, by_sms=by_sms)
        index += 1
        voter_hash = hash_phone(e164)
        if voter_hash in excluded or voter_hash in voters:
            continue
        moment = at + dt.timedelta(seconds=planted * CLUSTER_SECONDS // CLUSTER_VOTES)
        cast_at = text_stamp(moment)
        local_day = moment.astimezone(zone).date().isoformat()
        rows.append(
            (cast_at, candidate, voter_hash, mask_phone(e164), channel, ip_hash, subnet_hash,
             agent, local_day, False)
        )  # fmt: skip
        voters[voter_hash] = cast_at
        planted += 1
    return planted
