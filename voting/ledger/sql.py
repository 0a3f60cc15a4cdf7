"""Every raw SQL statement of the web vote path, in one place: the voter lock, what a vote
is decided on (read under that lock), and the write of a counted vote with its tally event.

On PostgreSQL each is one statement (``lock_voter``, ``read_facts_sql``,
``insert_vote_sql``), prepared once per connection (``voting.ledger.prepared``): a vote
costs 5 statements counting BEGIN and COMMIT. In a caller's transaction they take 4 round
trips, the lock and the read travelling together (docs/benchmarks.md, "Vote paths, issue
12"); in a web request 2, BEGIN travelling with them and COMMIT with the insert
(``voting.ledger.services.cast_vote``), the first of them also standing in for Django's
per-request connection health check. On SQLite ``voting.ledger.selectors.read_facts_orm``
asks the same questions a query at a time and ``cast_vote`` inserts through the ORM; a
hypothesis test on PostgreSQL runs both decisions side by side and holds them equal.

No column or table name is typed by hand: the statements are templates over
``_Names(Model)``, which renders ``{V}`` as the model's quoted table and ``{V.field}`` as
the quoted column of that field, so a renamed column or table changes the SQL with it.
"""

import functools
import json
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection
from django.db.models import Model

from campaigns.choices import ContestantStatus
from campaigns.models import Contestant, Stage
from campaigns.served import served_sql
from staff.identifiers import is_digits
from staff.models import StaffMember
from voting.choices import VoteStatus
from voting.ledger.prepared import execute_prepared
from voting.ledger.receipts import RECEIPT_INSERT_TRIES, new_receipt_code
from voting.ledger.rules import StageLimits, VoteUsage
from voting.ledger.selectors import VoteFacts
from voting.models import TallyEvent, Vote, Voter

logger = logging.getLogger(__name__)


class _Names:
    """A model's quoted table name (``str()``) and quoted column names (attributes)."""

    def __init__(self, model: type[Model]) -> None:
        self._model = model

    def __str__(self) -> str:
        return connection.ops.quote_name(self._model._meta.db_table)

    def __getattr__(self, name: str) -> str:
        return connection.ops.quote_name(self._model._meta.get_field(name).column)


def _names() -> dict[str, _Names]:
    return {
        "S": _Names(Stage),
        "C": _Names(Contestant),
        "M": _Names(StaffMember),
        "V": _Names(Vote),
        "E": _Names(TallyEvent),
        "R": _Names(Voter),
    }


@functools.lru_cache(maxsize=64)
def _render(template: str, vendor_key: str, **extra: str) -> str:
    """``template`` with the quoted table and column names filled in (``vendor_key`` keys
    the cache per database). Cached: the names never change while a process runs, and
    resolving them through ``_meta`` on every vote cost 0.7 ms, more than the statement's
    own round trip (a 30 % drop of web vote throughput before it was cached)."""
    return template.format(**_names(), **extra)


_LOCK_VOTER_SQL = (
    "INSERT INTO {R} ({R.voter_hash}) VALUES (%(voter)s) "
    "ON CONFLICT ({R.voter_hash}) DO UPDATE SET {R.voter_hash} = excluded.{R.voter_hash}"
)


def lock_voter(voter_hash: str) -> None:
    """Create the voter's row if needed and lock it until the end of the transaction.

    One statement: ``INSERT … ON CONFLICT (voter_hash) DO UPDATE``. A new voter's row is
    inserted (and, being uncommitted, blocks a concurrent insert of the same key until
    this transaction ends); an existing row is updated to itself, which takes the row
    lock an ``UPDATE`` takes — it conflicts with itself and with ``SELECT … FOR UPDATE``
    (the SMS ingest's lock), so everything one voter does in parallel (votes, code
    requests) queues on this one row: a per-voter lock, never a hot row shared by many
    voters. A waiter that finds the row changed re-checks the latest version and locks
    that. The no-op update leaves a dead row version per vote (vacuumed like any
    update); it saves the separate ``SELECT … FOR UPDATE`` round trip. The caller must
    read what the lock protects in a *later* statement (see
    ``voting.ledger.services.cast_vote``). On SQLite, ``IMMEDIATE`` transactions serialise
    all writers. Must run inside ``transaction.atomic``.
    """
    sql = _render(_LOCK_VOTER_SQL, connection.alias)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            execute_prepared(cursor, [("vote_lock", sql, {"voter": voter_hash})])
        else:
            cursor.execute(sql, {"voter": voter_hash})


# Invalidated votes count (as in ``vote_usage``). The usage reads the voter's own votes
# (``vote_voter_usage``, a handful) and counts the stage's among them: with the stage in
# the WHERE clause too, a connection's generic plan, made once on a ledger with few votes
# and no statistics, could read the whole stage through ``vote_recount`` on every vote
# (the HTTP bench read 6.3 million index entries for 6,370 votes; docs/benchmarks.md,
# "Vote paths, issue 12, fourth session"). A missing stage or candidate leaves NULLs that
# ``cast_vote`` turns into the same errors, in the same order, as the ORM path.
_FACTS_SQL = """
SELECT n.now, (n.now AT TIME ZONE %(tz)s)::date,
       s.{S.id}, s.{S.status}, s.{S.opens_at}, s.{S.closes_at},
       s.{S.votes_per_day}, s.{S.votes_per_stage}, s.{S.votes_per_candidate},
       c.id,
       EXISTS (SELECT 1 FROM {M} WHERE {M.phone_hash} = %(voter)s),
       u.in_stage, u.today, u.for_candidate,
       COALESCE(
           (SELECT {V.id} FROM {V}
                WHERE {V.voter_hash} = %(voter)s AND {V.idempotency_key} = %(key)s),
           (SELECT {V.id} FROM {V} WHERE {V.channel} = %(channel)s
                AND {V.provider_message_id} = %(message)s)
       ),
       c.staff_member_id, s.{S.weights}, {served}, {new_vote_id}
FROM (SELECT now() AS now) AS n
LEFT JOIN {S} AS s ON s.{S.id} = %(stage)s
LEFT JOIN LATERAL (
    SELECT c.{C.id} AS id, c.{C.staff_member} AS staff_member_id FROM {C} AS c
    WHERE c.{C.stage} = s.{S.id} AND c.{C.status} = %(in)s AND {candidate}
    LIMIT 1
) AS c ON true
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE v.{V.stage} = %(stage)s) AS in_stage,
           count(*) FILTER (WHERE v.{V.stage} = %(stage)s
                            AND v.{V.local_day} = (n.now AT TIME ZONE %(tz)s)::date) AS today,
           count(*) FILTER (WHERE v.{V.stage} = %(stage)s AND v.{V.contestant} = c.id)
               AS for_candidate
    FROM {V} AS v WHERE v.{V.voter_hash} = %(voter)s
) AS u
"""


def read_facts_sql(
    stage_id: int,
    *,
    voter_hash: str,
    contestant_id: int | None,
    employee_no: str | None,
    channel: str,
    idempotency_key: str | None,
    provider_message_id: str | None,
    lock: bool = False,
    begin: bool = False,
) -> VoteFacts:
    """``VoteFacts`` in one ``SELECT`` (PostgreSQL): ``now()``, the stage, the candidate,
    the staff exclusion, the usage counts and a repeated request, by subqueries.

    Must run after the voter lock, in a later statement (see ``cast_vote``): with
    ``lock``, ``lock_voter``'s statement runs first, in the same round trip (a query
    string of two statements, ``voting.ledger.prepared.execute_prepared``); each
    statement of such a string takes its own snapshot in READ COMMITTED, so the read
    sees what a transaction it waited for committed. The day is ``now()`` in
    ``TIME_ZONE``, as ``campaigns.clock.local_day`` computes it. Both statements are
    prepared once per connection.

    With ``begin`` (the caller in autocommit mode, outside any transaction) ``BEGIN``
    travels in the same round trip and opens the vote's transaction, which the caller
    must end; the read also draws the new vote's id from the ledger's sequence
    (``new_vote_id``), for an insert that ends with ``COMMIT`` in its own round trip and
    so cannot return it (``insert_vote_sql``). A vote refused then leaves a gap in the
    ids, as a rolled-back insert does.
    """
    # The staff member is found first, by a unique number (a subquery run once), then their
    # row among the stage's contestants (unique per stage). Joined the other way, the
    # planner walked every contestant of the stage and probed the staff table once for
    # each: twenty probes a vote in the bench's stage, thousands in a stage 1 of a whole
    # operator (docs/benchmarks.md, "Vote paths, issue 12, fourth session").
    if contestant_id is not None:
        by = "c.{C.id} = %(contestant)s"
    elif is_digits(employee_no or ""):  # digits are a vote code (staff.identifiers)
        by = "c.{C.staff_member} = (SELECT m.{M.id} FROM {M} AS m WHERE m.{M.vote_code} = %(no)s)"
    else:
        by = "c.{C.staff_member} = (SELECT m.{M.id} FROM {M} AS m WHERE m.{M.employee_no} = %(no)s)"
    alias = connection.alias
    new_vote_id = _render(_NEXT_VOTE_ID, alias, id_column=Vote._meta.pk.column) if begin else "NULL"
    sql = _render(
        _FACTS_SQL,
        alias,
        candidate=_render(by, alias),
        served=_served(alias),
        new_vote_id=new_vote_id,
    )
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
    statements = [("vote_facts", sql, params)]
    if lock:
        statements.insert(0, ("vote_lock", _render(_LOCK_VOTER_SQL, alias), params))
    with connection.cursor() as cursor:
        execute_prepared(cursor, statements, begin=begin)
        row = cursor.fetchone()
    (now, day, found_stage, status, opens_at, closes_at, per_day, per_stage, per_candidate) = row[
        :9
    ]
    (found, is_staff, in_stage, today, for_candidate, original_id, staff_member_id) = row[9:16]
    weights, served, new_vote_id = row[16:]
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
        staff_member_id=staff_member_id,
        # Django reads jsonb as text on its own connections (its JSONField decodes it).
        weights=json.loads(weights) if isinstance(weights, str) else weights,
        is_served=served,
        new_vote_id=new_vote_id,
    )


# The ledger's next id (its identity sequence), drawn by the read that opens a transaction.
_NEXT_VOTE_ID = "nextval(pg_get_serial_sequence('{V}', '{id_column}'))"


def _served(alias: str) -> str:
    """The served-customer question inside the read (``campaigns.served.served_sql``): the
    voter's phone and the candidate's staff member in the stage's window, ``[opens_at or
    the beginning, closes_at or now)`` as ``voting.ledger.served.served_window`` has it;
    ``NULL`` (asked after the read, ``voting.ledger.served``) without a registered form."""
    expression = served_sql(
        staff="c.staff_member_id",
        phone="%(voter)s",
        start=_render("COALESCE(s.{S.opens_at}, '-infinity'::timestamptz)", alias),
        end=_render("COALESCE(s.{S.closes_at}, n.now)", alias),
    )
    return expression or "NULL::boolean"


# The vote and its +1 tally event (voting.counting.tallies) in one statement: the
# data-modifying CTE runs exactly once, so the event commits with the vote or not at all.
# A receipt collision (unique, 2^-50 per pair) inserts nothing and returns no row: draw
# another code and retry, without the savepoint the ORM path needs. Any other unique
# violation (a reused key) still raises.
_INSERT_VOTE_SQL = """
WITH v AS (
    INSERT INTO {V} ({columns}) VALUES ({values})
    ON CONFLICT ({V.receipt_code}) DO NOTHING
    RETURNING {V.id}, {V.stage}, {V.contestant}, {V.channel}, {V.is_served}, {V.cast_at}
), e AS (
    INSERT INTO {E} ({E.vote}, {E.stage}, {E.contestant}, {E.channel}, {E.is_served},
                     {E.delta}, {E.created_at})
    SELECT {V.id}, {V.stage}, {V.contestant}, {V.channel}, {V.is_served}, 1, {V.cast_at}
    FROM v
)
SELECT {V.id} FROM v
"""


# The same, with the vote's id given (drawn by the read, ``read_facts_sql``) and sent with
# COMMIT in one round trip, which returns nothing: a receipt collision raises (the unique
# constraint ``RECEIPT_CONSTRAINT``) and the caller casts the vote again.
_INSERT_GIVEN_VOTE_SQL = """
WITH v AS (
    INSERT INTO {V} ({columns}) VALUES ({values})
    RETURNING {V.id}, {V.stage}, {V.contestant}, {V.channel}, {V.is_served}, {V.cast_at}
)
INSERT INTO {E} ({E.vote}, {E.stage}, {E.contestant}, {E.channel}, {E.is_served},
                 {E.delta}, {E.created_at})
SELECT {V.id}, {V.stage}, {V.contestant}, {V.channel}, {V.is_served}, 1, {V.cast_at} FROM v
"""
RECEIPT_CONSTRAINT = "vote_unique_receipt_code"


@functools.lru_cache(maxsize=8)
def _insert_vote_statement(template: str, fields: tuple[str, ...], vendor_key: str) -> str:
    """The insert for these ``Vote`` fields (``vendor_key`` keys the cache per database)."""
    names = _names()
    columns = ", ".join(getattr(names["V"], name) for name in fields)
    values = ", ".join(f"%({name})s" for name in fields)
    return template.format(columns=columns, values=values, **names)


def insert_vote_sql(fields: dict[str, Any], *, commit: bool = False) -> tuple[int, str]:
    """Insert a vote and its tally event (``_INSERT_VOTE_SQL``); ``(id, receipt code)``.

    ``fields`` maps ``Vote`` field names (``stage_id`` style for foreign keys) to values;
    the status (valid), an empty invalidation reason and a fresh receipt code are added.

    With ``commit`` (the transaction opened by ``read_facts_sql(begin=True)``), ``fields``
    has the ``id`` that read drew, and ``COMMIT`` travels with the insert
    (``_INSERT_GIVEN_VOTE_SQL``); a receipt collision raises ``IntegrityError`` on
    ``RECEIPT_CONSTRAINT``, and the transaction is left for the caller to roll back.
    """
    values = {
        **fields,
        "status": VoteStatus.VALID,
        "invalidated_reason": "",
        "receipt_code": "",
    }
    if commit:
        sql = _insert_vote_statement(_INSERT_GIVEN_VOTE_SQL, tuple(values), connection.alias)
        receipt_code = new_receipt_code()
        with connection.cursor() as cursor:
            execute_prepared(
                cursor,
                [("vote_insert_commit", sql, {**values, "receipt_code": receipt_code})],
                commit=True,
            )
        return fields["id"], receipt_code
    sql = _insert_vote_statement(_INSERT_VOTE_SQL, tuple(values), connection.alias)
    with connection.cursor() as cursor:
        for _attempt in range(RECEIPT_INSERT_TRIES):
            receipt_code = new_receipt_code()
            execute_prepared(
                cursor, [("vote_insert", sql, {**values, "receipt_code": receipt_code})]
            )
            row = cursor.fetchone()
            if row is not None:
                return row[0], receipt_code
            logger.warning("receipt code collision, drawing another")
    raise IntegrityError("no free receipt code")


# The SMS batch's votes (``voting.sms_votes.handler``): their columns, in the order of the
# rows the handler builds. Ids are drawn first (COPY returns none), then the votes and their
# +1 tally events go in with one COPY each, so a batch costs the same statements whatever
# its size and PostgreSQL parses no per-row parameters.
SMS_VOTE_COLUMNS = (
    "id",
    "stage",
    "contestant",
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
    "receipt_code",
    "provider_message_id",
    "is_served",
)
TALLY_EVENT_COLUMNS = ("vote", "stage", "contestant", "channel", "is_served", "delta", "created_at")
# The sequence is looked up once (a materialised CTE): called in the select list, the
# lookup ran once per id drawn, three quarters of the statement's 4 ms for 700 ids.
_NEXT_IDS_SQL = (
    "WITH seq AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS id) "
    "SELECT nextval(seq.id) FROM seq, generate_series(1, %s)"
)


def next_vote_ids(count: int) -> list[int]:
    """``count`` fresh ``Vote`` ids from the table's identity sequence (PostgreSQL), in one
    statement; ids drawn and not used leave a gap, as a rolled-back insert does."""
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_IDS_SQL, [Vote._meta.db_table, Vote._meta.pk.column, count])
        return [row[0] for row in cursor.fetchall()]
