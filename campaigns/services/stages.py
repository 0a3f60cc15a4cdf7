"""The stage state machine: the one function that changes ``Stage.status``, its named
wrappers, and the beat task's scheduled opening and closing.

The moves (``campaigns.choices.STAGE_TRANSITIONS``): draft ⇄ scheduled → open → closed ⇄
previewed → finalized (draft → open directly too). Each move sets its time stamp, does
its work in the same transaction and writes one audit event.
"""

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from campaigns.choices import (
    STAGE_TRANSITION_ACTIONS,
    STAGE_TRANSITIONS,
    CampaignStatus,
    ContestantStatus,
    StageStatus,
)
from campaigns.clock import db_now
from campaigns.exceptions import CampaignError, InvalidTransitionError, StageGuardError
from campaigns.models import Campaign, Stage
from campaigns.services.advancement import freeze_and_advance
from campaigns.services.locks import lock_stage, previous_stage_of
from campaigns.services.results import delete_preview, store_preview
from campaigns.services.rules import check_rules
from staff.audit import clean_reason
from staff.services import Actor, record_audit_event

logger = logging.getLogger(__name__)


def _label(status: str) -> str:
    return str(StageStatus(status).label) if status in StageStatus.values else status


# The stage state machine ---------------------------------------------------------------


@transaction.atomic
def transition_stage(stage: Stage, to: str, *, actor: Actor, reason: str = "") -> Stage:
    """Move a stage to status ``to``: the one function that changes ``Stage.status``.

    Locks the stage row, checks the move against ``STAGE_TRANSITIONS`` and the move's
    guards, sets the time field the move implies, and does the move's work in the same
    transaction:

    - → scheduled: needs both times, closing in the future, and valid rules.
    - → open: the previous stage is finalised, there are contestants, rules are valid and
      ``closes_at`` (if set) is in the future. The campaign becomes running.
    - open → closed: stamps ``closed_at``.
    - → previewed: computes results and stores unfrozen ``StageResult`` rows, replacing
      earlier unfrozen ones and earlier tie resolutions.
    - previewed → closed: discards the preview rows and tie resolutions.
    - → finalized: refuses unresolved ties, freezes the rows, marks contestants advanced or
      eliminated, and enrols the qualifiers in the next stage (or finishes the campaign).

    Writes an audit event (from, to, reason, and a summary of the work). Updates ``stage``
    in place and returns it.

    Raises ``InvalidTransitionError`` (code ``invalid_transition``) for a move not in the
    table, ``StageGuardError`` for a failed guard, ``InvalidRulesError`` for bad rules and
    ``ResultsFrozenError`` when frozen results would be touched, ``ReasonError`` for a
    reason over the limit; nothing changes then.
    """
    reason = clean_reason(reason, required=False)
    locked = lock_stage(stage)
    from_status = locked.status
    if to not in STAGE_TRANSITIONS.get(from_status, frozenset()):
        raise InvalidTransitionError(
            _("A stage cannot go from “%(from)s” to “%(to)s”.")
            % {"from": _label(from_status), "to": _label(to)}
        )
    # The database clock decides and stamps every move: web processes,
    # workers and beat may disagree about the time, PostgreSQL is one clock for all.
    now = db_now()
    data: dict[str, Any] = {"from": from_status, "to": to}
    update_fields = ["status", *_do_move_work(locked, from_status, to, now=now, data=data)]
    locked.status = to
    locked.save(update_fields=update_fields)
    record_audit_event(
        locked,
        actor=actor,
        action=STAGE_TRANSITION_ACTIONS[(from_status, to)],
        reason=reason,
        data=data,
        campaign_id=locked.campaign_id,
    )
    logger.info("stage %s moved from %s to %s", locked.pk, from_status, to)
    for name in update_fields:
        setattr(stage, name, getattr(locked, name))
    return stage


def _do_move_work(
    locked: Stage, from_status: str, to: str, *, now: datetime, data: dict[str, Any]
) -> list[str]:
    """Check the move's guards, do its work and set its time stamp on ``locked``; add a
    summary of the work to ``data``; return the stamped field names."""
    if to == StageStatus.SCHEDULED:
        _guard_schedulable(locked, now)
        return []
    if to == StageStatus.OPEN:
        _guard_openable(locked, now)
        locked.opened_at = now
        Campaign.objects.filter(pk=locked.campaign_id, status=CampaignStatus.DRAFT).update(
            status=CampaignStatus.RUNNING
        )
        return ["opened_at"]
    if to == StageStatus.CLOSED and from_status == StageStatus.OPEN:
        locked.closed_at = now
        return ["closed_at"]
    if to == StageStatus.CLOSED:
        data["discarded_results"] = delete_preview(locked)
        locked.previewed_at = None
        return ["previewed_at"]
    if to == StageStatus.PREVIEWED:
        data["summary"] = store_preview(locked, now)
        locked.previewed_at = now
        return ["previewed_at"]
    if to == StageStatus.FINALIZED:
        data["summary"] = freeze_and_advance(locked, now)
        locked.finalized_at = now
        return ["finalized_at"]
    return []  # draft: a scheduled stage taken back sets nothing


def _guard_schedulable(stage: Stage, now: datetime) -> None:
    if stage.opens_at is None or stage.closes_at is None:
        raise StageGuardError(
            "schedule_incomplete", _("Set both the opening and the closing time first.")
        )
    if stage.closes_at <= now:
        raise StageGuardError("closes_at_passed", _("The closing time has already passed."))
    check_rules(stage)


def _guard_openable(stage: Stage, now: datetime) -> None:
    previous = previous_stage_of(stage)
    if previous is not None and previous.status != StageStatus.FINALIZED:
        raise StageGuardError(
            "previous_stage_not_finalized",
            _("“%(stage)s” can open only after the previous stage “%(previous)s” is finalised.")
            % {"stage": stage.name, "previous": previous.name},
        )
    if stage.closes_at is not None and stage.closes_at <= now:
        raise StageGuardError("closes_at_passed", _("The closing time has already passed."))
    if not stage.contestants.filter(status=ContestantStatus.IN).exists():
        raise StageGuardError("no_contestants", _("A stage without contestants cannot open."))
    check_rules(stage)


def schedule_stage(stage: Stage, *, actor: Actor, reason: str = "") -> Stage:
    """draft → scheduled; the beat task opens it at ``opens_at``. See ``transition_stage``."""
    return transition_stage(stage, StageStatus.SCHEDULED, actor=actor, reason=reason)


def unschedule_stage(stage: Stage, *, actor: Actor, reason: str = "") -> Stage:
    """scheduled → draft. See ``transition_stage``."""
    return transition_stage(stage, StageStatus.DRAFT, actor=actor, reason=reason)


def open_stage(stage: Stage, *, actor: Actor, reason: str = "") -> Stage:
    """draft/scheduled → open: votes and scores are accepted. See ``transition_stage``."""
    return transition_stage(stage, StageStatus.OPEN, actor=actor, reason=reason)


def close_stage(stage: Stage, *, actor: Actor, reason: str = "") -> Stage:
    """open → closed: nothing more is accepted. See ``transition_stage``."""
    return transition_stage(stage, StageStatus.CLOSED, actor=actor, reason=reason)


def preview_stage(stage: Stage, *, actor: Actor, reason: str = "") -> Stage:
    """closed/previewed → previewed: (re)compute and store unfrozen results."""
    return transition_stage(stage, StageStatus.PREVIEWED, actor=actor, reason=reason)


def discard_preview(stage: Stage, *, actor: Actor, reason: str = "") -> Stage:
    """previewed → closed: drop the preview, e.g. to change rules and preview again."""
    return transition_stage(stage, StageStatus.CLOSED, actor=actor, reason=reason)


def finalize_stage(stage: Stage, *, actor: Actor, reason: str = "") -> Stage:
    """previewed → finalized: freeze results and advance the qualifiers. Irreversible."""
    return transition_stage(stage, StageStatus.FINALIZED, actor=actor, reason=reason)


def open_and_close_due_stages() -> dict[str, list[int]]:
    """Open scheduled stages whose time has come and close open ones whose time is up.

    Idempotent: each stage moves in its own transaction under its row lock, and a stage
    already moved by someone else (or by an overlapping run) is skipped. A scheduled stage
    whose guards fail (previous stage not finalised yet, no contestants) stays scheduled and
    is listed under ``skipped``; so is one whose whole window passed unopened. Returns the
    stage ids per outcome. Audit events name the actor "system". "Due" is decided by the
    database clock (``campaigns.clock.db_now``), as each move's guard and stamp are, so a
    beat host with a skewed clock opens and closes stages on time.
    """
    now = db_now()
    report: dict[str, list[int]] = {"opened": [], "closed": [], "skipped": []}
    due_to_open = Stage.objects.filter(status=StageStatus.SCHEDULED, opens_at__lte=now).order_by(
        "campaign_id", "order"
    )
    for stage in due_to_open:
        try:
            transition_stage(stage, StageStatus.OPEN, actor=None, reason=_("Opened on schedule."))
        except CampaignError as exc:
            logger.warning("stage %s not opened on schedule: %s", stage.pk, exc.code)
            report["skipped"].append(stage.pk)
        else:
            report["opened"].append(stage.pk)
    due_to_close = Stage.objects.filter(status=StageStatus.OPEN, closes_at__lte=now).order_by(
        "campaign_id", "order"
    )
    for stage in due_to_close:
        try:
            transition_stage(stage, StageStatus.CLOSED, actor=None, reason=_("Closed on schedule."))
        except CampaignError as exc:
            logger.warning("stage %s not closed on schedule: %s", stage.pk, exc.code)
            report["skipped"].append(stage.pk)
        else:
            report["closed"].append(stage.pk)
    return report
