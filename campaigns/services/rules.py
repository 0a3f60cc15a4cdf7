"""Changing a stage's rules: quotas, weights, vote limits, visibility, tie-breaks.

Free while a stage is a draft or scheduled; with a recorded reason once it has opened;
never while previewed (discard the preview first) or once finalised.
"""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.choices import RULES_EDITABLE_STATUSES, AuditAction, StageStatus
from campaigns.exceptions import InvalidRulesError, ResultsFrozenError, StageGuardError
from campaigns.models import Stage
from campaigns.services.locks import lock_stage
from staff.audit import clean_reason
from staff.services import Actor, record_audit_event

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
        "served_vote_weight",
        "served_votes_only",
        "visibility",
        "hide_final_hours",
        "tie_break_order",
        "allow_tie_overflow",
        "reserve_count",
    }
)


def check_rules(stage: Stage) -> None:
    """Run ``Stage.clean``; raises ``InvalidRulesError`` with its messages."""
    try:
        stage.clean()
    except ValidationError as exc:
        raise InvalidRulesError(" ".join(exc.messages)) from exc


def json_value(value: Any) -> Any:
    """A rule value as the audit event's JSON stores it."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _clean_changes(stage: Stage, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Each changed value cleaned by its model field; aware datetimes only."""
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if isinstance(value, datetime) and timezone.is_naive(value):
            raise InvalidRulesError(_("Times must include a time zone."))
        try:
            cleaned[name] = Stage._meta.get_field(name).clean(value, stage)
        except ValidationError as exc:
            raise InvalidRulesError(f"{name}: {' '.join(exc.messages)}") from exc
    return cleaned


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
    (``rules_locked``) for a change to a started stage without a reason, ``ReasonError``
    for a reason over the limit.
    """
    locked = lock_stage(stage)
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
    reason = clean_reason(reason, required=False)
    if locked.status not in RULES_EDITABLE_STATUSES and not reason:
        raise StageGuardError(
            "rules_locked",
            _("The stage has started: its rules change only with a reason, which is recorded."),
        )

    cleaned = _clean_changes(locked, changes)
    changed = {name: v for name, v in cleaned.items() if getattr(locked, name) != v}
    if not changed:
        return locked
    before = {name: json_value(getattr(locked, name)) for name in changed}
    for name, value in changed.items():
        setattr(locked, name, value)
    check_rules(locked)
    locked.save(update_fields=sorted(changed))
    record_audit_event(
        locked,
        actor=actor,
        action=AuditAction.RULES_CHANGED,
        reason=reason,
        data={
            "status": locked.status,
            "before": before,
            "after": {name: json_value(v) for name, v in changed.items()},
        },
        campaign_id=locked.campaign_id,
    )
    for name in changed:
        setattr(stage, name, getattr(locked, name))
    return locked
