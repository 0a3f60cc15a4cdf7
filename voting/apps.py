from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from campaigns.signals import demo_campaign_seeded


class VotingConfig(AppConfig):
    name = "voting"
    verbose_name = _("Voting")

    def ready(self) -> None:
        from voting import receivers  # noqa: PLC0415 -- models must be loaded first
        from voting.counting import components  # noqa: PLC0415 -- the same

        components.register()
        demo_campaign_seeded.connect(
            receivers.seed_demo_votes_on_demo_campaign, dispatch_uid="voting.demo_votes"
        )
