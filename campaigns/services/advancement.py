"""Advancement: freezing a stage's results, advancing its qualifiers into the next stage,
and giving a withdrawn qualifier's place to the next reserve."""

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from campaigns.choices import (
    ENROLMENT_STATUSES,
    AuditAction,
    CampaignStatus,
    ContestantStatus,
    ResultOutcome,
)
from campaigns.exceptions import StageGuardError
from campaigns.models import Campaign, Contestant, Stage, StageResult
from campaigns.results import ALL_POSITIONS
from campaigns.services.contestants import enrol
from campaigns.services.locks import lock_stage, next_stage_of
from staff.audit import clean_reason
from staff.services import Actor, record_audit_event


def freeze_and_advance(stage: Stage, now: datetime) -> dict[str, Any]:
    """The work of previewed → finalized (``transition_stage`` holds the stage lock):
    freeze the rows, mark contestants advanced or eliminated, enrol the qualifiers in the
    next stage or finish the campaign. Returns a summary for the audit event."""
    results = stage.results.select_for_update()
    if not results.exists():
        raise StageGuardError("no_results", _("Preview the results before finalising."))
    if results.filter(outcome=ResultOutcome.TIED_AT_CUT).exists():
        raise StageGuardError(
            "unresolved_tie",
            _("A tie at the cut line is still unresolved; decide it before finalising."),
        )
    results.filter(is_frozen=False).update(is_frozen=True, frozen_at=now)
    qualified = set(
        results.filter(outcome=ResultOutcome.QUALIFIED).values_list("contestant_id", flat=True)
    )
    in_stage = stage.contestants.filter(status=ContestantStatus.IN)
    advanced = in_stage.filter(pk__in=qualified).update(status=ContestantStatus.ADVANCED)
    eliminated = in_stage.exclude(pk__in=qualified).update(status=ContestantStatus.ELIMINATED)

    next_stage = next_stage_of(stage, lock=True)
    enrolled = 0
    if next_stage is None:
        Campaign.objects.filter(pk=stage.campaign_id).update(status=CampaignStatus.FINISHED)
    else:
        if next_stage.status not in ENROLMENT_STATUSES:
            raise StageGuardError("next_stage_started", _("The next stage has already started."))
        staff_ids = stage.contestants.filter(status=ContestantStatus.ADVANCED).values_list(
            "staff_member_id", flat=True
        )
        enrolled = enrol(next_stage, staff_ids)
    return {
        "advanced": advanced,
        "eliminated": eliminated,
        "next_stage_id": next_stage.pk if next_stage else None,
        "enrolled_in_next_stage": enrolled,
    }


def _list_code(stage: Stage, position_code: str) -> str:
    return position_code if stage.position_quotas else ALL_POSITIONS


def _reserve_candidates(stage: Stage) -> list[StageResult]:
    """Reserves still eliminated in the lists that have a vacancy, best first."""
    rows = list(stage.results.select_related("contestant").order_by("position_rank", "pk"))
    qualified: dict[str, int] = defaultdict(int)
    advanced: dict[str, int] = defaultdict(int)
    for row in rows:
        code = _list_code(stage, row.position_code)
        qualified[code] += row.outcome == ResultOutcome.QUALIFIED
        advanced[code] += row.contestant.status == ContestantStatus.ADVANCED
    vacant = sorted(code for code in qualified if qualified[code] > advanced[code])
    if not vacant:
        raise StageGuardError("no_vacancy", _("No qualifier has withdrawn: there is no place."))
    candidates = [
        row
        for row in rows
        if row.outcome == ResultOutcome.RESERVE
        and row.contestant.status == ContestantStatus.ELIMINATED
        and _list_code(stage, row.position_code) in vacant
    ]
    if not candidates:
        raise StageGuardError("no_reserve", _("There is no reserve left to promote."))
    return candidates


def _choose_reserve(
    stage: Stage, candidates: list[StageResult], contestant_id: int | None
) -> StageResult:
    """The next-ranked reserve, or the named one if it is a next-ranked one."""
    if contestant_id is None:
        first_list = _list_code(stage, candidates[0].position_code)
        in_list = [r for r in candidates if _list_code(stage, r.position_code) == first_list]
        best = [r for r in in_list if r.position_rank == in_list[0].position_rank]
        if len(best) > 1:
            raise StageGuardError(
                "reserve_tie",
                _("The next reserves are tied; choose which one to promote."),
            )
        return best[0]
    matches = [r for r in candidates if r.contestant_id == contestant_id]
    if not matches:
        raise StageGuardError("not_next_reserve", _("This contestant is not a reserve."))
    chosen = matches[0]
    code = _list_code(stage, chosen.position_code)
    best_rank = min(
        r.position_rank for r in candidates if _list_code(stage, r.position_code) == code
    )
    if chosen.position_rank != best_rank:
        raise StageGuardError(
            "not_next_reserve", _("Only the next-ranked reserve can be promoted.")
        )
    return chosen


@transaction.atomic
def promote_reserve(
    stage: Stage, *, actor: Actor, reason: str, contestant_id: int | None = None
) -> Contestant:
    """Give a place left by a withdrawn qualifier to the next-ranked reserve.

    Only after the stage is finalised and before the next stage opens. The vacancy is per
    position list when the stage has per-position quotas. The reserve is the best-ranked one
    still available; if several share that rank the admin must name one with
    ``contestant_id`` (``reserve_tie``), and a named one must be among them
    (``not_next_reserve``). The frozen result rows are not touched: the promotion shows in
    the contestant's status (eliminated → advanced) and the audit log. Enrols the promoted
    contestant in the next stage. Locks the stage and the next stage. Writes
    ``campaigns.contestant.promoted``. Raises ``StageGuardError`` with ``stage_not_finalized``,
    ``next_stage_started``, ``no_vacancy``, ``no_reserve``, ``reserve_tie`` or
    ``not_next_reserve``; ``ReasonError`` for a missing or too long reason.
    """
    reason = clean_reason(reason)
    locked = lock_stage(stage)
    if not locked.is_finalized:
        raise StageGuardError(
            "stage_not_finalized", _("Reserves are promoted only after a stage is finalised.")
        )
    next_stage = next_stage_of(locked, lock=True)
    if next_stage is not None and next_stage.status not in ENROLMENT_STATUSES:
        raise StageGuardError("next_stage_started", _("The next stage has already started."))

    chosen = _choose_reserve(locked, _reserve_candidates(locked), contestant_id)
    contestant = Contestant.objects.select_for_update().get(pk=chosen.contestant_id)
    contestant.status = ContestantStatus.ADVANCED
    contestant.save(update_fields=["status"])
    if next_stage is not None:
        enrol(next_stage, [contestant.staff_member_id])
    record_audit_event(
        contestant,
        actor=actor,
        action=AuditAction.CONTESTANT_PROMOTED,
        reason=reason,
        data={
            "stage_id": locked.pk,
            "from": ContestantStatus.ELIMINATED,
            "to": ContestantStatus.ADVANCED,
            "position": chosen.position_code,
            "rank": chosen.rank,
            "next_stage_id": next_stage.pk if next_stage else None,
        },
        campaign_id=locked.campaign_id,
    )
    return contestant
