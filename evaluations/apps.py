from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from campaigns.live import register_audience_lookup
from campaigns.served import (
    register_served_customers,
    register_served_lookup,
    register_served_sql,
)
from campaigns.signals import demo_campaign_seeded


class EvaluationsConfig(AppConfig):
    name = "evaluations"
    verbose_name = _("Evaluations")

    def ready(self) -> None:
        # Models must be loaded before these modules are imported: they import them.
        from campaigns.messaging.inbound.router import (  # noqa: PLC0415 -- models first
            REPLY_ORDER,
            register_inbound_handler,
        )
        from evaluations import components as judging_components  # noqa: PLC0415 -- models first
        from evaluations import receivers  # noqa: PLC0415 -- models first
        from evaluations import selectors as live_selectors  # noqa: PLC0415 -- models first
        from evaluations.choices import AuditAction  # noqa: PLC0415 -- models first
        from evaluations.measurement import (  # noqa: PLC0415 -- models first
            components,
            replies,
            selectors,
            sending,
            tasks,  # noqa: F401 -- registers the Celery task
        )
        from evaluations.measurement.choices import (  # noqa: PLC0415 -- models first
            AuditAction as MeasurementAuditAction,
        )
        from staff.audit_actions import register_audit_actions  # noqa: PLC0415 -- models first

        register_audit_actions(self.label, AuditAction, MeasurementAuditAction)

        # The live contest (judges, panels, scores): the judge component and the window of
        # audience votes.
        judging_components.register()
        register_audience_lookup(live_selectors.audience_window)
        demo_campaign_seeded.connect(
            receivers.seed_live_contest_on_demo_campaign, dispatch_uid="evaluations.live_demo"
        )
        # Service measurement: its components, the served-customer lookup, the invitation
        # templates and the rating-reply handler (after voting's keywords: a vote stays a vote).
        components.register()
        register_served_lookup(selectors.served_pairs)
        register_served_sql(selectors.served_exists_sql)
        register_served_customers(selectors.served_customers)
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
