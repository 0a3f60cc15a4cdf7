from django.apps import AppConfig
from django.db import models
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = _("Staff directory")

    def ready(self) -> None:
        from axes.signals import user_locked_out  # noqa: PLC0415 -- apps are loaded only now

        from staff.audit_actions import register_audit_actions  # noqa: PLC0415 -- leaf
        from staff.choices import AuditAction  # noqa: PLC0415 -- apps are loaded only now
        from staff.lockout import record_lockout  # noqa: PLC0415 -- models are loaded only now
        from staff.sql import Among  # noqa: PLC0415 -- apps are loaded only now

        models.Field.register_lookup(Among)  # ``__among``: ``__in`` for a batch's values
        register_audit_actions(self.label, AuditAction)
        user_locked_out.connect(record_lockout, dispatch_uid="staff.record_lockout")
