from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        # SMS messaging is a package inside this app: Celery's and the admin's autodiscovery
        # look only at campaigns.tasks and campaigns.admin, so its sender task and its
        # admin pages are registered here.
        from campaigns.choices import AuditAction  # noqa: PLC0415 -- apps are loaded only now
        from campaigns.messaging import admin, tasks  # noqa: F401, PLC0415 -- registration
        from staff.audit_actions import register_audit_actions  # noqa: PLC0415 -- as above

        register_audit_actions(self.label, AuditAction)
