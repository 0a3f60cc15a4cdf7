"""The live contest: judges, panels, rubrics, conflicts, judge scores and the host's state.

- A **judge** is a user with a ``Judge`` profile: a type (expert or public judge, the
  latter a member of the operator's friendly-customer club, often without a password) and
  an optional organisation unit. A judge never scores staff of their own unit's subtree.
- A **panel** belongs to one live-contest stage: its judges, the weight of each judge type
  inside the judge component, the trimming threshold and whether per-judge normalisation is
  used (see ``evaluations.scoring``). Its **rubric** is its criteria, each with maximum
  points; it freezes when the stage opens.
- A **score** is one judge's points for one contestant, append-only: a submitted score is
  locked; an admin may reopen it with a reason (a ``ScoreReopening`` row), and the judge's
  next submission is a new version that ``supersedes`` it. ``idempotency_key`` is made by
  the tablet, so a score sent twice is stored once.
- An **appearance** is the host's state of one contestant (on stage, closed, revealed).
  ``Panel.live_version`` grows with every change the tablets and the screen show, and is
  their ETag.
- A **sign-in link** lets a judge in without a password; the URL carries a signed link id,
  the row can be revoked, and it stops working when the stage stops taking scores.

Rows here are written only by ``evaluations.services``.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from evaluations.choices import AppearanceStep, JudgeType


class Judge(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="judge_profile",
    )
    display_name = models.CharField(_("name shown"), max_length=64)
    judge_type = models.CharField(_("judge type"), max_length=16, choices=JudgeType.choices)
    unit = models.ForeignKey(
        "staff.OrgUnit",
        verbose_name=_("organisation unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("A judge never scores staff of this unit or the units under it."),
    )

    class Meta:
        verbose_name = _("judge")
        verbose_name_plural = _("judges")
        ordering = ["judge_type", "display_name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(judge_type__in=JudgeType.values), name="judge_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.get_judge_type_display()})"


class Panel(models.Model):
    stage = models.OneToOneField(
        "campaigns.Stage", verbose_name=_("stage"), on_delete=models.CASCADE, related_name="panel"
    )
    judges = models.ManyToManyField(
        Judge, verbose_name=_("judges"), related_name="panels", blank=True
    )
    expert_weight = models.DecimalField(
        _("expert judges' weight"), max_digits=4, decimal_places=3, default=Decimal("0.600")
    )
    public_weight = models.DecimalField(
        _("public judges' weight"), max_digits=4, decimal_places=3, default=Decimal("0.400")
    )
    trim_threshold = models.PositiveSmallIntegerField(
        _("trim from"),
        default=5,
        help_text=_(
            "When a judge type has at least this many scores for a contestant, the highest "
            "and the lowest are dropped."
        ),
    )
    use_normalisation = models.BooleanField(
        _("normalise each judge"),
        default=False,
        help_text=_(
            "Standardise each judge's totals across the contestants they scored, then rescale "
            "them to the rubric, to cancel harsh or lenient judges."
        ),
    )
    on_stage = models.ForeignKey(
        "campaigns.Contestant",
        verbose_name=_("on stage"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    live_version = models.PositiveBigIntegerField(_("live version"), default=0, editable=False)

    class Meta:
        verbose_name = _("judge panel")
        verbose_name_plural = _("judge panels")
        ordering = ["stage"]
        permissions = [("host_panel", _("Can host the live contest"))]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expert_weight__gte=0, public_weight__gte=0)
                & models.Q(expert_weight=1 - models.F("public_weight")),
                name="panel_weights_add_up",
            ),
            models.CheckConstraint(
                condition=models.Q(trim_threshold__gte=3), name="panel_trim_threshold_min"
            ),
        ]

    def __str__(self) -> str:
        return str(self.stage) if self.stage_id else super().__str__()


class Criterion(models.Model):
    panel = models.ForeignKey(
        Panel, verbose_name=_("panel"), on_delete=models.CASCADE, related_name="criteria"
    )
    name = models.CharField(_("name"), max_length=64)
    max_points = models.PositiveSmallIntegerField(_("maximum points"))
    description = models.CharField(_("description for judges"), max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("criterion")
        verbose_name_plural = _("rubric")
        ordering = ["panel", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["panel", "name"], name="criterion_unique_name"),
            models.CheckConstraint(
                condition=models.Q(max_points__gte=1, max_points__lte=1000),
                name="criterion_max_points_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.max_points})"


class Conflict(models.Model):
    """A declared conflict of interest: the judge never scores this contestant."""

    judge = models.ForeignKey(
        Judge, verbose_name=_("judge"), on_delete=models.CASCADE, related_name="conflicts"
    )
    contestant = models.ForeignKey(
        "campaigns.Contestant",
        verbose_name=_("contestant"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=300)
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("declared by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    declared_at = models.DateTimeField(_("declared at"), db_default=Now())

    class Meta:
        verbose_name = _("conflict of interest")
        verbose_name_plural = _("conflicts of interest")
        ordering = ["judge", "contestant"]
        constraints = [
            models.UniqueConstraint(fields=["judge", "contestant"], name="conflict_unique_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.judge_id} x {self.contestant_id}"


class Score(models.Model):
    """One version of one judge's score of one contestant. Never updated or deleted."""

    panel = models.ForeignKey(
        Panel, verbose_name=_("panel"), on_delete=models.CASCADE, related_name="scores"
    )
    judge = models.ForeignKey(
        Judge, verbose_name=_("judge"), on_delete=models.PROTECT, related_name="scores"
    )
    contestant = models.ForeignKey(
        "campaigns.Contestant",
        verbose_name=_("contestant"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("supersedes"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    points = models.JSONField(_("points per criterion"))
    total = models.PositiveIntegerField(_("total"))
    comment = models.TextField(_("comment"), max_length=500, blank=True)
    idempotency_key = models.UUIDField(_("idempotency key"), unique=True)
    submitted_at = models.DateTimeField(_("submitted at"), db_default=Now())

    class Meta:
        verbose_name = _("judge score")
        verbose_name_plural = _("judge scores")
        ordering = ["panel", "contestant", "judge", "version"]
        constraints = [
            # The database referees two tablets racing: one version per (judge, contestant).
            models.UniqueConstraint(
                fields=["judge", "contestant", "version"], name="score_unique_version"
            ),
            models.CheckConstraint(
                condition=(models.Q(version=1) & models.Q(supersedes__isnull=True))
                | (models.Q(version__gt=1) & models.Q(supersedes__isnull=False)),
                name="score_version_chain",
            ),
        ]
        indexes = [models.Index(fields=["panel", "contestant"], name="score_panel_contestant")]

    def __str__(self) -> str:
        return f"{self.judge_id} → {self.contestant_id} v{self.version}: {self.total}"


class ScoreReopening(models.Model):
    """An admin's reopening of a submitted score: the judge may submit a new version."""

    score = models.OneToOneField(
        Score, verbose_name=_("score"), on_delete=models.PROTECT, related_name="reopening"
    )
    reason = models.TextField(_("reason"))
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reopened by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reopened_at = models.DateTimeField(_("reopened at"), db_default=Now())

    class Meta:
        verbose_name = _("score reopening")
        verbose_name_plural = _("score reopenings")
        ordering = ["-reopened_at"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(reason=""), name="reopening_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.score_id}: {self.reason[:40]}"


class Appearance(models.Model):
    panel = models.ForeignKey(
        Panel, verbose_name=_("panel"), on_delete=models.CASCADE, related_name="appearances"
    )
    contestant = models.ForeignKey(
        "campaigns.Contestant",
        verbose_name=_("contestant"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    step = models.CharField(_("step"), max_length=16, choices=AppearanceStep.choices)
    on_stage_at = models.DateTimeField(_("on stage at"), db_default=Now())
    closed_at = models.DateTimeField(_("scoring closed at"), null=True, blank=True)
    revealed_at = models.DateTimeField(_("revealed at"), null=True, blank=True)
    revealed_score = models.DecimalField(
        _("revealed judge score"), max_digits=7, decimal_places=4, null=True, blank=True
    )

    class Meta:
        verbose_name = _("appearance")
        verbose_name_plural = _("appearances")
        ordering = ["panel", "on_stage_at"]
        constraints = [
            models.UniqueConstraint(fields=["panel", "contestant"], name="appearance_unique"),
            models.CheckConstraint(
                condition=models.Q(step__in=AppearanceStep.values), name="appearance_step_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contestant_id} {self.step}"


class SignInLink(models.Model):
    judge = models.ForeignKey(
        Judge, verbose_name=_("judge"), on_delete=models.CASCADE, related_name="sign_in_links"
    )
    panel = models.ForeignKey(
        Panel, verbose_name=_("panel"), on_delete=models.CASCADE, related_name="sign_in_links"
    )
    created_at = models.DateTimeField(_("issued at"), db_default=Now())
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in link")
        verbose_name_plural = _("sign-in links")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.judge} · {self.panel}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
