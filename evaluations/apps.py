from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from campaigns.served import register_served_lookup
from campaigns.signals import demo_campaign_seeded


class EvaluationsConfig(AppConfig):
    name = "evaluations"
    verbose_name = _("Evaluations")

    def ready(self) -> None:
        # --- service measurement (evaluations.measurement) -------------------------------
        from evaluations import receivers  # noqa: PLC0415 -- models must be loaded first
        from evaluations.measurement import components, selectors  # noqa: PLC0415 -- as above

        components.register()
        register_served_lookup(selectors.served_pairs)
        demo_campaign_seeded.connect(
            receivers.seed_demo_measurement_on_demo_campaign,
            dispatch_uid="evaluations.demo_measurement",
        )
        # --- end of service measurement ---------------------------------------------------
