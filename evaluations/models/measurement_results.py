"""Service measurement data, part two: store visits (inspections) and the monthly figures
derived from all the facts (rollups, the store service archive), plus how an
evaluation-based stage reads them. Part one (``measurement``) holds the ledgers.

A corrected inspection is a new version, never an update. ``StaffMonth``, ``UnitMonth``
and ``StoreMonthScore`` are derived: ``evaluations.measurement.rollups`` and ``.grades``
recompute them from the facts at any time.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from evaluations.measurement.choices import (
    ChecklistItemKind,
    InspectionKind,
    StoreGrade,
    UnitLevel,
)

_SCORE = {"max_digits": 7, "decimal_places": 2}
_USER = settings.AUTH_USER_MODEL


class ChecklistItem(models.Model):
    """One line of the store inspection form."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    label = models.CharField(_("label"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=ChecklistItemKind.choices)
    points = models.DecimalField(_("points"), max_digits=5, decimal_places=1)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ChecklistItemKind.values),
                name="checklistitem_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(points__gte=0), name="checklistitem_points_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.label


class Inspection(models.Model):
    """One version of a store visit's record. A correction is a new version of the same
    ``series``; only the latest (``is_current``) counts."""

    series = models.UUIDField(_("visit"), editable=False)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    is_current = models.BooleanField(_("current version"), default=True)
    store = models.ForeignKey(
        "staff.OrgUnit", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=InspectionKind.choices)
    visited_at = models.DateTimeField(_("visited at"))
    inspector = models.ForeignKey(
        _USER, verbose_name=_("inspector"), on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(_("note"), max_length=2000, blank=True)
    score = models.DecimalField(_("score"), **_SCORE)
    is_vetoed = models.BooleanField(_("vetoed"), default=False)
    created_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("store inspection")
        verbose_name_plural = _("store inspections")
        ordering = ["-visited_at", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["series", "version"], name="inspection_unique_version"),
            models.UniqueConstraint(
                fields=["series"],
                condition=models.Q(is_current=True),
                name="inspection_one_current",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=InspectionKind.values), name="inspection_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(score__gte=0, score__lte=100), name="inspection_score_range"
            ),
        ]
        indexes = [models.Index(fields=["store", "visited_at"], name="inspection_store_visited")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.visited_at:%Y-%m-%d} v{self.version}"


class InspectionMark(models.Model):
    """One checklist item of one inspection version: ticked or not, and the points it gave."""

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="marks"
    )
    item = models.ForeignKey(
        ChecklistItem, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    is_ticked = models.BooleanField(_("ticked"))
    points = models.DecimalField(_("points"), max_digits=5, decimal_places=1)

    class Meta:
        verbose_name = _("inspection mark")
        verbose_name_plural = _("inspection marks")
        constraints = [
            models.UniqueConstraint(fields=["inspection", "item"], name="inspectionmark_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.is_ticked}"


class InspectionPhoto(models.Model):
    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="photos"
    )
    image = models.ImageField(_("photo"), upload_to="evaluations/inspections/")

    class Meta:
        verbose_name = _("inspection photo")
        verbose_name_plural = _("inspection photos")

    def __str__(self) -> str:
        return self.image.name


class _MonthFigures(models.Model):
    """The figures a month rollup keeps for a staff member or a unit."""

    month = models.DateField(_("month"))
    rating_count = models.PositiveIntegerField(_("ratings"), default=0)
    rating_sum = models.PositiveIntegerField(_("sum of scores"), default=0)
    top_box_count = models.PositiveIntegerField(_("ratings of 9-10"), default=0)
    low_count = models.PositiveIntegerField(_("ratings of 1-6"), default=0)
    invitations_sent = models.PositiveIntegerField(_("invitations sent"), default=0)
    mean = models.DecimalField(_("mean"), max_digits=6, decimal_places=3, null=True)
    shrunk_mean = models.DecimalField(_("shrunk mean"), max_digits=6, decimal_places=3, null=True)
    kpi_score = models.DecimalField(_("KPI score"), null=True, **_SCORE)
    inspection_score = models.DecimalField(_("inspection score"), null=True, **_SCORE)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        abstract = True


class StaffMonth(_MonthFigures):
    staff_member = models.ForeignKey(
        "staff.StaffMember",
        verbose_name=_("staff member"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    unit = models.ForeignKey(
        "staff.OrgUnit", verbose_name=_("unit"), on_delete=models.CASCADE, related_name="+"
    )
    branch = models.ForeignKey(
        "staff.OrgUnit",
        verbose_name=_("branch"),
        on_delete=models.CASCADE,
        null=True,
        related_name="+",
    )
    position = models.ForeignKey(
        "staff.Position", verbose_name=_("position"), on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("staff month")
        verbose_name_plural = _("staff months")
        ordering = ["-month", "-shrunk_mean"]
        constraints = [
            models.UniqueConstraint(fields=["month", "staff_member"], name="staffmonth_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.staff_member_id} {self.month:%Y-%m}"


class UnitMonth(_MonthFigures):
    unit = models.ForeignKey(
        "staff.OrgUnit", verbose_name=_("unit"), on_delete=models.CASCADE, related_name="+"
    )
    level = models.CharField(_("level"), max_length=16, choices=UnitLevel.choices)

    class Meta:
        verbose_name = _("unit month")
        verbose_name_plural = _("unit months")
        ordering = ["-month", "-shrunk_mean"]
        constraints = [
            models.UniqueConstraint(fields=["month", "unit"], name="unitmonth_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.month:%Y-%m}"


class StoreGradeWeights(models.Model):
    """The weights of the store composite score; one row (pk 1), edited in the admin."""

    satisfaction = models.DecimalField(
        _("weight: satisfaction"), max_digits=4, decimal_places=3, default="0.500"
    )
    inspection = models.DecimalField(
        _("weight: inspections"), max_digits=4, decimal_places=3, default="0.300"
    )
    complaints = models.DecimalField(
        _("weight: complaints and deductions"), max_digits=4, decimal_places=3, default="0.100"
    )
    kpi = models.DecimalField(_("weight: KPI"), max_digits=4, decimal_places=3, default="0.100")

    class Meta:
        verbose_name = _("store grade weights")
        verbose_name_plural = _("store grade weights")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="gradeweights_one")]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


class StoreMonthScore(models.Model):
    """A store's month in its service archive: dimensions, composite, rank and grade."""

    store = models.ForeignKey(
        "staff.OrgUnit", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+"
    )
    month = models.DateField(_("month"))
    satisfaction = models.DecimalField(_("satisfaction"), null=True, **_SCORE)
    inspection = models.DecimalField(_("inspections"), null=True, **_SCORE)
    complaints = models.DecimalField(_("complaints and deductions"), null=True, **_SCORE)
    kpi = models.DecimalField(_("KPI"), null=True, **_SCORE)
    composite = models.DecimalField(_("composite score"), **_SCORE)
    rank = models.PositiveIntegerField(_("rank"))
    store_count = models.PositiveIntegerField(_("stores ranked"))
    in_top_band = models.BooleanField(_("top 10 %"), default=False)
    in_bottom_band = models.BooleanField(_("bottom 10 %"), default=False)
    grade = models.CharField(_("grade"), max_length=16, choices=StoreGrade.choices)
    previous_grade = models.CharField(
        _("previous grade"), max_length=16, choices=StoreGrade.choices, blank=True
    )
    supervision_since = models.DateField(_("under supervision since"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("store month score")
        verbose_name_plural = _("store service archive")
        ordering = ["-month", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["store", "month"], name="storemonthscore_unique"),
            models.CheckConstraint(
                condition=models.Q(grade__in=StoreGrade.values), name="storemonthscore_grade"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.month:%Y-%m}: {self.grade}"


class EvaluationStageRule(models.Model):
    """How an evaluation-based stage reads service measurement."""

    stage = models.OneToOneField(
        "campaigns.Stage", verbose_name=_("stage"), on_delete=models.CASCADE, related_name="+"
    )
    min_ratings = models.PositiveIntegerField(
        _("minimum ratings"),
        default=30,
        help_text=_(
            "Ratings a contestant needs in the stage's months to get a satisfaction score."
        ),
    )

    class Meta:
        verbose_name = _("evaluation stage rule")
        verbose_name_plural = _("evaluation stage rules")

    def __str__(self) -> str:
        return str(self.stage)
