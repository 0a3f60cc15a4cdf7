"""Judge scores: submitting from a tablet (idempotent, locked once in) and reopening.

Scores are append-only. A judge's first score of a contestant is version 1; once an admin
reopens it (``ScoreReopening``, with a reason) the judge may submit version 2, which
``supersedes`` it, and so on. The unique ``(judge, contestant, version)`` key referees two
tablets of one judge racing, and the unique ``idempotency_key`` (made by the tablet)
makes a resend store nothing new: the second request gets the first one's score back.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from campaigns.choices import ContestantStatus, StageStatus
from campaigns.clock import db_now
from campaigns.models import Contestant
from evaluations import selectors
from evaluations.choices import AppearanceStep, AuditAction
from evaluations.exceptions import JudgingError, NotAllowedError, ScoreRefusedError
from evaluations.models import Appearance, Judge, Panel, Score, ScoreReopening
from evaluations.services.common import bump_live_version
from staff.audit import clean_reason
from staff.services import Actor, record_audit_event

MAX_COMMENT_LENGTH = 500


@dataclass(frozen=True)
class SubmitResult:
    score: Score
    created: bool  # False: the same idempotency key was seen before


def _existing(key: uuid.UUID, judge: Judge) -> SubmitResult | None:
    score = Score.objects.filter(idempotency_key=key).first()
    if score is None:
        return None
    if score.judge_id != judge.pk:
        raise ScoreRefusedError("bad_idempotency_key", _("This key belongs to another score."))
    return SubmitResult(score, created=False)


def _clean_points(panel: Panel, points: Mapping[str, Any]) -> tuple[dict[str, int], int]:
    criteria = selectors.criteria_for_panel(panel)
    if not criteria:
        raise ScoreRefusedError("no_rubric", _("This contest has no rubric yet."))
    wanted = {str(c.pk): c for c in criteria}
    if not isinstance(points, Mapping) or set(points) != set(wanted):
        raise ScoreRefusedError("bad_points", _("Give points for every criterion."))
    cleaned: dict[str, int] = {}
    for key, criterion in wanted.items():
        value = points[key]
        # bool is an int in Python: refuse it explicitly.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScoreRefusedError("bad_points", _("Points are whole numbers."))
        if not 0 <= value <= criterion.max_points:
            raise ScoreRefusedError(
                "bad_points",
                _("%(name)s takes 0 to %(max)d points.")
                % {"name": criterion.name, "max": criterion.max_points},
            )
        cleaned[key] = value
    return cleaned, sum(cleaned.values())


def _check_may_score(panel: Panel, judge: Judge, contestant_id: int) -> Contestant:
    if not panel.judges.filter(pk=judge.pk).exists():
        raise NotAllowedError(_("You are not a judge of this contest."))
    if not panel.stage.accepts_entries_at(db_now()):
        raise ScoreRefusedError("stage_closed", _("This contest is not taking scores."))
    contestant = (
        Contestant.objects.filter(
            pk=contestant_id, stage_id=panel.stage_id, status=ContestantStatus.IN
        )
        .select_related("staff_member__unit")
        .first()
    )
    if contestant is None:
        raise ScoreRefusedError("unknown_contestant", _("No such contestant in this contest."))
    judge = Judge.objects.select_related("unit").get(pk=judge.pk)
    if (judge.pk, contestant.pk) in selectors.recused_pairs(
        panel, judges=[judge], contestants=[contestant]
    ):
        raise ScoreRefusedError(
            "recused", _("You do not score this contestant (conflict of interest).")
        )
    return contestant


@transaction.atomic
def submit_score(
    panel: Panel,
    *,
    judge: Judge,
    contestant_id: int,
    points: Mapping[str, Any],
    comment: str = "",
    idempotency_key: uuid.UUID,
) -> SubmitResult:
    """Store a judge's submitted score of a contestant; once in, it is locked.

    A key seen before returns that score (``created=False``) whatever else is sent.
    Otherwise checks: the judge is on the panel (``forbidden``), the stage takes scores
    (``stage_closed``), the contestant is in it (``unknown_contestant``), no conflict
    (``recused``), scoring for the contestant is not closed unless the judge's score was
    reopened (``scoring_closed``), no locked score yet (``already_submitted``), points for
    every criterion within range (``bad_points``). Writes the score, supersedes a
    reopened version, writes ``evaluations.score.submitted`` and bumps the live version.
    """
    seen = _existing(idempotency_key, judge)
    if seen is not None:
        return seen
    panel = Panel.objects.select_related("stage").get(pk=panel.pk)
    contestant = _check_may_score(panel, judge, contestant_id)
    latest = (
        Score.objects.filter(judge=judge, contestant=contestant, superseded_by__isnull=True)
        .select_related("reopening")
        .first()
    )
    reopened = latest is not None and hasattr(latest, "reopening")
    if latest is not None and not reopened:
        # The same score sent by another tablet may have committed since the first look:
        # that is a resend (the stored score), not a second score.
        if latest.idempotency_key == idempotency_key:
            return SubmitResult(latest, created=False)
        raise ScoreRefusedError("already_submitted", _("You have already scored this contestant."))
    closed = Appearance.objects.filter(
        panel=panel,
        contestant=contestant,
        step__in=[AppearanceStep.CLOSED, AppearanceStep.REVEALED],
    ).exists()
    if closed and not reopened:
        raise ScoreRefusedError("scoring_closed", _("Scoring for this contestant is closed."))
    cleaned, total = _clean_points(panel, points)
    comment = (comment or "").strip()[:MAX_COMMENT_LENGTH]
    try:
        with transaction.atomic():
            score = Score.objects.create(
                panel=panel,
                judge=judge,
                contestant=contestant,
                version=latest.version + 1 if latest else 1,
                supersedes=latest,
                points=cleaned,
                total=total,
                comment=comment,
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        # Lost a race: the same key from another tablet (a resend), or a second score.
        seen = _existing(idempotency_key, judge)
        if seen is not None:
            return seen
        raise ScoreRefusedError(
            "already_submitted", _("You have already scored this contestant.")
        ) from None
    record_audit_event(
        score,
        actor=judge.user,
        action=AuditAction.SCORE_SUBMITTED,
        data={"contestant": contestant.pk, "version": score.version, "total": total},
        campaign_id=panel.stage.campaign_id,
    )
    bump_live_version(panel.pk)
    return SubmitResult(score, created=True)


@transaction.atomic
def reopen_score(score: Score, *, actor: Actor, reason: str) -> ScoreReopening:
    """Reopen a submitted score so the judge can send a corrected version.

    Only the latest version, not reopened yet (``not_reopenable``), of a stage whose
    results are not previewed or finalised (``results_frozen``). Requires a reason. Writes
    the reopening and ``evaluations.score.reopened``; the old score stays in the ledger.
    """
    reason = clean_reason(reason, required=True)
    score = Score.objects.select_related("panel__stage").get(pk=score.pk)
    stage = score.panel.stage
    if stage.status not in {StageStatus.OPEN, StageStatus.CLOSED}:
        raise JudgingError(
            "results_frozen", _("Scores can be reopened only while the stage is open or closed.")
        )
    if Score.objects.filter(supersedes=score).exists():
        raise JudgingError(
            "not_reopenable", _("Only the latest version of a score can be reopened.")
        )
    try:
        with transaction.atomic():
            reopening = ScoreReopening.objects.create(
                score=score,
                reason=reason,
                reopened_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError:
        raise JudgingError("not_reopenable", _("This score is already reopened.")) from None
    record_audit_event(
        score,
        actor=actor,
        action=AuditAction.SCORE_REOPENED,
        reason=reason,
        data={"judge": score.judge_id, "contestant": score.contestant_id, "version": score.version},
        campaign_id=stage.campaign_id,
    )
    bump_live_version(score.panel_id)
    return reopening
