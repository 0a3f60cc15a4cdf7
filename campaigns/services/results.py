"""Stored results of a stage: the preview rows, and ties decided at the cut line.

A preview is a set of unfrozen ``StageResult`` rows computed by
``campaigns.results.compute_stage_results``; it can be recomputed or discarded until the
stage is finalised (``campaigns.services.advancement``), which freezes the rows for good.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from campaigns.choices import AuditAction, ResultOutcome, StageStatus
from campaigns.clock import db_now
from campaigns.exceptions import InvalidRulesError, ResultsFrozenError, StageGuardError
from campaigns.models import Stage, StageResult, TieResolution
from campaigns.results import compute_stage_results
from campaigns.services.locks import lock_stage
from staff.audit import clean_reason
from staff.services import Actor, record_audit_event

# Result rows per INSERT.
RESULT_BATCH_SIZE = 1000


def delete_preview(stage: Stage) -> int:
    """Delete the stage's unfrozen result rows and tie resolutions; return the rows deleted.

    Raises ``ResultsFrozenError`` if the stage has frozen rows."""
    if stage.results.filter(is_frozen=True).exists():
        raise ResultsFrozenError(_("The results of this stage are frozen."))
    stage.tie_resolutions.all().delete()
    deleted, _by_model = stage.results.filter(is_frozen=False).delete()
    return deleted


def store_preview(stage: Stage, now: datetime) -> dict[str, Any]:
    """Compute and store the stage's results as unfrozen rows; return a summary for audit."""
    if stage.results.filter(is_frozen=True).exists():
        raise ResultsFrozenError(_("The results of this stage are frozen."))
    try:
        computed = compute_stage_results(stage)
    except ValidationError as exc:
        raise InvalidRulesError(" ".join(exc.messages)) from exc
    delete_preview(stage)
    ranking = computed.ranking
    rows = []
    for ranked in ranking.rows:
        line = computed.lines[ranked.entry.contestant_id]
        rows.append(
            StageResult(
                stage=stage,
                contestant_id=line.contestant_id,
                position_code=line.position_code,
                components={key: value.as_json() for key, value in line.components.items()},
                web_votes=line.channels["web"],
                sms_votes=line.channels["sms"],
                audience_votes=line.channels["audience"],
                served_votes=line.served_votes,
                total=line.total,
                rank=ranked.rank,
                position_rank=ranked.position_rank,
                outcome=ranked.outcome,
                computed_at=now,
            )
        )
    StageResult.objects.bulk_create(rows, batch_size=RESULT_BATCH_SIZE)
    return {
        "contestants": len(rows),
        "qualified": len(ranking.qualified_ids),
        "reserves": len(ranking.reserve_ids),
        "tie_groups": [
            {"position": g.position_code, "tied": list(g.contestant_ids), "places": g.places}
            for g in ranking.tie_groups
        ],
        "overflow_groups": [
            {"position": g.position_code, "tied": list(g.contestant_ids), "places": g.places}
            for g in ranking.overflow_groups
        ],
        "shortfall": dict(ranking.shortfall),
        "unavailable": list(computed.unavailable),
    }


def _tie_choice(
    tied: list[int], places: int, *, admit_all: bool | None, chosen: Iterable[int]
) -> list[int]:
    """Who qualifies: everyone tied, or exactly ``places`` of them (sorted ids)."""
    picked = sorted(set(chosen))
    if admit_all:
        if picked:
            raise StageGuardError(
                "bad_tie_choice", _("Either admit everyone tied or choose, not both.")
            )
        return tied
    if len(picked) != places or not set(picked) <= set(tied):
        raise StageGuardError(
            "bad_tie_choice",
            _("Choose exactly %(places)s of the tied contestants.") % {"places": places},
        )
    return picked


@transaction.atomic
def resolve_tie(
    stage: Stage,
    *,
    admit_all: bool | None,
    chosen_contestant_ids: Iterable[int] = (),
    actor: Actor,
    reason: str,
    position_code: str = "",
) -> TieResolution:
    """Decide a tie left at the cut line of a previewed stage. Needs a reason.

    Either ``admit_all=True`` (everyone tied qualifies, exceeding the quota) or exactly as
    many ``chosen_contestant_ids`` as places are left; the others tied become the first
    reserves. ``position_code`` names the position list for stages with per-position quotas.
    Locks the stage and its result rows; updates the unfrozen rows' outcomes; stores a
    ``TieResolution`` and writes ``campaigns.tie.resolved``. Raises ``StageGuardError``
    (``stage_not_previewed``, ``no_tie``, ``bad_tie_choice``) or ``ReasonError`` for a
    missing or too long reason.
    """
    reason = clean_reason(reason)
    locked = lock_stage(stage)
    if locked.status != StageStatus.PREVIEWED:
        raise StageGuardError("stage_not_previewed", _("Ties are decided on a previewed stage."))
    in_list = locked.results.select_for_update().filter(is_frozen=False)
    if locked.position_quotas:
        in_list = in_list.filter(position_code=position_code)
        places_total = int(locked.position_quotas.get(position_code, 0))
    else:
        places_total = locked.quota
    tied = sorted(
        in_list.filter(outcome=ResultOutcome.TIED_AT_CUT).values_list("contestant_id", flat=True)
    )
    if not tied:
        raise StageGuardError("no_tie", _("There is no unresolved tie at this cut line."))
    places = places_total - in_list.filter(outcome=ResultOutcome.QUALIFIED).count()
    chosen = _tie_choice(tied, places, admit_all=admit_all, chosen=chosen_contestant_ids)
    tied_rows = in_list.filter(outcome=ResultOutcome.TIED_AT_CUT)
    tied_rows.filter(contestant_id__in=chosen).update(outcome=ResultOutcome.QUALIFIED)
    tied_rows.exclude(contestant_id__in=chosen).update(outcome=ResultOutcome.RESERVE)
    resolution = TieResolution.objects.create(
        stage=locked,
        position_code=position_code if locked.position_quotas else "",
        tied_contestant_ids=tied,
        places=places,
        admit_all=bool(admit_all),
        chosen_contestant_ids=[] if admit_all else chosen,
        reason=reason,
        decided_by=actor if getattr(actor, "is_authenticated", False) else None,
        decided_at=db_now(),
    )
    record_audit_event(
        locked,
        actor=actor,
        action=AuditAction.TIE_RESOLVED,
        reason=reason,
        data={
            "position": resolution.position_code,
            "tied": tied,
            "places": places,
            "admit_all": bool(admit_all),
            "chosen": resolution.chosen_contestant_ids,
        },
        campaign_id=locked.campaign_id,
    )
    return resolution
