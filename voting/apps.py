from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from campaigns.signals import demo_campaign_seeded, demo_data_seeded


class VotingConfig(AppConfig):
    name = "voting"
    verbose_name = _("Voting")

    def ready(self) -> None:
        # Models must be loaded first: these modules import them.
        from campaigns.messaging.inbound.router import (  # noqa: PLC0415 -- models first
            KEYWORD_ORDER,
            register_inbound_handler,
        )
        from staff.audit_actions import register_audit_actions  # noqa: PLC0415 -- models first
        from voting import receivers, sms_templates  # noqa: PLC0415 -- models first
        from voting.choices import AuditAction  # noqa: PLC0415 -- models first
        from voting.counting import components  # noqa: PLC0415 -- models first
        from voting.sms_votes import handler  # noqa: PLC0415 -- models first

        register_audit_actions(self.label, AuditAction)
        components.register()
        sms_templates.register_templates()
        register_inbound_handler(
            handler.HANDLER_NAME,
            handler.handle_vote_messages,
            order=KEYWORD_ORDER,
            help_text=handler.help_text,
            find_labels=handler.receipt_labels,
        )
        demo_campaign_seeded.connect(
            receivers.seed_demo_votes_on_demo_campaign, dispatch_uid="voting.demo_votes"
        )
        demo_data_seeded.connect(
            receivers.seed_served_demo_votes_on_demo_data, dispatch_uid="voting.demo_served_votes"
        )
