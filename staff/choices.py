"""Choices of the staff app. A leaf module: it imports nothing from the app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    COMPANY = "company", _("Company")
    BRANCH = "branch", _("Branch")
    STORE = "store", _("Business hall (store)")
    CALL_CENTRE_TEAM = "call_centre_team", _("Call-centre team")
    ACCOUNT_MANAGER_TEAM = "account_manager_team", _("Account-manager team")


# Where each kind may sit in the tree: company at the root, branches under the company,
# frontline units under a branch.
ALLOWED_PARENT_KINDS: dict[str, set[str | None]] = {
    UnitKind.COMPANY: {None},
    UnitKind.BRANCH: {UnitKind.COMPANY},
    UnitKind.STORE: {UnitKind.BRANCH},
    UnitKind.CALL_CENTRE_TEAM: {UnitKind.BRANCH},
    UnitKind.ACCOUNT_MANAGER_TEAM: {UnitKind.BRANCH},
}
FRONTLINE_KINDS = (UnitKind.STORE, UnitKind.CALL_CENTRE_TEAM, UnitKind.ACCOUNT_MANAGER_TEAM)


class StaffImportStatus(models.TextChoices):
    PREVIEWED = "previewed", _("Previewed, waiting for confirmation")
    IMPORTED = "imported", _("Imported")
    DISCARDED = "discarded", _("Discarded")


class AuditAction(models.TextChoices):
    """Audit actions owned by the staff app (``<app>.<noun>.<past_verb>``)."""

    STAFF_IMPORTED = "staff.import.completed", _("Staff import completed")
    STAFF_IMPORT_DISCARDED = "staff.import.discarded", _("Staff import discarded")
    STAFF_DEACTIVATED = "staff.member.deactivated", _("Staff member deactivated")
    STAFF_ACTIVATED = "staff.member.activated", _("Staff member reactivated")
    LOGIN_LOCKED = "staff.login.locked", _("Sign-in locked after failed attempts")
    LOGIN_UNLOCKED = "staff.login.unlocked", _("Sign-in unlocked")
