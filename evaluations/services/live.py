"""The host's control of the live contest: who is on stage, closing scoring, revealing.

Every change bumps ``Panel.live_version``, which tablets, the host page and the venue
screen poll as their ETag, so they follow within one poll interval.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from campaigns.choices import ContestantStatus
from campaigns.clock import db_now
from campaigns.models import Contestant
from evaluations import selectors
from evaluations.choices import AppearanceStep, AuditAction
from evaluations.exceptions import JudgingError
from evaluations.models import Appearance, Panel
from evaluations.services.common import bump_live_version
from staff.services import Actor, record_audit_event


def _lock(panel: Panel, contestant_id: int) -> tuple[Panel, Contestant]:
    locked = Panel.objects.select_for_update().select_related("stage").get(pk=panel.pk)
    contestant = Contestant.objects.filter(
        pk=contestant_id, stage_id=locked.stage_id, status=ContestantStatus.IN
    ).first()
    if contestant is None:
        raise JudgingError("unknown_contestant", _("No such contestant in this contest."))
    return locked, contestant


def _audit(panel: Panel, contestant: Contestant, action: str, actor: Actor, **data: object) -> None:
    record_audit_event(
        panel,
        actor=actor,
        action=action,
        data={"contestant": contestant.pk, **data},
        campaign_id=panel.stage.campaign_id,
    )


@transaction.atomic
def put_on_stage(panel: Panel, *, contestant_id: int, actor: Actor) -> Appearance:
    """Put a contestant on stage: tablets and the screen switch to them. Locks the panel.

    Creates the contestant's appearance (an appearance already closed or revealed keeps
    its step). Writes ``evaluations.contestant.on_stage``; raises ``unknown_contestant``."""
    locked, contestant = _lock(panel, contestant_id)
    appearance, _created = Appearance.objects.get_or_create(
        panel=locked, contestant=contestant, defaults={"step": AppearanceStep.ON_STAGE}
    )
    locked.on_stage = contestant
    locked.save(update_fields=["on_stage"])
    _audit(locked, contestant, AuditAction.CONTESTANT_ON_STAGE, actor)
    bump_live_version(locked.pk)
    return appearance


@transaction.atomic
def close_scoring(panel: Panel, *, contestant_id: int, actor: Actor) -> Appearance:
    """Close scoring for a contestant: further first scores are refused (a reopened
    judge may still resubmit). Idempotent. Writes ``evaluations.scoring.closed``."""
    locked, contestant = _lock(panel, contestant_id)
    now = db_now()
    appearance, _created = Appearance.objects.get_or_create(
        panel=locked, contestant=contestant, defaults={"step": AppearanceStep.CLOSED}
    )
    if appearance.closed_at is None:
        appearance.closed_at = now
        if appearance.step == AppearanceStep.ON_STAGE:
            appearance.step = AppearanceStep.CLOSED
        appearance.save(update_fields=["closed_at", "step"])
        _audit(locked, contestant, AuditAction.SCORING_CLOSED, actor)
        bump_live_version(locked.pk)
    return appearance


@transaction.atomic
def reveal_score(panel: Panel, *, contestant_id: int, actor: Actor) -> Appearance:
    """Show the contestant's judge score on the screen (closing scoring if still open).

    Stores the score revealed at this moment (the panel's method, 0-100); revealing again
    after a reopened score was corrected shows the new value. Writes
    ``evaluations.score.revealed``."""
    locked, contestant = _lock(panel, contestant_id)
    now = db_now()
    result = selectors.contestant_scores(locked).get(contestant.pk)
    appearance, _created = Appearance.objects.get_or_create(
        panel=locked, contestant=contestant, defaults={"step": AppearanceStep.REVEALED}
    )
    appearance.step = AppearanceStep.REVEALED
    appearance.closed_at = appearance.closed_at or now
    appearance.revealed_at = now
    appearance.revealed_score = result.score if result else None
    appearance.save(update_fields=["step", "closed_at", "revealed_at", "revealed_score"])
    _audit(
        locked,
        contestant,
        AuditAction.SCORE_REVEALED,
        actor,
        score=str(appearance.revealed_score) if result else None,
        n_scores=result.n_scores if result else 0,
    )
    bump_live_version(locked.pk)
    return appearance
