"""Write functions of the campaigns app: the stage state machine, enrolment, rules,
results, ties, withdrawals and reserves.

Every function here is atomic and writes its audit event in the same transaction as its
change. Locks are always taken stage first, in ascending stage order, then contestant and
result rows, so two services never wait on each other in opposite orders. The stage's
status changes only in ``transition_stage``; the named wrappers (``open_stage`` …) are
conveniences for views, the admin and tasks.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from campaigns.choices import (
    ENROLMENT_STATUSES,
    RULES_EDITABLE_STATUSES,
    STAGE_TRANSITION_ACTIONS,
    STAGE_TRANSITIONS,
    AuditAction,
    CampaignStatus,
    ComponentKey,
    ContestantStatus,
    ResultOutcome,
    StageKind,
    StageStatus,
    Visibility,
)
from campaigns.exceptions import (
    CampaignError,
    InvalidRulesError,
    InvalidTransitionError,
    ResultsFrozenError,
    StageGuardError,
)
from campaigns.models import Campaign, Contestant, Stage, StageResult, TieResolution
from campaigns.results import ALL_POSITIONS, compute_stage_results
from staff.models import StaffMember
from staff.services import Actor, record_audit_event

logger = logging.getLogger(__name__)

# Fields an admin may change through ``update_stage_rules``; status and *_at never.
RULE_FIELDS = frozenset(
    {
        "name",
        "kind",
        "opens_at",
        "closes_at",
        "quota",
        "position_quotas",
        "weights",
        "votes_per_day",
        "votes_per_stage",
        "votes_per_candidate",
        "visibility",
        "hide_final_hours",
        "tie_break_order",
        "allow_tie_overflow",
        "reserve_count",
    }
)
ENROL_BATCH_SIZE = 1000
CAMPAIGN_TEMPLATE_DAYS = 240  # the real campaign ran about eight months


# Helpers ----------------------------------------------------------------------------------


def _lock_stage(stage: Stage | int) -> Stage:
    pk = stage.pk if isinstance(stage, Stage) else stage
    return Stage.objects.select_for_update().get(pk=pk)


def _previous_stage(stage: Stage) -> Stage | None:
    return (
        Stage.objects.filter(campaign_id=stage.campaign_id, order__lt=stage.order)
        .order_by("-order")
        .first()
    )


def _next_stage(stage: Stage, *, lock: bool = False) -> Stage | None:
    queryset = Stage.objects.filter(campaign_id=stage.campaign_id, order__gt=stage.order)
    if lock:
        queryset = queryset.select_for_update()
    return queryset.order_by("order").first()


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise CampaignError("reason_required", _("Please give a reason; it is recorded."))
    return reason


def _check_rules(stage: Stage) -> None:
    try:
        stage.clean()
    except ValidationError as exc:
        raise InvalidRulesError(" ".join(exc.messages)) from exc


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


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

    Writes an audit event (from, to, reason, and a summary of the work). Updates
    ``stage`` in place and returns it.

    Raises ``InvalidTransitionError`` (code ``invalid_transition``) for a move not in the
    table, ``StageGuardError`` for a failed guard, ``InvalidRulesError`` for bad rules and
    ``ResultsFrozenError`` when frozen results would be touched; nothing changes then.
    """
    locked = _lock_stage(stage)
    from_status = locked.status
    if to not in STAGE_TRANSITIONS.get(from_status, frozenset()):
        raise InvalidTransitionError(
            _("A stage cannot go from “%(from)s” to “%(to)s”.")
            % {"from": _label(from_status), "to": _label(to)}
        )
    now = timezone.now()
    data: dict[str, Any] = {"from": from_status, "to": to}
    update_fields = ["status"]

    if to == StageStatus.SCHEDULED:
        _guard_schedulable(locked, now)
    elif to == StageStatus.OPEN:
        _guard_openable(locked, now)
        locked.opened_at = now
        update_fields.append("opened_at")
        Campaign.objects.filter(pk=locked.campaign_id, status=CampaignStatus.DRAFT).update(
            status=CampaignStatus.RUNNING
        )
    elif to == StageStatus.CLOSED and from_status == StageStatus.OPEN:
        locked.closed_at = now
        update_fields.append("closed_at")
    elif to == StageStatus.CLOSED:
        data["discarded_results"] = _discard_preview(locked)
        locked.previewed_at = None
        update_fields.append("previewed_at")
    elif to == StageStatus.PREVIEWED:
        data["summary"] = _store_preview(locked, now)
        locked.previewed_at = now
        update_fields.append("previewed_at")
    elif to == StageStatus.FINALIZED:
        data["summary"] = _freeze_and_advance(locked, now)
        locked.finalized_at = now
        update_fields.append("finalized_at")

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


def _guard_schedulable(stage: Stage, now: datetime) -> None:
    if stage.opens_at is None or stage.closes_at is None:
        raise StageGuardError(
            "schedule_incomplete", _("Set both the opening and the closing time first.")
        )
    if stage.closes_at <= now:
        raise StageGuardError("closes_at_passed", _("The closing time has already passed."))
    _check_rules(stage)


def _guard_openable(stage: Stage, now: datetime) -> None:
    previous = _previous_stage(stage)
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
    _check_rules(stage)


def _discard_preview(stage: Stage) -> int:
    if stage.results.filter(is_frozen=True).exists():
        raise ResultsFrozenError(_("The results of this stage are frozen."))
    stage.tie_resolutions.all().delete()
    deleted, _by_model = stage.results.filter(is_frozen=False).delete()
    return deleted


def _store_preview(stage: Stage, now: datetime) -> dict[str, Any]:
    """Compute and store the stage's results as unfrozen rows; return a summary for audit."""
    if stage.results.filter(is_frozen=True).exists():
        raise ResultsFrozenError(_("The results of this stage are frozen."))
    try:
        computed = compute_stage_results(stage)
    except ValidationError as exc:
        raise InvalidRulesError(" ".join(exc.messages)) from exc
    _discard_preview(stage)
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
                total=line.total,
                rank=ranked.rank,
                position_rank=ranked.position_rank,
                outcome=ranked.outcome,
                computed_at=now,
            )
        )
    StageResult.objects.bulk_create(rows, batch_size=ENROL_BATCH_SIZE)
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


def _freeze_and_advance(stage: Stage, now: datetime) -> dict[str, Any]:
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

    next_stage = _next_stage(stage, lock=True)
    enrolled = 0
    if next_stage is None:
        Campaign.objects.filter(pk=stage.campaign_id).update(status=CampaignStatus.FINISHED)
    else:
        if next_stage.status not in ENROLMENT_STATUSES:
            raise StageGuardError("next_stage_started", _("The next stage has already started."))
        staff_ids = stage.contestants.filter(status=ContestantStatus.ADVANCED).values_list(
            "staff_member_id", flat=True
        )
        enrolled = _enrol(next_stage, staff_ids)
    return {
        "advanced": advanced,
        "eliminated": eliminated,
        "next_stage_id": next_stage.pk if next_stage else None,
        "enrolled_in_next_stage": enrolled,
    }


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


def open_and_close_due_stages(now: datetime | None = None) -> dict[str, list[int]]:
    """Open scheduled stages whose time has come and close open ones whose time is up.

    Idempotent: each stage moves in its own transaction under its row lock, and a stage
    already moved by someone else (or by an overlapping run) is skipped. A scheduled stage
    whose guards fail (previous stage not finalised yet, no contestants) stays scheduled and
    is listed under ``skipped``; so is one whose whole window passed unopened. Returns the
    stage ids per outcome. Audit events name the actor "system".
    """
    now = now or timezone.now()
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


# Rules -----------------------------------------------------------------------------------


@transaction.atomic
def update_stage_rules(
    stage: Stage, *, changes: Mapping[str, Any], actor: Actor, reason: str = ""
) -> Stage:
    """Change rule fields of a stage (``RULE_FIELDS``), validated together.

    Free while draft or scheduled. Once open (or closed) only with a reason, which is
    recorded. Refused while previewed (discard the preview first, code ``stage_previewed``)
    and always once finalised (``results_frozen``). Locks the stage row. Writes
    ``campaigns.stage.rules_changed`` with before/after of the fields that really changed;
    changes equal to the current values are a no-op without an event.

    Raises ``InvalidRulesError`` for unknown fields or inconsistent rules, ``StageGuardError``
    (``rules_locked``) for a change to a started stage without a reason.
    """
    locked = _lock_stage(stage)
    unknown = sorted(set(changes) - RULE_FIELDS)
    if unknown:
        raise InvalidRulesError(
            _("These fields are not stage rules: %(fields)s.") % {"fields": ", ".join(unknown)}
        )
    if locked.status == StageStatus.FINALIZED:
        raise ResultsFrozenError(_("A finalised stage's rules cannot change."))
    if locked.status == StageStatus.PREVIEWED:
        raise StageGuardError(
            "stage_previewed", _("Discard the preview before changing the rules.")
        )
    reason = (reason or "").strip()
    if locked.status not in RULES_EDITABLE_STATUSES and not reason:
        raise StageGuardError(
            "rules_locked",
            _("The stage has started: its rules change only with a reason, which is recorded."),
        )

    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if isinstance(value, datetime) and timezone.is_naive(value):
            raise InvalidRulesError(_("Times must include a time zone."))
        try:
            cleaned[name] = Stage._meta.get_field(name).clean(value, locked)
        except ValidationError as exc:
            raise InvalidRulesError(f"{name}: {' '.join(exc.messages)}") from exc
    changed = {name: v for name, v in cleaned.items() if getattr(locked, name) != v}
    if not changed:
        return locked
    before = {name: _json_value(getattr(locked, name)) for name in changed}
    for name, value in changed.items():
        setattr(locked, name, value)
    _check_rules(locked)
    locked.save(update_fields=sorted(changed))
    record_audit_event(
        locked,
        actor=actor,
        action=AuditAction.RULES_CHANGED,
        reason=reason,
        data={
            "status": locked.status,
            "before": before,
            "after": {name: _json_value(v) for name, v in changed.items()},
        },
        campaign_id=locked.campaign_id,
    )
    for name in changed:
        setattr(stage, name, getattr(locked, name))
    return locked


# Contestants -----------------------------------------------------------------------------


def _enrol(stage: Stage, staff_ids: Iterable[int]) -> int:
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
    locked = _lock_stage(stage)
    if locked.status not in ENROLMENT_STATUSES:
        raise StageGuardError(
            "enrolment_closed", _("Contestants can be added only before a stage opens.")
        )
    candidates = StaffMember.objects.active()
    if staff_qs is not None:
        candidates = candidates.filter(pk__in=staff_qs.values("pk"))
    elif staff_ids is not None:
        candidates = candidates.filter(pk__in=list(staff_ids))
    added = _enrol(locked, list(candidates.order_by("pk").values_list("pk", flat=True)))
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
        neighbour, status = _next_stage(stage, lock=True), ContestantStatus.IN
    else:
        neighbour, status = _previous_stage(stage), ContestantStatus.ADVANCED
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
    contestant rows. Writes ``campaigns.contestant.withdrawn``. Raises ``CampaignError``
    (``reason_required``) or ``StageGuardError`` (``withdrawal_not_allowed``).
    """
    reason = _require_reason(reason)
    stage = _lock_stage(contestant.stage_id)
    contestant = Contestant.objects.select_for_update().get(pk=contestant.pk)
    allowed = (
        contestant.status == ContestantStatus.IN
        and stage.status not in (StageStatus.PREVIEWED, StageStatus.FINALIZED)
    ) or (contestant.status == ContestantStatus.ADVANCED and stage.is_finalized)
    next_stage = _next_stage(stage, lock=True)
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


def _list_code(stage: Stage, position_code: str) -> str:
    return position_code if stage.position_quotas else ALL_POSITIONS


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
    ``not_next_reserve``; ``CampaignError`` ``reason_required``.
    """
    reason = _require_reason(reason)
    locked = _lock_stage(stage)
    if not locked.is_finalized:
        raise StageGuardError(
            "stage_not_finalized", _("Reserves are promoted only after a stage is finalised.")
        )
    next_stage = _next_stage(locked, lock=True)
    if next_stage is not None and next_stage.status not in ENROLMENT_STATUSES:
        raise StageGuardError("next_stage_started", _("The next stage has already started."))

    rows = list(locked.results.select_related("contestant").order_by("position_rank", "pk"))
    qualified: dict[str, int] = defaultdict(int)
    advanced: dict[str, int] = defaultdict(int)
    for row in rows:
        code = _list_code(locked, row.position_code)
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
        and _list_code(locked, row.position_code) in vacant
    ]
    if not candidates:
        raise StageGuardError("no_reserve", _("There is no reserve left to promote."))
    if contestant_id is None:
        first_list = _list_code(locked, candidates[0].position_code)
        in_list = [r for r in candidates if _list_code(locked, r.position_code) == first_list]
        best = [r for r in in_list if r.position_rank == in_list[0].position_rank]
        if len(best) > 1:
            raise StageGuardError(
                "reserve_tie",
                _("The next reserves are tied; choose which one to promote."),
            )
        chosen = best[0]
    else:
        matches = [r for r in candidates if r.contestant_id == contestant_id]
        if not matches:
            raise StageGuardError("not_next_reserve", _("This contestant is not a reserve."))
        chosen = matches[0]
        code = _list_code(locked, chosen.position_code)
        best_rank = min(
            r.position_rank for r in candidates if _list_code(locked, r.position_code) == code
        )
        if chosen.position_rank != best_rank:
            raise StageGuardError(
                "not_next_reserve", _("Only the next-ranked reserve can be promoted.")
            )

    contestant = Contestant.objects.select_for_update().get(pk=chosen.contestant_id)
    contestant.status = ContestantStatus.ADVANCED
    contestant.save(update_fields=["status"])
    if next_stage is not None:
        _enrol(next_stage, [contestant.staff_member_id])
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


# Ties ------------------------------------------------------------------------------------


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
    (``stage_not_previewed``, ``no_tie``, ``bad_tie_choice``) or ``CampaignError``
    (``reason_required``).
    """
    reason = _require_reason(reason)
    locked = _lock_stage(stage)
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
    chosen = sorted(set(chosen_contestant_ids))
    if admit_all:
        if chosen:
            raise StageGuardError(
                "bad_tie_choice", _("Either admit everyone tied or choose, not both.")
            )
        chosen = tied
    elif len(chosen) != places or not set(chosen) <= set(tied):
        raise StageGuardError(
            "bad_tie_choice",
            _("Choose exactly %(places)s of the tied contestants.") % {"places": places},
        )
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
        decided_at=timezone.now(),
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


# Campaigns -------------------------------------------------------------------------------


def _template_stages() -> list[dict[str, Any]]:
    """The three stages of the Satisfied-100 Service Star campaign (DESIGN.md §1)."""
    return [
        {
            "order": 1,
            "name": _("Stage 1: customer evaluations (all staff → top 70)"),
            "kind": StageKind.EVALUATION,
            "quota": 70,
            "weights": {ComponentKey.SATISFACTION: "0.6", ComponentKey.SMS_VOTES: "0.4"},
            "tie_break_order": [ComponentKey.SATISFACTION, ComponentKey.SMS_VOTES],
            "votes_per_day": 1,
            "votes_per_stage": 0,
            "votes_per_candidate": 1,
            "visibility": Visibility.RANKS_ONLY,
        },
        {
            "order": 2,
            "name": _("Stage 2: live skills contest (70 → 23)"),
            "kind": StageKind.LIVE_CONTEST,
            "quota": 23,
            "weights": {ComponentKey.JUDGE_SCORE: "0.7", ComponentKey.AUDIENCE_VOTES: "0.3"},
            "tie_break_order": [ComponentKey.JUDGE_SCORE, ComponentKey.AUDIENCE_VOTES],
            "votes_per_day": 0,
            "votes_per_stage": 3,
            "votes_per_candidate": 1,
            "visibility": Visibility.RANKS_ONLY,
        },
        {
            "order": 3,
            "name": _("Stage 3: customer vote, web and SMS (23 → 10)"),
            "kind": StageKind.CUSTOMER_VOTE,
            "quota": 10,
            "weights": {ComponentKey.WEB_VOTES: "0.5", ComponentKey.SMS_VOTES: "0.5"},
            "tie_break_order": [ComponentKey.SMS_VOTES, ComponentKey.WEB_VOTES],
            "votes_per_day": 1,
            "votes_per_stage": 0,
            "votes_per_candidate": 0,
            "visibility": Visibility.HIDDEN_FINAL_HOURS,
            "hide_final_hours": 24,
        },
    ]


@transaction.atomic
def create_campaign_from_template(
    *, name: str, actor: Actor, starts_on: date, description: str = ""
) -> Campaign:
    """Create the three-stage Satisfied-100 campaign (70 → 23 → 10) as drafts.

    Stage names are written in the site's default language (Chinese first) whatever the
    admin's own language, since they are shown to the public. Times are left empty for
    the admin to set; every rule stays editable until a stage opens. Writes
    ``campaigns.campaign.created``. Returns the campaign.
    """
    with translation.override(settings.LANGUAGE_CODE):
        stage_specs = _template_stages()
        description = description or _(
            "All frontline staff compete; customers, judges and the audience choose the ten "
            "Service Stars."
        )
    campaign = Campaign.objects.create(
        name=name,
        description=description,
        starts_on=starts_on,
        ends_on=starts_on + timedelta(days=CAMPAIGN_TEMPLATE_DAYS),
    )
    for spec in stage_specs:
        stage = Stage(campaign=campaign, **spec)
        _check_rules(stage)
        stage.save()
    record_audit_event(
        campaign,
        actor=actor,
        action=AuditAction.CAMPAIGN_CREATED,
        data={"template": "satisfied_100", "quotas": [s["quota"] for s in stage_specs]},
        campaign_id=campaign.pk,
    )
    return campaign
