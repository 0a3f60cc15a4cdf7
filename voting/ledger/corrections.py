"""Corrections of the ledger by the fraud review: invalidating votes and restoring them.

A correction never deletes a vote: it changes the vote's status (with who, when and why),
writes one tally event per vote actually changed (``voting.ledger.outbox``), and records
one audit event per stage touched, all in one transaction.

Frozen means frozen: once a stage is finalised its results are confirmed, so no vote of it
may change any more. The service refuses with ``StageFrozenError`` (``stage_frozen``)
before it changes anything, holding the stages it checked with a row lock so that a
finalisation cannot slip in between the check and the commit. On PostgreSQL a trigger
(migration ``vote_frozen_stage_trigger``) refuses the same update whatever wrote it; on
SQLite (the embedded default and the fast tests) only this service guards it.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from campaigns.choices import StageStatus
from campaigns.clock import db_now
from campaigns.models import Stage
from staff.audit import clean_reason
from staff.services import Actor, record_audit_event
from voting.choices import AuditAction, VoteStatus
from voting.exceptions import StageFrozenError
from voting.ledger.outbox import record_tally_events
from voting.models import Vote

# Votes locked and changed per statement: bounded parameter lists, short lock batches.
INVALIDATION_CHUNK = 1000


def _refuse_frozen(stage_ids: set[int]) -> None:
    """Lock the given stages (``FOR NO KEY UPDATE``: a concurrent stage transition waits)
    and raise ``StageFrozenError`` if one of them is finalised."""
    statuses = (
        Stage.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted(stage_ids))
        .order_by("pk")
        .values_list("status", flat=True)
    )
    if StageStatus.FINALIZED in list(statuses):
        raise StageFrozenError(
            _("The results of this stage are final: its votes can no longer be changed.")
        )


def _change_status(vote_ids: Iterable[int], *, actor: Actor, reason: str, to: str) -> list[int]:
    reason = clean_reason(reason)
    ids = sorted({int(pk) for pk in vote_ids})
    from_status = VoteStatus.VALID if to == VoteStatus.INVALIDATED else VoteStatus.INVALIDATED
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    if to == VoteStatus.INVALIDATED:
        fields = {"invalidated_reason": reason, "invalidated_by": user}
    else:
        fields = {"invalidated_reason": "", "invalidated_by": None, "invalidated_at": None}
    changed: dict[int, list[int]] = defaultdict(list)
    with transaction.atomic():
        if to == VoteStatus.INVALIDATED:
            fields["invalidated_at"] = db_now()
        for start in range(0, len(ids), INVALIDATION_CHUNK):
            chunk = ids[start : start + INVALIDATION_CHUNK]
            # Lock in id order, then re-filter by status: a concurrent run of the same
            # change waits here and then finds nothing left to change (idempotent).
            rows = list(
                Vote.objects.select_for_update(of=("self",))
                .filter(pk__in=chunk, status=from_status)
                .order_by("pk")
                .values_list("pk", "stage_id", "contestant_id", "channel", "is_served")
            )
            if not rows:
                continue
            _refuse_frozen({row[1] for row in rows})
            Vote.objects.filter(pk__in=[row[0] for row in rows]).update(status=to, **fields)
            # Tally outbox: one -1 (invalidated) or +1 (restored) per vote actually changed.
            record_tally_events(rows, delta=-1 if to == VoteStatus.INVALIDATED else 1)
            for pk, stage_id, *_rest in rows:
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
    (``voting.ledger.outbox``) and one audit event ``voting.vote.invalidated`` per stage
    touched (with ``campaign_id``, the ids and the reason), in one transaction.
    Locks the vote rows in id order, then their stages. Idempotent: already invalidated
    votes are skipped, and a call that changes nothing records nothing. Raises
    ``staff.audit.ReasonError`` (``reason_required``, ``reason_too_long``) for a bad reason and
    ``StageFrozenError`` (``stage_frozen``) if a vote to change belongs to a finalised
    stage; a refusal changes nothing.
    """
    return _change_status(vote_ids, actor=actor, reason=reason, to=VoteStatus.INVALIDATED)


def restore_votes(vote_ids: Iterable[int], *, actor: Actor, reason: str) -> list[int]:
    """Make invalidated votes valid again; return the ids actually changed.

    The counterpart of ``invalidate_votes`` (same locks, idempotency and errors, frozen
    stages included): clears the invalidation fields, writes one +1 tally event per changed
    vote and records ``voting.vote.restored`` per stage; the audit log keeps the earlier
    invalidation.
    """
    return _change_status(vote_ids, actor=actor, reason=reason, to=VoteStatus.VALID)
