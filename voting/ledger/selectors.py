"""Read functions of the ledger: a voter's usage and allowance, receipts, repeated
requests, and ``read_facts_orm``, what a web vote is decided on (the ORM reference for
``voting.ledger.sql.read_facts_sql``)."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q

from campaigns.choices import ContestantStatus
from campaigns.clock import db_now, local_day
from campaigns.models import Contestant, Stage
from staff.identifiers import is_digits
from staff.models import StaffMember
from voting.ledger.receipts import normalize_receipt_code
from voting.ledger.rules import RemainingVotes, StageLimits, VoteUsage, remaining_from_usage
from voting.models import Vote


def vote_usage(
    stage: Stage | int,
    voter_hash: str,
    *,
    day: dt.date,
    contestant_id: int | None = None,
    up_to_vote_id: int | None = None,
) -> VoteUsage:
    """Count the voter's votes in ``stage`` in one aggregate query (index on voter, stage).

    Invalidated votes count too: an invalidation does not give the allowance back.
    ``up_to_vote_id`` counts only votes up to that one (one voter's votes are serialised by
    the voter lock, so their ids are in commit order): the usage as it was when it was cast.
    """
    votes = Vote.objects.filter(stage=stage, voter_hash=voter_hash)
    if up_to_vote_id is not None:
        votes = votes.filter(pk__lte=up_to_vote_id)
    counts = votes.aggregate(
        stage=Count("pk"),
        today=Count("pk", filter=Q(local_day=day)),
        candidate=Count("pk", filter=Q(contestant_id=contestant_id or 0)),
    )
    return VoteUsage(stage=counts["stage"], today=counts["today"], candidate=counts["candidate"])


def remaining_votes(
    stage: Stage, voter_hash: str, *, contestant_id: int | None = None
) -> RemainingVotes:
    """What ``voter_hash`` may still cast in ``stage`` today, by the database clock's local
    day (Asia/Shanghai); with ``contestant_id``, also for that contestant. A read only: the
    answer may be stale by the time a vote is cast, where ``cast_vote`` decides again."""
    usage = vote_usage(stage, voter_hash, day=local_day(db_now()), contestant_id=contestant_id)
    return remaining_from_usage(stage, usage, with_candidate=contestant_id is not None)


def vote_by_receipt(code: str) -> Vote | None:
    """The vote with this receipt code (typed loosely), with its stage, campaign and
    candidate loaded; ``None`` if there is none. A malformed code costs no query."""
    canonical = normalize_receipt_code(code)
    if canonical is None:
        return None
    return (
        Vote.objects.select_related("stage__campaign", "contestant__staff_member")
        .filter(receipt_code=canonical)
        .first()
    )


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
    ``original_id`` is the vote of a repeated idempotency key or provider message id;
    ``staff_member_id`` is the candidate's staff member (for the served-customer lookup);
    ``weights`` the stage's component weights (which channels it counts); ``is_served``
    the served-customer answer when the read could ask it (PostgreSQL), else ``None``;
    ``new_vote_id`` an id drawn for the vote when the read opened the vote's own
    transaction (``voting.ledger.sql.read_facts_sql``), else ``None``."""

    now: dt.datetime
    day: dt.date
    limits: StageLimits | None
    status: str
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None
    contestant_id: int | None
    is_staff: bool
    usage: VoteUsage
    original_id: int | None
    staff_member_id: int | None = None
    weights: dict | None = None
    is_served: bool | None = None
    new_vote_id: int | None = None


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
    found, staff_member_id = None, None
    if stage is not None:
        found, staff_member_id = _find_contestant(
            stage_id, contestant_id=contestant_id, employee_no=employee_no
        ) or (None, None)
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
        staff_member_id=staff_member_id,
        weights=stage.weights if stage is not None else None,
    )


def _find_contestant(
    stage_id: int, *, contestant_id: int | None, employee_no: str | None
) -> tuple[int, int] | None:
    """``(contestant id, staff member id)`` of the candidate ``in`` the stage, or ``None``."""
    candidates = Contestant.objects.filter(stage_id=stage_id, status=ContestantStatus.IN)
    if contestant_id is not None:
        candidates = candidates.filter(pk=contestant_id)
    else:
        field = "vote_code" if is_digits(employee_no or "") else "employee_no"
        candidates = candidates.filter(**{f"staff_member__{field}": employee_no})
    return candidates.order_by("pk").values_list("pk", "staff_member_id").first()
