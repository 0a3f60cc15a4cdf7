"""Write functions of the voting app: cast a vote, invalidate and restore votes, and the
one-time-code services (defined in ``voting.otp``, re-exported here).

The vote path (DESIGN.md §3): ``cast_vote`` decides and writes in one transaction, under
the voter's row lock, by the database clock, and returns only after the vote is committed
(or inside the caller's transaction, which commits before anyone is told). Refusals raise
``voting.exceptions`` errors with the contract's codes and write nothing.

Stage window: a vote counts when the stage's status is ``open`` and
``opens_at <= now < closes_at`` (opening inclusive, closing exclusive; a missing time is
no bound). ``now`` is the database's ``now()`` at the start of the vote's transaction.
"""

import logging
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from campaigns.choices import StageStatus
from campaigns.clock import db_now
from campaigns.models import Contestant, Stage
from staff.phones import parse_phone
from staff.services import Actor, record_audit_event
from voting.casting import (
    RECEIPT_INSERT_TRIES,
    find_original,
    insert_vote_sql,
    new_receipt_code,
    read_facts_orm,
    read_facts_sql,
)
from voting.choices import (
    AuditAction,
    LimitKind,
    VoteStatus,
)
from voting.exceptions import (
    BadCodeError,
    IdempotencyConflictError,
    InvalidationError,
    LimitReachedError,
    StaffCannotVoteError,
    StageClosedError,
    UnknownCandidateError,
    UnknownStageError,
)
from voting.fingerprints import hash_ip, hash_ip_subnet, hash_user_agent
from voting.models import OtpChallenge, RateEvent, Vote
from voting.otp import (
    VoterSession,
    code_matches_used,
    issue_voter_token,
    lock_voter,
    read_voter_token,
    request_otp,
    try_code,
    verify_otp,
)
from voting.selectors import StageLimits, VoteUsage, remaining_from_usage, vote_usage
from voting.tallies import record_tally_events, wake_tally_folder

__all__ = [
    "CastResult",
    "VoterSession",
    "accepts_votes",
    "cast_vote",
    "cast_vote_with_otp",
    "check_vote_limits",
    "invalidate_votes",
    "issue_voter_token",
    "purge_otp_records",
    "read_voter_token",
    "request_otp",
    "restore_votes",
    "verify_otp",
]

logger = logging.getLogger(__name__)

_EMPLOYEE_NO = re.compile(r"[0-9]{1,16}", re.ASCII)
INVALIDATION_CHUNK = 1000


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


def clean_employee_no(value: object) -> str:
    """The employee number as stored (ASCII digits, at most 16), or ``UnknownCandidateError``.

    Runs before any query: a 40-digit number or a negative one never reaches the database.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise UnknownCandidateError(_("There is no candidate with this number."))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not _EMPLOYEE_NO.fullmatch(text):
        raise UnknownCandidateError(_("There is no candidate with this number."))
    return text


def accepts_votes(stage: Stage, now: datetime) -> bool:
    """The window rule of the module docstring: ``open`` and ``opens_at <= now < closes_at``.

    Shared with the SMS batch ingest (``voting.inbound.ingest``): one rule for both paths.
    """
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


def check_vote_limits(
    stage: Stage | StageLimits, *, today: int, in_stage: int, for_candidate: int
) -> None:
    """Raise ``LimitReachedError`` if one more vote would pass a limit of ``stage``, given the
    voter's usage (per stage, today, for the candidate); checked in that order, 0 = no limit.

    Shared with the SMS batch ingest (``voting.inbound.ingest``): one rule for both paths.
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


def _replay(
    original: Vote, *, stage_id: int, contestant: Contestant | int | None, employee_no: str | None
) -> CastResult:
    """The original result of a repeated request, after checking it asks for the same vote."""
    same_candidate = (
        original.contestant_id == getattr(contestant, "pk", contestant)
        if contestant is not None
        else original.contestant.staff_member.employee_no == employee_no
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
    PostgreSQL, ``voting.casting.read_facts_sql``); then checks, in this order, a repeated ``idempotency_key`` (per
    voter) or ``provider_message_id`` (per channel) — which returns the original result
    and writes nothing —, the stage window (module docstring), the candidate (status
    ``in`` in this stage), the staff exclusion (any staff record with this phone hash,
    active or not: a deactivation during a campaign must not open a way to vote), and the
    limits per stage, per Asia/Shanghai day, and per candidate (0 = unlimited; invalidated
    votes count). Then inserts the ``Vote`` (``cast_at`` and ``local_day`` from the
    database clock, a fresh receipt code).

    Raises ``UnknownStageError``, ``StageClosedError``, ``UnknownCandidateError`` (also for
    a malformed employee number, before any query), ``StaffCannotVoteError``,
    ``LimitReachedError`` (``.limit`` says which), ``IdempotencyConflictError`` (a key
    reused for another vote). Also writes the vote's +1 tally event in the same
    transaction (``voting.tallies``) and, on commit, wakes the tally fold with a bounded,
    error-swallowing broker call; the request never waits on the broker.
    """
    employee_no = None
    contestant_id = None
    if contestant is None:
        employee_no = clean_employee_no(contestant_employee_no)
    else:
        contestant_id = int(getattr(contestant, "pk", contestant))
    stage_id = stage.pk if isinstance(stage, Stage) else int(stage)
    with transaction.atomic():
        # The lock is its own statement, before the read: in READ COMMITTED every
        # statement sees what was committed before *it* started, so a read in a later
        # statement sees the votes of a transaction this one waited for. (Locking and
        # reading in one statement would read from a snapshot taken before the wait.)
        lock_voter(voter_hash)
        read = read_facts_sql if connection.vendor == "postgresql" else read_facts_orm
        facts = read(
            stage_id,
            voter_hash=voter_hash,
            contestant_id=contestant_id,
            employee_no=employee_no,
            channel=channel,
            idempotency_key=idempotency_key,
            provider_message_id=provider_message_id,
        )
        if facts.original_id is not None:
            original = Vote.objects.select_related("stage", "contestant__staff_member").get(
                pk=facts.original_id
            )
            return _replay(
                original, stage_id=stage_id, contestant=contestant, employee_no=employee_no
            )
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
        fields = {
            "stage_id": stage_id,
            "contestant_id": facts.contestant_id,
            "voter_hash": voter_hash,
            "phone_masked": phone_masked,
            "channel": channel,
            "ip_hash": hash_ip(ip),
            "ip_subnet_hash": hash_ip_subnet(ip),
            "user_agent_hash": hash_user_agent(user_agent),
            "cast_at": facts.now,
            "local_day": facts.day,
            "idempotency_key": idempotency_key,
            "provider_message_id": provider_message_id,
        }
        if connection.vendor == "postgresql":
            vote_id, receipt_code = insert_vote_sql(fields)
        else:
            vote = _insert_vote(**fields)
            # Tally outbox: the +1 commits with the vote or not at all (voting.tallies).
            record_tally_events([(vote.pk, stage_id, facts.contestant_id, channel)], delta=1)
            vote_id, receipt_code = vote.pk, vote.receipt_code
        transaction.on_commit(wake_tally_folder)
    after = VoteUsage(stage=usage.stage + 1, today=usage.today + 1, candidate=usage.candidate + 1)
    remaining = remaining_from_usage(limits, after)
    return CastResult(
        vote_id=vote_id,
        receipt_code=receipt_code,
        remaining_today=remaining.today,
        remaining_stage=remaining.stage,
        cast_at=facts.now,
    )


@dataclass(frozen=True)
class VerifiedCast:
    """A vote cast with a one-time code, and the voter session the code opened."""

    result: CastResult
    session: VoterSession


def cast_vote_with_otp(
    stage: Stage | int,
    *,
    phone: str,
    code: str,
    contestant_employee_no: object,
    channel: str,
    ip: str | None = None,
    user_agent: str | None = None,
    idempotency_key: str | None = None,
) -> VerifiedCast:
    """Verify a one-time code and cast a vote with it, all or nothing.

    In one transaction, under the voter lock: a repeated ``idempotency_key`` with the
    already-used code returns the original result; otherwise the code is tried (one
    conditional UPDATE, see ``voting.otp.try_code``) and, if right, the vote is cast. If
    the vote is refused the whole transaction rolls back, so the code stays usable for
    another candidate. A wrong code's counted try is committed before ``BadCodeError``
    is raised. Raises everything ``verify_otp`` and ``cast_vote`` raise.
    """
    parsed = parse_phone(phone)
    employee_no = clean_employee_no(contestant_employee_no)
    session = VoterSession(voter_hash=parsed.hash, phone_masked=parsed.masked)
    wrong_code = False
    with transaction.atomic():
        # Voter first, then the code row: the same lock order as every other voter write.
        lock_voter(parsed.hash)
        if idempotency_key is not None and code_matches_used(parsed, code):
            original = find_original(
                parsed.hash,
                channel=channel,
                idempotency_key=idempotency_key,
                provider_message_id=None,
            )
            if original is not None:
                result = _replay(
                    original,
                    stage_id=int(getattr(stage, "pk", stage)),
                    contestant=None,
                    employee_no=employee_no,
                )
                return VerifiedCast(result=result, session=session)
        consumed = try_code(parsed, code, now=db_now())
        if consumed is None:
            wrong_code = True
        else:
            result = cast_vote(
                stage,
                contestant_employee_no=employee_no,
                voter_hash=parsed.hash,
                phone_masked=parsed.masked,
                channel=channel,
                ip=ip,
                user_agent=user_agent,
                idempotency_key=idempotency_key,
            )
    if wrong_code:
        # Raised after the commit: the counted try must stay counted.
        raise BadCodeError(_("This code is not valid. Check it, or ask for a new code."))
    return VerifiedCast(result=result, session=session)


def _change_status(vote_ids: Iterable[int], *, actor: Actor, reason: str, to: str) -> list[int]:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidationError("reason_required", _("Give a reason."))
    ids = sorted({int(pk) for pk in vote_ids})
    from_status = VoteStatus.VALID if to == VoteStatus.INVALIDATED else VoteStatus.INVALIDATED
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    changed: dict[int, list[int]] = defaultdict(list)
    with transaction.atomic():
        now = db_now()
        for start in range(0, len(ids), INVALIDATION_CHUNK):
            chunk = ids[start : start + INVALIDATION_CHUNK]
            # Lock in id order, then re-filter by status: a concurrent run of the same
            # change waits here and then finds nothing left to change (idempotent).
            rows = list(
                Vote.objects.select_for_update(of=("self",))
                .filter(pk__in=chunk, status=from_status)
                .order_by("pk")
                .values_list("pk", "stage_id", "contestant_id", "channel")
            )
            if not rows:
                continue
            if to == VoteStatus.INVALIDATED:
                fields = {
                    "invalidated_reason": reason,
                    "invalidated_by": user,
                    "invalidated_at": now,
                }
            else:
                fields = {"invalidated_reason": "", "invalidated_by": None, "invalidated_at": None}
            Vote.objects.filter(pk__in=[row[0] for row in rows]).update(status=to, **fields)
            # Tally outbox: one -1 (invalidated) or +1 (restored) per vote actually changed,
            # in this transaction (voting.tallies).
            record_tally_events(rows, delta=-1 if to == VoteStatus.INVALIDATED else 1)
            for pk, stage_id, _contestant_id, _channel in rows:
                changed[stage_id].append(pk)
        action = (
            AuditAction.VOTES_INVALIDATED
            if to == VoteStatus.INVALIDATED
            else AuditAction.VOTES_RESTORED
        )
        for stage in Stage.objects.filter(pk__in=changed).order_by("pk"):
            record_audit_event(
                stage,
                actor=actor,
                action=action,
                reason=reason,
                data={"vote_ids": changed[stage.pk], "count": len(changed[stage.pk])},
                campaign_id=stage.campaign_id,
            )
    return sorted(pk for pks in changed.values() for pk in pks)


def invalidate_votes(vote_ids: Iterable[int], *, actor: Actor, reason: str) -> list[int]:
    """Mark valid votes invalidated (fraud review); return the ids actually changed.

    Writes only the status fields of the votes (``status``, ``invalidated_reason``,
    ``invalidated_by``, ``invalidated_at``), one -1 tally event per changed vote
    (``voting.tallies``) and one audit event ``voting.vote.invalidated`` per stage
    touched (with ``campaign_id``, the ids and the reason), in one transaction.
    Locks the vote rows in id order. Idempotent: already invalidated votes are skipped,
    and a call that changes nothing records nothing. Raises ``InvalidationError``
    (``reason_required``) for an empty reason.
    """
    return _change_status(vote_ids, actor=actor, reason=reason, to=VoteStatus.INVALIDATED)


def restore_votes(vote_ids: Iterable[int], *, actor: Actor, reason: str) -> list[int]:
    """Make invalidated votes valid again; return the ids actually changed.

    The counterpart of ``invalidate_votes`` (same locks, idempotency and errors): clears the
    invalidation fields, writes one +1 tally event per changed vote and records
    ``voting.vote.restored`` per stage; the audit log keeps the earlier invalidation.
    """
    return _change_status(vote_ids, actor=actor, reason=reason, to=VoteStatus.VALID)


def purge_otp_records(*, older_than: timedelta = timedelta(days=1)) -> dict[str, int]:
    """Delete one-time codes and code-request records older than ``older_than``: they only
    serve limits measured in minutes and hours. Returns the numbers deleted."""
    cutoff = db_now() - older_than
    codes, _detail = OtpChallenge.objects.filter(created_at__lt=cutoff).delete()
    events, _detail = RateEvent.objects.filter(created_at__lt=cutoff).delete()
    return {"codes": codes, "rate_events": events}
