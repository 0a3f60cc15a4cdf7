"""Domain errors of the campaigns app. Each carries a stable ``code`` (see ``DomainError``)."""

from django.utils.functional import Promise

from staff.exceptions import DomainError


class CampaignError(DomainError):
    """A campaign rule refused the action; ``code`` says which one."""


class InvalidTransitionError(CampaignError):
    """The stage cannot move from its status to the requested one (code ``invalid_transition``)."""

    status_code = 409

    def __init__(self, message: str | Promise) -> None:
        super().__init__("invalid_transition", message)


class StageGuardError(CampaignError):
    """The move is allowed by the table but a guard refused it (previous stage not
    finalised, no contestants, unresolved tie, missing times)."""

    status_code = 409


class InvalidRulesError(CampaignError):
    """Stage rules (quotas, weights, tie-break order, times) are inconsistent."""

    def __init__(self, message: str | Promise) -> None:
        super().__init__("invalid_rules", message)


class ResultsFrozenError(CampaignError):
    """Finalised results are frozen: nothing may recompute or change them."""

    status_code = 409

    def __init__(self, message: str | Promise) -> None:
        super().__init__("results_frozen", message)
