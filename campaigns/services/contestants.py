"""Contestants of a stage: enrolment before it opens, and withdrawal with a reason."""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from campaigns.choices import ENROLMENT_STATUSES, AuditAction, ContestantStatus, StageStatus
from campaigns.exceptions import StageGuardError
from campaigns.models import Contestant, Stage
from campaigns.services.locks import lock_stage, next_stage_of, previous_stage_of
from staff.audit import clean_reason
from staff.models import StaffMember
from staff.services import Actor, record_audit_event

# Contestant rows per INSERT.
ENROL_BATCH_SIZE = 1000


def enrol(stage: Stage, staff_ids: Iterable[int]) -> int:
    """Add the staff as contestants of ``stage`` (already enrolled ones are skipped); return
    how many were added. The caller holds the stage's lock and writes the audit event."""
    before = stage.contestants.count()
    # ignore_conflicts: the (stage, staff_member) unique constraint referees re-enrolment.
    Contestant.objects.bulk_create(
        (Contestant(stage=stage, staff_member_id=pk) for pk in staff_ids),
        batch_size=ENROL_BATCH_SIZE,
        ignore_conflicts=True,
    )
    return stage.contestants.count() - before


@transaction.atomic
def enrol_contestants(
    stage: Stage,
    *,
    actor: Actor,
    staff_qs: QuerySet[StaffMember] | None = None,
    staff_ids: Iterable[int] | None = None,
) -> int:
    """Enrol active staff members as contestants of a draft or scheduled stage.

    Takes ``staff_qs`` or ``staff_ids``; with neither, every active staff member (how stage
    1 of a campaign starts). Inactive staff and those already enrolled are skipped. Locks
    the stage row. Writes one ``campaigns.contestant.enrolled`` event with the count.
    Returns how many were added. Raises ``StageGuardError`` (``enrolment_closed``) once the
    stage has opened.
    """
    locked = lock_stage(stage)
    if locked.status not in ENROLMENT_STATUSES:
        raise StageGuardError(
            "enrolment_closed", _("Contestants can be added only before a stage opens.")
        )
    candidates = StaffMember.objects.active()
    if staff_qs is not None:
        candidates = candidates.filter(pk__in=staff_qs.values("pk"))
    elif staff_ids is not None:
        candidates = candidates.filter(pk__in=list(staff_ids))
    added = enrol(locked, list(candidates.order_by("pk").values_list("pk", flat=True)))
    record_audit_event(
        locked,
        actor=actor,
        action=AuditAction.CONTESTANTS_ENROLLED,
        data={"added": added},
        campaign_id=locked.campaign_id,
    )
    return added


def _linked_contestant(contestant: Contestant, stage: Stage) -> Contestant | None:
    """The same staff member's row in the neighbouring stage that mirrors this one: the
    next stage's entry of an advanced contestant, or the previous stage's advanced row of
    a contestant enrolled from it."""
    if contestant.status == ContestantStatus.ADVANCED:
        neighbour, status = next_stage_of(stage, lock=True), ContestantStatus.IN
    else:
        neighbour, status = previous_stage_of(stage), ContestantStatus.ADVANCED
    if neighbour is None:
        return None
    return (
        Contestant.objects.select_for_update()
        .filter(stage=neighbour, staff_member_id=contestant.staff_member_id, status=status)
        .first()
    )


@transaction.atomic
def withdraw_contestant(contestant: Contestant, *, actor: Actor, reason: str) -> Contestant:
    """Withdraw a contestant (illness, resignation, disqualification). Needs a reason.

    A contestant still *in* may withdraw until the stage is previewed (after that, discard
    the preview first). An *advanced* one may withdraw until the next stage opens; the same
    person's entry in the next stage is withdrawn with it (and vice versa), which leaves a
    place that ``promote_reserve`` can fill. Locks the stage, the next stage and both
    contestant rows. Writes ``campaigns.contestant.withdrawn``. Raises ``ReasonError``
    (``reason_required``, ``reason_too_long``) or ``StageGuardError`` (``withdrawal_not_allowed``).
    """
    reason = clean_reason(reason)
    stage = lock_stage(contestant.stage_id)
    contestant = Contestant.objects.select_for_update().get(pk=contestant.pk)
    allowed = (
        contestant.status == ContestantStatus.IN
        and stage.status not in (StageStatus.PREVIEWED, StageStatus.FINALIZED)
    ) or (contestant.status == ContestantStatus.ADVANCED and stage.is_finalized)
    next_stage = next_stage_of(stage, lock=True)
    if contestant.status == ContestantStatus.ADVANCED and next_stage is not None:
        allowed = allowed and next_stage.status in ENROLMENT_STATUSES
    if not allowed:
        raise StageGuardError(
            "withdrawal_not_allowed",
            _("This contestant cannot withdraw at this point of the stage."),
        )
    linked = _linked_contestant(contestant, stage)
    before = contestant.status
    contestant.status = ContestantStatus.WITHDRAWN
    contestant.save(update_fields=["status"])
    if linked is not None:
        linked.status = ContestantStatus.WITHDRAWN
        linked.save(update_fields=["status"])
    record_audit_event(
        contestant,
        actor=actor,
        action=AuditAction.CONTESTANT_WITHDRAWN,
        reason=reason,
        data={
            "stage_id": stage.pk,
            "from": before,
            "to": ContestantStatus.WITHDRAWN,
            "linked_contestant_id": linked.pk if linked else None,
        },
        campaign_id=stage.campaign_id,
    )
    return contestant
