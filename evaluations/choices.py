"""Choices of the live contest (judging). A leaf module: it imports nothing from the app.

A contestant's appearance at the live contest moves one way::

    waiting ──► on stage ──► closed ──► revealed

- *on stage*: the host put the contestant on stage; tablets and the venue screen follow.
- *closed*: the host closed scoring; new scores for the contestant are refused (a judge
  whose score an admin reopened may still send the new version).
- *revealed*: the judge score is shown on the venue screen and joins the rank table.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class JudgeType(models.TextChoices):
    EXPERT = "expert", _("Expert judge")
    PUBLIC = "public", _("Public judge")


class ScoreCell(models.TextChoices):
    """A cell of the progress grid (judge x contestant)."""

    SCORED = "scored", _("Scored")
    WAITING = "waiting", _("Waiting")
    RECUSED = "recused", _("Recused")
    REOPENED = "reopened", _("Reopened")


class AppearanceStep(models.TextChoices):
    ON_STAGE = "on_stage", _("On stage")
    CLOSED = "closed", _("Scoring closed")
    REVEALED = "revealed", _("Score revealed")


APPEARANCE_ORDER: dict[str, int] = {
    AppearanceStep.ON_STAGE: 1,
    AppearanceStep.CLOSED: 2,
    AppearanceStep.REVEALED: 3,
}


class AuditAction(models.TextChoices):
    """Audit actions owned by the evaluations app (``<app>.<noun>.<past_verb>``)."""

    PANEL_CHANGED = "evaluations.panel.changed", _("Judge panel changed")
    RUBRIC_CHANGED = "evaluations.rubric.changed", _("Rubric changed")
    CONFLICT_DECLARED = "evaluations.conflict.declared", _("Conflict of interest declared")
    CONFLICT_REMOVED = "evaluations.conflict.removed", _("Conflict of interest removed")
    SCORE_SUBMITTED = "evaluations.score.submitted", _("Judge score submitted")
    SCORE_REOPENED = "evaluations.score.reopened", _("Judge score reopened")
    LINK_ISSUED = "evaluations.link.issued", _("Judge sign-in link issued")
    LINK_REVOKED = "evaluations.link.revoked", _("Judge sign-in link revoked")
    LINK_USED = "evaluations.link.used", _("Judge signed in with a link")
    CONTESTANT_ON_STAGE = "evaluations.contestant.on_stage", _("Contestant put on stage")
    SCORING_CLOSED = "evaluations.scoring.closed", _("Scoring closed for a contestant")
    SCORE_REVEALED = "evaluations.score.revealed", _("Judge score revealed")
