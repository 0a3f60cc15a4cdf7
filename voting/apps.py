from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VotingConfig(AppConfig):
    name = "voting"
    verbose_name = _("Voting")

    def ready(self) -> None:
        from voting import components  # noqa: PLC0415 -- models must be loaded first

        components.register()
