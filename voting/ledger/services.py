"""Casting a vote: the one write of the web vote path.

``cast_vote`` decides and writes in one transaction, under the voter's row lock, by the
database clock, and returns only after the vote is committed (or inside the caller's
transaction, which commits before anyone is told). Refusals raise ``voting.exceptions``
errors with the contract's codes and write nothing. The rules it decides by are
``voting.ledger.rules``; the statements it runs on PostgreSQL are ``voting.ledger.sql``.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.utils.translation import gettext as _

from campaigns.live import audience_window
from campaigns.models import Contestant, Stage
from voting.choices import VoteChannel
from voting.exceptions import (
    AudienceWindowClosedError,
    IdempotencyConflictError,
    NotOnStageError,
    StaffCannotVoteError,
    StageClosedError,
    UnknownCandidateError,
    UnknownStageError,
    VotingError,
)
from voting.fingerprints import hash_ip, hash_ip_subnet, hash_user_agent
from voting.ledger.outbox import record_tally_events, wake_tally_fold
from voting.ledger.receipts import RECEIPT_INSERT_TRIES, new_receipt_code
from voting.ledger.rules import (
    RemainingVotes,
    VoteUsage,
    check_channel_used,
    check_vote_limits,
    clean_employee_no,
    remaining_from_usage,
    window_open,
)
from voting.ledger.selectors import VoteFacts, read_facts_orm, vote_usage
from voting.ledger.served import served_voters
from voting.ledger.sql import RECEIPT_CONSTRAINT, insert_vote_sql, lock_voter, read_facts_sql
from voting.models import Vote

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CastResult:
    """A counted vote. ``remaining_today`` is what the voter may still cast today (the
    smaller of the day's and the stage's allowances), ``remaining_stage`` what is left in
    the stage; ``None`` means unlimited. ``replayed``: an earlier result given again for a
    repeated idempotency key or provider message id."""

    vote_id: int
    receipt_code: str
    remaining_today: int | None
    remaining_stage: int | None
    cast_at: datetime
    replayed: bool = False


def replay_vote(
    original: Vote, *, stage_id: int, contestant: Contestant | int | None, employee_no: str | None
) -> CastResult:
    """The original result of a repeated request, after checking it asks for the same vote."""
    same_candidate = (
        original.contestant_id == getattr(contestant, "pk", contestant)
        if contestant is not None
        else employee_no
        in {
            original.contestant.staff_member.vote_code,
            original.contestant.staff_member.employee_no,
        }
    )
    if original.stage_id != stage_id or not same_candidate:
        raise IdempotencyConflictError(_("This request key was already used for another vote."))
    usage = vote_usage(
        original.stage_id,
        original.voter_hash,
        day=original.local_day,
        contestant_id=original.contestant_id,
        up_to_vote_id=original.pk,
    )
    remaining = remaining_from_usage(original.stage, usage)
    return CastResult(
        vote_id=original.pk,
        receipt_code=original.receipt_code,
        remaining_today=remaining.today,
        remaining_stage=remaining.stage,
        cast_at=original.cast_at,
        replayed=True,
    )


def _insert_vote(**fields: object) -> Vote:
    """Insert with a fresh receipt code; a receipt collision (unique) retries with another.

    The savepoint keeps the transaction usable after a collision (PostgreSQL aborts the
    whole transaction on an error otherwise).
    """
    for attempt in range(RECEIPT_INSERT_TRIES):
        try:
            with transaction.atomic():
                return Vote.objects.create(receipt_code=new_receipt_code(), **fields)
        except IntegrityError:
            if attempt == RECEIPT_INSERT_TRIES - 1:
                raise
            logger.warning("receipt code collision, drawing another")
    raise AssertionError("unreachable")  # pragma: no cover


def decide_vote(facts: VoteFacts) -> RemainingVotes:
    """Decide a new vote on ``facts``: raise the refusal, or return what the voter has left
    once this vote is counted.

    Checks, in this order: the stage exists (``UnknownStageError``), its window is open at
    ``facts.now`` (``StageClosedError``), the candidate is ``in`` it
    (``UnknownCandidateError``), the voter is no staff member (``StaffCannotVoteError``),
    and the limits (``LimitReachedError``). Pure: no query, no write.
    """
    limits = facts.limits
    if limits is None:
        raise UnknownStageError(_("There is no such voting stage."))
    if not window_open(facts.status, facts.opens_at, facts.closes_at, facts.now):
        raise StageClosedError(_("Voting in this stage is not open."))
    if facts.contestant_id is None:
        raise UnknownCandidateError(_("There is no candidate with this number in this stage."))
    if facts.is_staff:
        raise StaffCannotVoteError(_("Staff members cannot vote."))
    usage = facts.usage
    check_vote_limits(
        limits, today=usage.today, in_stage=usage.stage, for_candidate=usage.candidate
    )
    after = VoteUsage(stage=usage.stage + 1, today=usage.today + 1, candidate=usage.candidate + 1)
    return remaining_from_usage(limits, after)


def audience_refusal(stage_id: int, contestant_id: int) -> VotingError | None:
    """Why an audience vote for this contestant is refused now, or ``None``.

    Only at a live contest (``campaigns.live``; without one the stage's window decides
    alone): the contestant must be the one the host has on stage (``NotOnStageError``)
    and the host must still have their turn open (``AudienceWindowClosedError``). One
    query; reads only.
    """
    window = audience_window(stage_id)
    if window is None:
        return None
    if window.contestant_id != contestant_id:
        return NotOnStageError(
            _("Audience votes go to the contestant on stage: this one is not on stage now.")
        )
    if not window.is_open:
        return AudienceWindowClosedError(_("Audience voting for this contestant has closed."))
    return None


def _is_served(facts: VoteFacts, voter_hash: str) -> bool:
    """Whether the voter is a customer the candidate served in the stage's window (one
    lookup, ``voting.ledger.served``)."""
    pair = (facts.staff_member_id, voter_hash)
    served = served_voters([(pair, facts.opens_at, facts.closes_at)], now=facts.now)
    return pair in served


def _write_vote(fields: dict[str, object]) -> tuple[int, str]:
    """Insert the vote and its +1 tally event; ``(vote id, receipt code)``."""
    if connection.vendor == "postgresql":
        return insert_vote_sql(fields)
    vote = _insert_vote(**fields)
    # Tally outbox: the +1 commits with the vote or not at all (voting.ledger.outbox).
    record_tally_events(
        [(vote.pk, vote.stage_id, vote.contestant_id, vote.channel, vote.is_served)], delta=1
    )
    return vote.pk, vote.receipt_code


@dataclass(frozen=True)
class _VoteAsked:
    """What ``cast_vote`` was asked for, as its helpers need it."""

    stage_id: int
    contestant: Contestant | int | None
    contestant_id: int | None
    employee_no: str | None
    voter_hash: str
    phone_masked: str
    channel: str
    ip: str | None
    user_agent: str | None
    idempotency_key: str | None
    provider_message_id: str | None

    def facts_asked(self) -> dict[str, object]:
        """The keyword arguments of the facts read (``read_facts_sql``, ``read_facts_orm``)."""
        return {
            "voter_hash": self.voter_hash,
            "contestant_id": self.contestant_id,
            "employee_no": self.employee_no,
            "channel": self.channel,
            "idempotency_key": self.idempotency_key,
            "provider_message_id": self.provider_message_id,
        }


@dataclass(frozen=True)
class _Decided:
    """A vote that counts: the ledger row's fields, and what the voter has left after it."""

    fields: dict[str, object]
    remaining: RemainingVotes


def _decide(vote: _VoteAsked, facts: VoteFacts) -> CastResult | _Decided:
    """Decide ``vote`` on ``facts``, read under the voter lock: the original result of a
    repeated request, the vote to write, or the refusal raised (``cast_vote``'s checks, in
    its order). Reads only (a replayed vote, an audience window, a served-customer lookup)."""
    if facts.original_id is not None:
        original = Vote.objects.select_related("stage", "contestant__staff_member").get(
            pk=facts.original_id
        )
        return replay_vote(
            original,
            stage_id=vote.stage_id,
            contestant=vote.contestant,
            employee_no=vote.employee_no,
        )
    if facts.weights is not None:
        check_channel_used(facts.weights, vote.channel)
    remaining = decide_vote(facts)
    if vote.channel == VoteChannel.AUDIENCE:
        refusal = audience_refusal(vote.stage_id, facts.contestant_id)
        if refusal is not None:
            raise refusal
    fields = {
        "stage_id": vote.stage_id,
        "contestant_id": facts.contestant_id,
        "voter_hash": vote.voter_hash,
        "phone_masked": vote.phone_masked,
        "channel": vote.channel,
        "ip_hash": hash_ip(vote.ip),
        "ip_subnet_hash": hash_ip_subnet(vote.ip),
        "user_agent_hash": hash_user_agent(vote.user_agent),
        "cast_at": facts.now,
        "local_day": facts.day,
        "idempotency_key": vote.idempotency_key,
        "provider_message_id": vote.provider_message_id,
        "is_served": _is_served(facts, vote.voter_hash)
        if facts.is_served is None
        else facts.is_served,
    }
    return _Decided(fields=fields, remaining=remaining)


def _counted(
    vote_id: int, receipt_code: str, remaining: RemainingVotes, facts: VoteFacts
) -> CastResult:
    return CastResult(
        vote_id=vote_id,
        receipt_code=receipt_code,
        remaining_today=remaining.today,
        remaining_stage=remaining.stage,
        cast_at=facts.now,
    )


def _rollback() -> None:
    """End the transaction ``_cast_in_own_transaction`` opened, whatever its state (outside
    a transaction PostgreSQL only warns). A connection too broken to take it is left to
    Django, which closes a connection with errors at the end of the request."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("ROLLBACK")
    except DatabaseError:
        logger.warning("vote: ROLLBACK failed; the connection is closed after the request")


def _is_receipt_collision(exc: IntegrityError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == RECEIPT_CONSTRAINT


def _read_first(vote: _VoteAsked) -> VoteFacts:
    """The vote's first round trip (``BEGIN``, the lock, the read), which also does the work
    of Django's per-request health check (``CONN_HEALTH_CHECKS``): that check is a
    ``SELECT 1`` round trip of its own before a request's first statement, a quarter of a
    vote's round trips. Here the check is skipped and the vote's own statements test the
    connection: if they fail because it is gone (the server restarted, or ended the
    session while it sat idle between requests), nothing of the vote reached the database,
    so the connection is closed and the round trip made once more on a new one, which is
    what the check would have done first. Any other error stands."""
    checking = (
        connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
    )
    if checking:
        connection.health_check_done = True
    try:
        return read_facts_sql(vote.stage_id, lock=True, begin=True, **vote.facts_asked())
    except (OperationalError, InterfaceError):
        if not checking or not _connection_lost():
            raise
        logger.warning("vote: the database connection was lost; voting on a new one")
        connection.close()
        return read_facts_sql(vote.stage_id, lock=True, begin=True, **vote.facts_asked())


def _connection_lost() -> bool:
    """Whether the connection's session is gone (psycopg2 marks it closed), as opposed to a
    statement that failed in a working session."""
    raw = connection.connection
    return raw is None or bool(raw.closed)


def _cast_in_own_transaction(vote: _VoteAsked) -> CastResult:
    """``cast_vote`` on PostgreSQL with no transaction open (autocommit, the web request):
    the vote's transaction in two round trips instead of four. ``BEGIN`` travels with the
    voter lock and the read (which also draws the vote's id), ``COMMIT`` with the insert
    (``voting.ledger.sql``). The same statements, snapshots and locks as in
    ``transaction.atomic``; Django does not see this transaction, so the wake-up is sent
    only once the ``COMMIT`` has returned.

    Anything that does not end in that ``COMMIT`` — a refusal, a replay, an error of any
    statement or of Python in between — ends in ``ROLLBACK``, so no transaction stays open
    on the connection. A receipt collision (``vote_unique_receipt_code``, about 2^-50 per
    pair of codes) rolls back and casts the vote again from the lock, with a new code.
    """
    for attempt in range(RECEIPT_INSERT_TRIES):
        try:
            facts = _read_first(vote)
            decided = _decide(vote, facts)
            if isinstance(decided, CastResult):
                _rollback()  # a replay: nothing to write
                return decided
            fields = {"id": facts.new_vote_id, **decided.fields}
            vote_id, receipt_code = insert_vote_sql(fields, commit=True)
        except IntegrityError as exc:
            _rollback()
            if not _is_receipt_collision(exc) or attempt == RECEIPT_INSERT_TRIES - 1:
                raise
            logger.warning("receipt code collision, casting the vote again with another")
            continue
        except BaseException:
            _rollback()
            raise
        wake_tally_fold()  # committed, and no transaction is open: sent now
        return _counted(vote_id, receipt_code, decided.remaining, facts)
    raise AssertionError("unreachable")  # pragma: no cover


def cast_vote(
    stage: Stage | int,
    *,
    contestant_employee_no: object = None,
    contestant: Contestant | int | None = None,
    voter_hash: str,
    phone_masked: str,
    channel: str,
    ip: str | None = None,
    user_agent: str | None = None,
    idempotency_key: str | None = None,
    provider_message_id: str | None = None,
) -> CastResult:
    """Cast one vote of a verified voter for a contestant of ``stage``, or refuse it.

    The candidate is given as ``contestant`` (instance or id) or ``contestant_employee_no``.
    In one transaction: locks the voter row (``lock_voter``), so one voter's concurrent
    votes run one after another and the last vote of a limit is taken once; reads the
    database clock once (with everything else it decides on: one ``SELECT`` on
    PostgreSQL, ``voting.ledger.sql.read_facts_sql``); then checks, in this order, a repeated ``idempotency_key`` (per
    voter) or ``provider_message_id`` (per channel) — which returns the original result
    and writes nothing —, the stage window (module docstring), the candidate (status
    ``in`` in this stage), the staff exclusion (any staff record with this phone hash,
    active or not: a deactivation during a campaign must not open a way to vote), and the
    limits per stage, per Asia/Shanghai day, and per candidate (0 = unlimited; invalidated
    votes count). Then inserts the ``Vote`` (``cast_at`` and ``local_day`` from the
    database clock, a fresh receipt code, ``is_served`` from one served-customer lookup,
    ``voting.ledger.served``). The checks are ``decide_vote``.

    First, a channel the stage's rules do not weight is refused (``ChannelNotUsedError``,
    ``voting.ledger.rules.check_channel_used``, from the weights read with the facts; a
    replayed request still gets its original answer). An audience vote at a live
    contest must then be for the contestant on stage, while the host has their turn open
    (``audience_refusal``).

    Raises ``UnknownStageError``, ``StageClosedError``, ``UnknownCandidateError`` (also for
    a malformed employee number, before any query), ``StaffCannotVoteError``,
    ``LimitReachedError`` (``.limit`` says which), ``NotOnStageError`` and
    ``AudienceWindowClosedError`` (audience votes), ``IdempotencyConflictError`` (a key
    reused for another vote). Also writes the vote's +1 tally event in the same
    transaction (``voting.ledger.outbox``) and, on commit, wakes the tally fold with a bounded,
    error-swallowing broker call; the request never waits on the broker.

    On PostgreSQL with no transaction open (a web request), ``BEGIN`` and ``COMMIT``
    travel with the vote's statements: two round trips, not four
    (``_cast_in_own_transaction``). Inside a caller's transaction, the vote is part of it.
    """
    employee_no = None
    contestant_id = None
    if contestant is None:
        employee_no = clean_employee_no(contestant_employee_no)
    else:
        contestant_id = int(getattr(contestant, "pk", contestant))
    stage_id = stage.pk if isinstance(stage, Stage) else int(stage)
    vote = _VoteAsked(
        stage_id=stage_id,
        contestant=contestant,
        contestant_id=contestant_id,
        employee_no=employee_no,
        voter_hash=voter_hash,
        phone_masked=phone_masked,
        channel=channel,
        ip=ip,
        user_agent=user_agent,
        idempotency_key=idempotency_key,
        provider_message_id=provider_message_id,
    )
    if connection.vendor == "postgresql" and connection.get_autocommit():
        return _cast_in_own_transaction(vote)
    asked = vote.facts_asked()
    with transaction.atomic():
        # The lock is its own statement, before the read: in READ COMMITTED every
        # statement sees what was committed before *it* started, so a read in a later
        # statement sees the votes of a transaction this one waited for. (Locking and
        # reading in one statement would read from a snapshot taken before the wait.)
        # On PostgreSQL both statements travel in one round trip (read_facts_sql).
        if connection.vendor == "postgresql":
            facts = read_facts_sql(stage_id, lock=True, **asked)
        else:
            lock_voter(voter_hash)
            facts = read_facts_orm(stage_id, **asked)
        decided = _decide(vote, facts)
        if isinstance(decided, CastResult):
            return decided
        vote_id, receipt_code = _write_vote(decided.fields)
        wake_tally_fold()
    return _counted(vote_id, receipt_code, decided.remaining, facts)
