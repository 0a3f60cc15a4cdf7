from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from campaigns.served import register_served_lookup
from campaigns.signals import demo_campaign_seeded


class EvaluationsConfig(AppConfig):
    name = "evaluations"
    verbose_name = _("Evaluations")

    def ready(self) -> None:
        # --- service measurement (evaluations.measurement) -------------------------------
        from campaigns.messaging.inbound.router import (  # noqa: PLC0415 -- imports models
            REPLY_ORDER,
            register_inbound_handler,
        )
        from evaluations import receivers  # noqa: PLC0415 -- models must be loaded first
        from evaluations.measurement import (  # noqa: PLC0415 -- as above
            components,
            replies,
            selectors,
            sending,
            tasks,  # noqa: F401 -- registers the Celery task
        )

        components.register()
        register_served_lookup(selectors.served_pairs)
        sending.register_templates()
        register_inbound_handler(
            replies.HANDLER_NAME,
            replies.handle_rating_replies,
            order=REPLY_ORDER,
            help_text=replies.help_text,
        )
        demo_campaign_seeded.connect(
            receivers.seed_demo_measurement_on_demo_campaign,
            dispatch_uid="evaluations.demo_measurement",
        )
        # --- end of service measurement ---------------------------------------------------
