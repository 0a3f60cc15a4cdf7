"""Choices of service measurement. A leaf module: it imports nothing from the app.

Store grades (``StoreGrade``) are decided month by month from the composite score's rank
among all stores of that month (see ``evaluations.measurement.grades``)::

    normal ──(top 10 % two months running)──► exempt
    any    ──(bottom 10 %)──► supervision ──(still bottom 10 % two months later)──► coaching
    any    ──(neither)──► normal
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TransactionChannel(models.TextChoices):
    STORE = "store", _("Store")
    CALL_CENTRE = "call_centre", _("Call centre")
    ACCOUNT_MANAGER = "account_manager", _("Account manager")


class TransactionResult(models.TextChoices):
    """Per-item outcome of ``POST /api/transactions/``."""

    ACCEPTED = "accepted", _("Accepted")
    DUPLICATE = "duplicate", _("Duplicate")
    REJECTED = "rejected", _("Rejected")


class InvitationStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Skipped")
    ANSWERED = "answered", _("Answered")


class InvitationSkipReason(models.TextChoices):
    OPTED_OUT = "opted_out", _("Customer opted out")
    STAFF_PHONE = "staff_phone", _("Staff member's phone")
    RECENTLY_INVITED = "recently_invited", _("Invited recently")
    STALE = "stale", _("Not sent in time")


class InspectionKind(models.TextChoices):
    INSPECTION = "inspection", _("Inspection")
    MYSTERY_SHOPPER = "mystery_shopper", _("Mystery shopper")


class ChecklistItemKind(models.TextChoices):
    """How an item of the checklist counts: points earned, added, taken off, or a veto."""

    CHECK = "check", _("Checklist item")
    BONUS = "bonus", _("Bonus item")
    DEDUCTION = "deduction", _("Deduction item")
    VETO = "veto", _("Veto item")


class KpiImportStatus(models.TextChoices):
    PREVIEWED = "previewed", _("Previewed")
    CONFIRMED = "confirmed", _("Confirmed")
    DISCARDED = "discarded", _("Discarded")


class UnitLevel(models.TextChoices):
    """The level of a unit rollup."""

    STORE = "store", _("Store / team")
    BRANCH = "branch", _("Branch")


class StoreGrade(models.TextChoices):
    NORMAL = "normal", _("Normal")
    EXEMPT = "exempt", _("Inspection-exempt")
    SUPERVISION = "supervision", _("Under supervision")
    COACHING = "coaching", _("On-site coaching")


class AuditAction(models.TextChoices):
    """Audit actions of service measurement (``evaluations.<noun>.<past_verb>``)."""

    API_KEY_CREATED = "evaluations.api_key.created", _("Transactions API key created")
    API_KEY_REVOKED = "evaluations.api_key.revoked", _("Transactions API key revoked")
    KPI_IMPORTED = "evaluations.kpi.imported", _("Call-centre KPIs imported")
    KPI_FORMULA_CHANGED = "evaluations.kpi_formula.changed", _("KPI formula changed")
    INSPECTION_RECORDED = "evaluations.inspection.recorded", _("Store inspection recorded")
    INSPECTION_CORRECTED = "evaluations.inspection.corrected", _("Store inspection corrected")
    ROLLUP_COMPUTED = "evaluations.rollup.computed", _("Monthly rollup computed")
    GRADE_CHANGED = "evaluations.store_grade.changed", _("Store grade changed")
    GRADE_WEIGHTS_CHANGED = "evaluations.grade_weights.changed", _("Store grade weights changed")
