"""Staff directory: the organisation tree, positions, staff members, and the audit log.

The organisation is a tree (company → branch → frontline unit) stored with a materialised
path: every unit keeps ``path``, the codes of its ancestors and itself joined by ``/``
(``SX/SX-TY/SX-TY-S001/``). A subtree is then one indexed ``LIKE 'prefix%'`` query,
however deep the tree. Paths are written only by ``staff.services``.
"""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from staff.choices import StaffImportStatus, UnitKind

# HR's own identifiers (``BJ010086``, ``100234``, ``SX-0042``), stored normalised: NFKC,
# trimmed, upper case (``staff.identifiers.normalise_employee_no``).
EMPLOYEE_NO_PATTERN = r"^[0-9A-Z][0-9A-Z-]{0,15}$"
# What customers type after TP: digits only, short, one per staff member.
VOTE_CODE_PATTERN = r"^[0-9]{1,16}$"
DIGITS_PATTERN = r"^[0-9]+$"
UNIT_CODE_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"


class OrgUnitQuerySet(models.QuerySet):
    def subtree_of(self, unit: "OrgUnit") -> "OrgUnitQuerySet":
        """The unit and all its descendants, in one query on the path index."""
        return self.filter(path__startswith=unit.path)

    def branches(self) -> "OrgUnitQuerySet":
        return self.filter(kind=UnitKind.BRANCH)


class OrgUnit(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=32, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    path = models.CharField(_("path"), max_length=512, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)

    objects = OrgUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation unit")
        verbose_name_plural = _("organisation units")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=UnitKind.values), name="orgunit_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(code__regex=UNIT_CODE_PATTERN), name="orgunit_code_format"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Position(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64, unique=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class StaffMemberQuerySet(models.QuerySet):
    def in_unit_subtree(self, unit: OrgUnit) -> "StaffMemberQuerySet":
        return self.filter(unit__path__startswith=unit.path)

    def active(self) -> "StaffMemberQuerySet":
        return self.filter(is_active=True)


class StaffMember(models.Model):
    employee_no = models.CharField(
        _("employee number"),
        max_length=16,
        unique=True,
        help_text=_("HR's number: letters, digits and hyphens, stored in upper case."),
    )
    # Unique, so finding the candidate of "TP <code>" is one probe of this index. Equal to
    # the employee number when that is digits (a constraint below), so a digit string sent
    # by a customer means the same person whichever of the two they meant.
    vote_code = models.CharField(
        _("vote code"),
        max_length=16,
        unique=True,
        help_text=_(
            "Digits only: customers vote with “TP” and this code. The employee number when "
            "that is digits, otherwise assigned."
        ),
    )
    name = models.CharField(_("full name"), max_length=64)
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="staff"
    )
    position = models.ForeignKey(
        Position, verbose_name=_("position"), on_delete=models.PROTECT, related_name="staff"
    )
    photo = models.ImageField(_("photo"), upload_to="staff/photos/", blank=True)
    thumbnail = models.ImageField(
        _("thumbnail"), upload_to="staff/thumbnails/", blank=True, editable=False
    )
    story = models.TextField(_("story"), max_length=2000, blank=True)
    video_url = models.URLField(_("video link"), blank=True)
    # The full number is never stored: a keyed hash identifies, a masked form displays.
    phone_hash = models.CharField(_("phone hash"), max_length=64, db_index=True, editable=False)
    phone_masked = models.CharField(_("phone"), max_length=16, editable=False)
    hire_date = models.DateField(_("hire date"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = StaffMemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")
        ordering = ["employee_no"]
        constraints = [
            models.CheckConstraint(
                condition=Q(employee_no__regex=EMPLOYEE_NO_PATTERN),
                name="staffmember_employee_no_format",
            ),
            models.CheckConstraint(
                condition=Q(vote_code__regex=VOTE_CODE_PATTERN),
                name="staffmember_vote_code_digits",
            ),
            models.CheckConstraint(
                condition=Q(vote_code=F("employee_no")) | ~Q(employee_no__regex=DIGITS_PATTERN),
                name="staffmember_digit_employee_no_is_vote_code",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.employee_no})"


class StaffImport(models.Model):
    """One uploaded staff file: its checked rows, waiting for confirmation, then the result.

    Rows are stored already normalised, with phones hashed and masked, so a preview never
    holds a full phone number.
    """

    file_name = models.CharField(_("file name"), max_length=255)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=StaffImportStatus.choices,
        default=StaffImportStatus.PREVIEWED,
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    rows = models.JSONField(_("valid rows"), default=list)
    errors = models.JSONField(_("row errors"), default=list)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    error_count = models.PositiveIntegerField(_("bad rows"), default=0)
    skip_bad = models.BooleanField(_("skip bad rows"), default=False)
    result = models.JSONField(_("result"), default=dict, blank=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("staff import")
        verbose_name_plural = _("staff imports")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=StaffImportStatus.values),
                name="staffimport_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"


class AuditEvent(models.Model):
    """Who did what, to what, when and why. Append-only; written by ``record_audit_event``.

    ``data`` holds before/after values with personal data masked. ``campaign_id`` is a
    plain integer so that upper apps can filter without this app knowing campaigns.
    """

    occurred_at = models.DateTimeField(_("when"), db_default=Now(), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(_("actor"), max_length=150)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.ForeignKey(
        ContentType,
        verbose_name=_("object type"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    target_id = models.CharField(_("object id"), max_length=64, blank=True)
    target_label = models.CharField(_("object"), max_length=255, blank=True)
    campaign_id = models.BigIntegerField(_("campaign id"), null=True, blank=True, db_index=True)
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"
