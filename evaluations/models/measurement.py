"""Service measurement data, part one: the ledgers. What business systems report
(transactions), whom we ask and who answered (invitations, opt-outs, ratings), and the
call-centre KPIs; part two (``measurement_results``) holds store visits and the monthly
figures derived from all of these.

``ServiceTransaction``, ``Rating`` and ``KpiRecord`` rows are the facts the rollups are
recomputed from (``manage.py check_rollups`` compares them). Months are the first day of
the month in ``TIME_ZONE`` (Asia/Shanghai). Phones are stored as the keyed hash and the
masked form only (``staff.phones``); the one exception is a scheduled invitation, which
keeps its destination until it is sent or skipped.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from evaluations.measurement.choices import (
    InvitationSkipReason,
    InvitationStatus,
    KpiImportStatus,
    TransactionChannel,
)

_SCORE = {"max_digits": 7, "decimal_places": 2}
_USER = settings.AUTH_USER_MODEL


class TransactionApiKey(models.Model):
    """A business system's key for ``POST /api/transactions/``.

    Only the SHA-256 of the key is stored: the key is shown once, at creation. ``system``
    namespaces transaction ids, so rotating a system's key keeps its idempotency.
    """

    name = models.CharField(_("name"), max_length=80)
    system = models.SlugField(
        _("system"),
        max_length=32,
        help_text=_("Short code of the business system; transaction ids are unique per system."),
    )
    prefix = models.CharField(_("key prefix"), max_length=16, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        _USER, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("transactions API key")
        verbose_name_plural = _("transactions API keys")
        ordering = ["system", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ServiceTransaction(models.Model):
    """A served customer, as a business system reported it. Append-only."""

    system = models.SlugField(_("system"), max_length=32)
    external_id = models.CharField(_("transaction id"), max_length=64)
    staff_member = models.ForeignKey(
        "staff.StaffMember",
        verbose_name=_("served by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The unit at the time of service: a later transfer must not move old results.
    unit = models.ForeignKey(
        "staff.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=TransactionChannel.choices)
    phone_hash = models.CharField(_("customer phone hash"), max_length=64)
    phone_masked = models.CharField(_("customer phone"), max_length=16)
    served_at = models.DateTimeField(_("served at"))
    received_at = models.DateTimeField(_("received at"))
    # The request that inserted the row: tells new rows from duplicates in one statement.
    batch_id = models.UUIDField(_("batch"), editable=False)

    class Meta:
        verbose_name = _("service transaction")
        verbose_name_plural = _("service transactions")
        ordering = ["-served_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "external_id"], name="servicetransaction_unique_id"
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=TransactionChannel.values),
                name="servicetransaction_channel_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["staff_member", "served_at"], name="servicetx_staff_served"),
            models.Index(fields=["phone_hash", "served_at"], name="servicetx_phone_served"),
            models.Index(fields=["batch_id"], name="servicetx_batch"),
        ]

    def __str__(self) -> str:
        return f"{self.system}:{self.external_id}"


class RatingInvitation(models.Model):
    """The SMS asking one served customer to rate the staff member, due after a delay.

    ``phone_e164`` is the destination, kept only while the invitation is scheduled.
    """

    service_transaction = models.OneToOneField(
        ServiceTransaction,
        verbose_name=_("transaction"),
        on_delete=models.PROTECT,
        related_name="invitation",
    )
    staff_member = models.ForeignKey(
        "staff.StaffMember",
        verbose_name=_("staff member"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    phone_hash = models.CharField(_("customer phone hash"), max_length=64)
    phone_masked = models.CharField(_("customer phone"), max_length=16)
    phone_e164 = models.CharField(_("destination"), max_length=16, blank=True, editable=False)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=InvitationStatus.choices,
        default=InvitationStatus.SCHEDULED,
    )
    skip_reason = models.CharField(
        _("skipped because"), max_length=24, choices=InvitationSkipReason.choices, blank=True
    )
    created_at = models.DateTimeField(_("created at"))
    due_at = models.DateTimeField(_("due at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rating invitation")
        verbose_name_plural = _("rating invitations")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=InvitationStatus.values),
                name="ratinginvitation_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="ratinginv_status_due"),
            models.Index(fields=["phone_hash", "created_at"], name="ratinginv_phone_created"),
            models.Index(fields=["staff_member", "sent_at"], name="ratinginv_staff_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.phone_masked} → {self.staff_member_id} ({self.status})"


class RatingOptOut(models.Model):
    """A customer who asked never to be invited again (``TD`` / ``退订``)."""

    phone_hash = models.CharField(_("customer phone hash"), max_length=64, unique=True)
    phone_masked = models.CharField(_("customer phone"), max_length=16)
    created_at = models.DateTimeField(_("opted out at"))

    class Meta:
        verbose_name = _("rating opt-out")
        verbose_name_plural = _("rating opt-outs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.phone_masked


class Rating(models.Model):
    """One customer's 1-10 rating of a staff member. Append-only."""

    invitation = models.ForeignKey(
        RatingInvitation,
        verbose_name=_("invitation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ratings",
    )
    staff_member = models.ForeignKey(
        "staff.StaffMember",
        verbose_name=_("staff member"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    unit = models.ForeignKey(
        "staff.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+"
    )
    phone_hash = models.CharField(_("customer phone hash"), max_length=64)
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.CharField(_("comment"), max_length=300, blank=True)
    rated_at = models.DateTimeField(_("rated at"))

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        ordering = ["-rated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=10), name="rating_score_1_10"
            ),
        ]
        indexes = [
            models.Index(fields=["rated_at", "staff_member"], name="rating_rated_staff"),
            models.Index(fields=["staff_member", "rated_at"], name="rating_staff_rated"),
        ]

    def __str__(self) -> str:
        return f"{self.staff_member_id}: {self.score}"


class KpiFormula(models.Model):
    """How a position's monthly KPI figures become a 0-100 score.

    ``score = w_calls x min(calls / calls_target, 1) x 100 + w_satisfaction x satisfaction
    + w_quality x quality + w_resolution x first-call resolution``; the weights add up to 1.
    """

    position = models.OneToOneField(
        "staff.Position",
        verbose_name=_("position"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    calls_target = models.PositiveIntegerField(
        _("calls for full marks"),
        default=1200,
        help_text=_("Calls handled in a month that earn the whole calls weight."),
    )
    weight_calls = models.DecimalField(
        _("weight: calls handled"), max_digits=4, decimal_places=3, default="0.200"
    )
    weight_satisfaction = models.DecimalField(
        _("weight: satisfaction rate"), max_digits=4, decimal_places=3, default="0.400"
    )
    weight_quality = models.DecimalField(
        _("weight: quality score"), max_digits=4, decimal_places=3, default="0.250"
    )
    weight_resolution = models.DecimalField(
        _("weight: first-call resolution"), max_digits=4, decimal_places=3, default="0.150"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("KPI formula")
        verbose_name_plural = _("KPI formulas")
        ordering = ["position"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    weight_calls__gte=0,
                    weight_satisfaction__gte=0,
                    weight_quality__gte=0,
                    weight_resolution__gte=0,
                    calls_target__gte=1,
                ),
                name="kpiformula_weights_positive",
            ),
        ]

    def __str__(self) -> str:
        return str(self.position)


class KpiImport(models.Model):
    """One uploaded KPI file: its checked rows waiting for confirmation, then the result."""

    file_name = models.CharField(_("file name"), max_length=255)
    month = models.DateField(_("month"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=KpiImportStatus.choices,
        default=KpiImportStatus.PREVIEWED,
    )
    rows = models.JSONField(_("valid rows"), default=list)
    errors = models.JSONField(_("row errors"), default=list)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    error_count = models.PositiveIntegerField(_("bad rows"), default=0)
    result = models.JSONField(_("result"), default=dict, blank=True)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    created_by = models.ForeignKey(
        _USER,
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("KPI import")
        verbose_name_plural = _("KPI imports")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=KpiImportStatus.values),
                name="kpiimport_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.month:%Y-%m})"


class KpiRecord(models.Model):
    """One agent's KPI figures for one month and the score the formula gave them."""

    staff_member = models.ForeignKey(
        "staff.StaffMember",
        verbose_name=_("staff member"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    month = models.DateField(_("month"))
    calls_handled = models.PositiveIntegerField(_("calls handled"))
    satisfaction_rate = models.DecimalField(_("satisfaction rate (%)"), **_SCORE)
    quality_score = models.DecimalField(_("quality score"), **_SCORE)
    first_call_resolution = models.DecimalField(_("first-call resolution (%)"), **_SCORE)
    score = models.DecimalField(_("KPI score"), **_SCORE)
    kpi_import = models.ForeignKey(
        KpiImport,
        verbose_name=_("import"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="records",
    )

    class Meta:
        verbose_name = _("KPI record")
        verbose_name_plural = _("KPI records")
        ordering = ["-month", "staff_member"]
        constraints = [
            models.UniqueConstraint(fields=["staff_member", "month"], name="kpirecord_unique"),
            models.CheckConstraint(
                condition=models.Q(
                    satisfaction_rate__gte=0,
                    satisfaction_rate__lte=100,
                    quality_score__gte=0,
                    quality_score__lte=100,
                    first_call_resolution__gte=0,
                    first_call_resolution__lte=100,
                    score__gte=0,
                    score__lte=100,
                ),
                name="kpirecord_percentages",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff_member_id} {self.month:%Y-%m}: {self.score}"
