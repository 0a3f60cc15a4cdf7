"""Setting up a live contest: judges, the panel of a stage, its rubric and conflicts.

Judging rules (weights, trimming, normalisation, rubric) follow the stage's own rule-change
path (``common.check_rules_change``): free before the stage opens, with a recorded reason
after, frozen once its results are previewed. The rubric also freezes for good as soon as
one score exists, since points given on old criteria cannot be carried over.
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.utils.translation import gettext as _

from campaigns.choices import StageKind
from campaigns.models import Contestant, Stage
from evaluations.choices import AuditAction, JudgeType
from evaluations.exceptions import JudgingError
from evaluations.models import Conflict, Criterion, Judge, Panel, Score
from evaluations.services.common import bump_live_version, check_rules_change
from staff.audit import clean_reason
from staff.models import OrgUnit
from staff.services import Actor, record_audit_event

JUDGES_GROUP = "Judges"
PANEL_FIELDS = ("expert_weight", "public_weight", "trim_threshold", "use_normalisation")


@transaction.atomic
def register_judge(
    user: AbstractBaseUser,
    *,
    judge_type: str,
    display_name: str,
    unit: OrgUnit | None = None,
    actor: Actor,
) -> Judge:
    """Make ``user`` a judge (or update their judge profile) and put them in the Judges
    group. Returns the profile; raises ``JudgingError`` (``bad_judge_type``)."""
    if judge_type not in JudgeType.values:
        raise JudgingError("bad_judge_type", _("Unknown judge type."))
    judge, _created = Judge.objects.update_or_create(
        user=user,
        defaults={"judge_type": judge_type, "display_name": display_name, "unit": unit},
    )
    group, _created = Group.objects.get_or_create(name=JUDGES_GROUP)
    user.groups.add(group)
    return judge


@transaction.atomic
def create_public_judge(*, username: str, display_name: str, actor: Actor) -> Judge:
    """A public judge (a customer-club member) as a user without a password: they sign
    in with their link. Returns the judge."""
    user = get_user_model().objects.create_user(username=username, password=None)
    return register_judge(user, judge_type=JudgeType.PUBLIC, display_name=display_name, actor=actor)


def _clean_panel_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(PANEL_FIELDS))
    if unknown:
        raise JudgingError(
            "bad_panel", _("Unknown panel fields: %(f)s.") % {"f": ", ".join(unknown)}
        )
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if name.endswith("_weight"):
            try:
                weight = Decimal(str(value)).quantize(Decimal("0.001"))
            except InvalidOperation as exc:
                raise JudgingError("bad_weights", _("Weights are decimals from 0 to 1.")) from exc
            if not Decimal(0) <= weight <= Decimal(1):
                raise JudgingError("bad_weights", _("Weights are decimals from 0 to 1."))
            cleaned[name] = weight
        elif name == "trim_threshold":
            if not isinstance(value, int) or not 3 <= value <= 100:
                raise JudgingError(
                    "bad_threshold", _("Trimming starts at 3 scores or more (at most 100).")
                )
            cleaned[name] = value
        else:
            cleaned[name] = bool(value)
    return cleaned


@transaction.atomic
def create_panel(stage: Stage, *, actor: Actor, **changes: Any) -> Panel:
    """Create the judge panel of a live-contest stage (weights default to 60/40).

    Writes ``evaluations.panel.changed``. Raises ``JudgingError`` (``not_live_contest``,
    ``panel_exists``, or a bad setting)."""
    stage = Stage.objects.select_for_update().get(pk=stage.pk)
    if stage.kind != StageKind.LIVE_CONTEST:
        raise JudgingError("not_live_contest", _("Only a live-contest stage has a judge panel."))
    if Panel.objects.filter(stage=stage).exists():
        raise JudgingError("panel_exists", _("This stage already has a judge panel."))
    panel = Panel(stage=stage, **_clean_panel_changes(changes))
    _check_weights(panel)
    panel.save()
    record_audit_event(
        panel,
        actor=actor,
        action=AuditAction.PANEL_CHANGED,
        data={"created": True, **{f: str(getattr(panel, f)) for f in PANEL_FIELDS}},
        campaign_id=stage.campaign_id,
    )
    return panel


def _check_weights(panel: Panel) -> None:
    if panel.expert_weight + panel.public_weight != Decimal(1):
        raise JudgingError("bad_weights", _("The judge types' weights must add up to 1."))


@transaction.atomic
def update_panel(
    panel: Panel, *, changes: Mapping[str, Any], actor: Actor, reason: str = ""
) -> Panel:
    """Change the panel's weights, trimming threshold or normalisation.

    Locks the panel row; the stage's rule-change path applies (reason after opening,
    ``rubric_frozen`` once previewed). Writes ``evaluations.panel.changed`` with before and
    after of the fields that changed; no change, no event."""
    locked = Panel.objects.select_for_update().select_related("stage").get(pk=panel.pk)
    cleaned = _clean_panel_changes(changes)
    changed = {k: v for k, v in cleaned.items() if getattr(locked, k) != v}
    if not changed:
        return locked
    reason = check_rules_change(locked.stage, reason)
    before = {k: str(getattr(locked, k)) for k in changed}
    for name, value in changed.items():
        setattr(locked, name, value)
    _check_weights(locked)
    locked.save(update_fields=sorted(changed))
    record_audit_event(
        locked,
        actor=actor,
        action=AuditAction.PANEL_CHANGED,
        reason=reason,
        data={"before": before, "after": {k: str(v) for k, v in changed.items()}},
        campaign_id=locked.stage.campaign_id,
    )
    bump_live_version(locked.pk)
    return locked


@transaction.atomic
def set_panel_judges(panel: Panel, *, judges: Iterable[Judge], actor: Actor) -> Panel:
    """Make ``judges`` the panel's judges. A judge who already scored stays (their scores
    are part of the ledger); refused with ``judge_has_scores`` otherwise. Audited."""
    locked = Panel.objects.select_for_update().select_related("stage").get(pk=panel.pk)
    wanted = {j.pk for j in judges}
    current = set(locked.judges.values_list("pk", flat=True))
    if wanted == current:
        return locked
    removed = current - wanted
    if removed and Score.objects.filter(panel=locked, judge_id__in=removed).exists():
        raise JudgingError(
            "judge_has_scores", _("A judge who has already scored cannot leave the panel.")
        )
    locked.judges.set(wanted)
    record_audit_event(
        locked,
        actor=actor,
        action=AuditAction.PANEL_CHANGED,
        data={"judges_added": sorted(wanted - current), "judges_removed": sorted(removed)},
        campaign_id=locked.stage.campaign_id,
    )
    bump_live_version(locked.pk)
    return locked


def _lock_rubric(panel: Panel, reason: str) -> tuple[Panel, str]:
    locked = Panel.objects.select_for_update().select_related("stage").get(pk=panel.pk)
    reason = check_rules_change(locked.stage, reason)
    if Score.objects.filter(panel=locked).exists():
        raise JudgingError(
            "rubric_in_use", _("Scores have been given on this rubric: it can no longer change.")
        )
    return locked, reason


@transaction.atomic
def save_criterion(
    panel: Panel,
    *,
    name: str,
    max_points: int,
    description: str = "",
    order: int = 0,
    criterion: Criterion | None = None,
    actor: Actor,
    reason: str = "",
) -> Criterion:
    """Add a criterion to the panel's rubric, or change ``criterion``.

    Locks the panel; the rule-change path applies and no score may exist yet
    (``rubric_in_use``). Writes ``evaluations.rubric.changed``."""
    locked, reason = _lock_rubric(panel, reason)
    name = (name or "").strip()
    if not name or not isinstance(max_points, int) or not 1 <= max_points <= 1000:
        raise JudgingError(
            "bad_criterion", _("A criterion needs a name and 1 to 1000 maximum points.")
        )
    if (
        Criterion.objects.filter(panel=locked, name=name)
        .exclude(pk=criterion.pk if criterion else None)
        .exists()
    ):
        raise JudgingError("bad_criterion", _("The rubric already has a criterion of that name."))
    before = None
    if criterion is None:
        criterion = Criterion(panel=locked)
    else:
        before = {"name": criterion.name, "max_points": criterion.max_points}
    criterion.name, criterion.max_points = name, max_points
    criterion.description, criterion.order = description, order
    criterion.save()
    record_audit_event(
        locked,
        actor=actor,
        action=AuditAction.RUBRIC_CHANGED,
        reason=reason,
        data={"before": before, "after": {"name": name, "max_points": max_points}},
        campaign_id=locked.stage.campaign_id,
    )
    bump_live_version(locked.pk)
    return criterion


@transaction.atomic
def remove_criterion(criterion: Criterion, *, actor: Actor, reason: str = "") -> None:
    """Remove a criterion from the rubric (same rules as ``save_criterion``). Audited."""
    locked, reason = _lock_rubric(criterion.panel, reason)
    record_audit_event(
        locked,
        actor=actor,
        action=AuditAction.RUBRIC_CHANGED,
        reason=reason,
        data={
            "before": {"name": criterion.name, "max_points": criterion.max_points},
            "after": None,
        },
        campaign_id=locked.stage.campaign_id,
    )
    criterion.delete()
    bump_live_version(locked.pk)


@transaction.atomic
def declare_conflict(
    judge: Judge, *, contestant: Contestant, actor: Actor, reason: str
) -> Conflict:
    """Record that ``judge`` must not score ``contestant``. Refused (``already_scored``)
    when the judge already scored them: an admin reopens that score first. Idempotent on
    the pair. Writes ``evaluations.conflict.declared``."""
    reason = clean_reason(reason, required=True)[:300]
    if Score.objects.filter(judge=judge, contestant=contestant, reopening__isnull=True).exists():
        raise JudgingError(
            "already_scored",
            _("This judge has already scored the contestant; reopen the score first."),
        )
    conflict, created = Conflict.objects.get_or_create(
        judge=judge,
        contestant=contestant,
        defaults={"reason": reason, "declared_by": _user(actor)},
    )
    if created:
        record_audit_event(
            conflict,
            actor=actor,
            action=AuditAction.CONFLICT_DECLARED,
            reason=reason,
            data={"judge": judge.pk, "contestant": contestant.pk},
            campaign_id=contestant.stage.campaign_id,
        )
        for panel_id in judge.panels.filter(stage_id=contestant.stage_id).values_list(
            "pk", flat=True
        ):
            bump_live_version(panel_id)
    return conflict


@transaction.atomic
def remove_conflict(conflict: Conflict, *, actor: Actor, reason: str) -> None:
    """Delete a declared conflict, with a reason. Writes ``evaluations.conflict.removed``."""
    reason = clean_reason(reason, required=True)
    contestant = conflict.contestant
    record_audit_event(
        conflict,
        actor=actor,
        action=AuditAction.CONFLICT_REMOVED,
        reason=reason,
        data={"judge": conflict.judge_id, "contestant": conflict.contestant_id},
        campaign_id=contestant.stage.campaign_id,
    )
    conflict.delete()


def _user(actor: Actor) -> AbstractBaseUser | None:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None
