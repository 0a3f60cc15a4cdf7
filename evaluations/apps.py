from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from campaigns.signals import demo_campaign_seeded


class EvaluationsConfig(AppConfig):
    name = "evaluations"
    verbose_name = _("Evaluations")

    def ready(self) -> None:
        from evaluations import components, receivers  # noqa: PLC0415 -- models must be loaded first

        components.register()
        demo_campaign_seeded.connect(
            receivers.seed_live_contest_on_demo_campaign, dispatch_uid="evaluations.live_demo"
        )
