from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        # SMS messaging is a package inside this app: Celery's and the admin's autodiscovery
        # look only at campaigns.tasks and campaigns.admin, so its sender task and its
        # admin pages are registered here.
        from campaigns.messaging import admin, tasks  # noqa: F401, PLC0415 -- registration
