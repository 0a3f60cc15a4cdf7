"""The statements of the web vote path (``voting.services.cast_vote``), apart from the
rules: what a vote is decided on, read under the voter's lock, and the write of a counted
vote with its tally event.

On PostgreSQL each is one statement (``_FACTS_SQL``, ``_INSERT_VOTE_SQL``): with the voter
lock (``voting.otp.lock_voter``) a vote costs 5 statements counting BEGIN and COMMIT
(docs/benchmarks.md, "Web vote ingest"). On SQLite ``read_facts_orm`` asks the same
questions a query at a time and ``cast_vote`` inserts through the ORM; the tests run both.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import IntegrityError, connection

from campaigns.choices import ContestantStatus
from campaigns.clock import db_now, local_day
from campaigns.models import Contestant, Stage
from staff.models import StaffMember
from voting.choices import RECEIPT_ALPHABET, RECEIPT_LENGTH, VoteStatus
from voting.models import TallyEvent, Vote, Voter
from voting.selectors import StageLimits, VoteUsage, vote_usage

logger = logging.getLogger(__name__)

RECEIPT_INSERT_TRIES = 4


def new_receipt_code() -> str:
    """A random receipt code: 10 Crockford base32 characters (50 bits).

    One 50-bit draw cut into 5-bit characters: the same uniform codes as ten draws of one
    character each, at a tenth of the cost (the SMS ingest draws 1,000 per batch).
    """
    bits = secrets.randbits(5 * RECEIPT_LENGTH)
    return "".join(RECEIPT_ALPHABET[(bits >> (5 * i)) & 31] for i in range(RECEIPT_LENGTH))


def find_original(
    voter_hash: str, *, channel: str, idempotency_key: str | None, provider_message_id: str | None
) -> Vote | None:
    """The vote of a repeated idempotency key (per voter) or provider message id (per
    channel), with its stage and candidate, or ``None``."""
    votes = Vote.objects.select_related("stage", "contestant__staff_member")
    if idempotency_key is not None:
        found = votes.filter(voter_hash=voter_hash, idempotency_key=idempotency_key).first()
        if found is not None:
            return found
    if provider_message_id is not None:
        return votes.filter(channel=channel, provider_message_id=provider_message_id).first()
    return None


@dataclass(frozen=True)
class VoteFacts:
    """What ``cast_vote`` decides on, read under the voter lock. ``limits`` is ``None``
    for an unknown stage, ``contestant_id`` for a candidate not ``in`` this stage;
    ``original_id`` is the vote of a repeated idempotency key or provider message id."""

    now: datetime
    day: date
    limits: StageLimits | None
    status: str
    opens_at: datetime | None
    closes_at: datetime | None
    contestant_id: int | None
    is_staff: bool
    usage: VoteUsage
    original_id: int | None


def read_facts_orm(
    stage_id: int,
    *,
    voter_hash: str,
    contestant_id: int | None,
    employee_no: str | None,
    channel: str,
    idempotency_key: str | None,
    provider_message_id: str | None,
) -> VoteFacts:
    """``VoteFacts`` with the ORM, a query each (SQLite; the reference for the SQL)."""
    now = db_now()
    day = local_day(now)
    original = None
    if idempotency_key is not None or provider_message_id is not None:
        original = find_original(
            voter_hash,
            channel=channel,
            idempotency_key=idempotency_key,
            provider_message_id=provider_message_id,
        )
    empty = VoteUsage(stage=0, today=0, candidate=0)
    stage = Stage.objects.filter(pk=stage_id).first() if original is None else None
    found = None
    if stage is not None:
        found = _find_contestant(stage_id, contestant_id=contestant_id, employee_no=employee_no)
    return VoteFacts(
        now=now,
        day=day,
        limits=StageLimits.of(stage) if stage is not None else None,
        status=stage.status if stage is not None else "",
        opens_at=stage.opens_at if stage is not None else None,
        closes_at=stage.closes_at if stage is not None else None,
        contestant_id=found,
        is_staff=found is not None and StaffMember.objects.filter(phone_hash=voter_hash).exists(),
        usage=vote_usage(stage_id, voter_hash, day=day, contestant_id=found)
        if found is not None
        else empty,
        original_id=original.pk if original is not None else None,
    )


def _find_contestant(
    stage_id: int, *, contestant_id: int | None, employee_no: str | None
) -> int | None:
    candidates = Contestant.objects.filter(stage_id=stage_id, status=ContestantStatus.IN)
    if contestant_id is not None:
        candidates = candidates.filter(pk=contestant_id)
    else:
        candidates = candidates.filter(staff_member__employee_no=employee_no)
    return candidates.order_by("pk").values_list("pk", flat=True).first()


def read_facts_sql(
    stage_id: int,
    *,
    voter_hash: str,
    contestant_id: int | None,
    employee_no: str | None,
    channel: str,
    idempotency_key: str | None,
    provider_message_id: str | None,
) -> VoteFacts:
    """``VoteFacts`` in one ``SELECT`` (PostgreSQL): ``now()``, the stage, the candidate,
    the staff exclusion, the usage counts and a repeated request, by subqueries.

    Must run after ``lock_voter``, in a later statement (see ``cast_vote``). The day is
    ``now()`` in ``TIME_ZONE``, as ``campaigns.clock.local_day`` computes it.
    """
    by = "c.id = %(contestant)s" if contestant_id is not None else "m.employee_no = %(no)s"
    sql = _FACTS_SQL.format(candidate=by, **_TABLES)
    params = {
        "stage": stage_id,
        "voter": voter_hash,
        "contestant": contestant_id,
        "no": employee_no,
        "in": ContestantStatus.IN,
        "tz": settings.TIME_ZONE,
        "key": idempotency_key,
        "channel": channel,
        "message": provider_message_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    (now, day, found_stage, status, opens_at, closes_at, per_day, per_stage, per_candidate) = row[
        :9
    ]
    (found, is_staff, in_stage, today, for_candidate, original_id) = row[9:]
    return VoteFacts(
        now=now,
        day=day,
        limits=StageLimits(per_day, per_stage, per_candidate) if found_stage else None,
        status=status or "",
        opens_at=opens_at,
        closes_at=closes_at,
        contestant_id=found,
        is_staff=is_staff,
        usage=VoteUsage(stage=in_stage, today=today, candidate=for_candidate),
        original_id=original_id,
    )


_TABLES = {
    "stage": Stage._meta.db_table,
    "contestant": Contestant._meta.db_table,
    "staff": StaffMember._meta.db_table,
    "vote": Vote._meta.db_table,
    "tally": TallyEvent._meta.db_table,
    "voter": Voter._meta.db_table,
}
# Invalidated votes count (as in ``vote_usage``); the usage uses the (voter, stage, …)
# indexes. A missing stage or candidate leaves NULLs that ``cast_vote`` turns into the
# same errors, in the same order, as the ORM path.
_FACTS_SQL = """
SELECT n.now, (n.now AT TIME ZONE %(tz)s)::date,
       s.id, s.status, s.opens_at, s.closes_at,
       s.votes_per_day, s.votes_per_stage, s.votes_per_candidate,
       c.id,
       EXISTS (SELECT 1 FROM {staff} WHERE phone_hash = %(voter)s),
       u.in_stage, u.today, u.for_candidate,
       COALESCE(
           (SELECT id FROM {vote} WHERE voter_hash = %(voter)s AND idempotency_key = %(key)s),
           (SELECT id FROM {vote} WHERE channel = %(channel)s
                AND provider_message_id = %(message)s)
       )
FROM (SELECT now() AS now) AS n
LEFT JOIN {stage} AS s ON s.id = %(stage)s
LEFT JOIN LATERAL (
    SELECT c.id FROM {contestant} AS c JOIN {staff} AS m ON m.id = c.staff_member_id
    WHERE c.stage_id = s.id AND c.status = %(in)s AND {candidate}
    LIMIT 1
) AS c ON true
CROSS JOIN LATERAL (
    SELECT count(*) AS in_stage,
           count(*) FILTER (WHERE v.local_day = (n.now AT TIME ZONE %(tz)s)::date) AS today,
           count(*) FILTER (WHERE v.contestant_id = c.id) AS for_candidate
    FROM {vote} AS v WHERE v.stage_id = %(stage)s AND v.voter_hash = %(voter)s
) AS u
"""

# The vote and its +1 tally event (voting.tallies) in one statement: the data-modifying
# CTE runs exactly once, so the event commits with the vote or not at all. A receipt
# collision (unique, 2^-50 per pair) inserts nothing and returns no row: draw another
# code and retry, without the savepoint the ORM path needs. Any other unique violation
# (a reused key) still raises.
_INSERT_VOTE_SQL = """
WITH v AS (
    INSERT INTO {vote} (stage_id, contestant_id, voter_hash, phone_masked, channel, ip_hash,
        ip_subnet_hash, user_agent_hash, cast_at, local_day, status, invalidated_reason,
        receipt_code, idempotency_key, provider_message_id)
    VALUES (%(stage_id)s, %(contestant_id)s, %(voter_hash)s, %(phone_masked)s, %(channel)s,
        %(ip_hash)s, %(ip_subnet_hash)s, %(user_agent_hash)s, %(cast_at)s, %(local_day)s,
        %(status)s, '', %(receipt_code)s, %(idempotency_key)s, %(provider_message_id)s)
    ON CONFLICT (receipt_code) DO NOTHING
    RETURNING id, stage_id, contestant_id, channel, cast_at
), e AS (
    INSERT INTO {tally} (vote_id, stage_id, contestant_id, channel, delta, created_at)
    SELECT id, stage_id, contestant_id, channel, 1, cast_at FROM v
)
SELECT id FROM v
"""


def insert_vote_sql(fields: dict[str, object]) -> tuple[int, str]:
    """Insert a vote and its tally event (``_INSERT_VOTE_SQL``); ``(id, receipt code)``."""
    sql = _INSERT_VOTE_SQL.format(**_TABLES)
    with connection.cursor() as cursor:
        for _attempt in range(RECEIPT_INSERT_TRIES):
            receipt_code = new_receipt_code()
            cursor.execute(
                sql, {**fields, "status": VoteStatus.VALID, "receipt_code": receipt_code}
            )
            row = cursor.fetchone()
            if row is not None:
                return row[0], receipt_code
            logger.warning("receipt code collision, drawing another")
    raise IntegrityError("no free receipt code")
