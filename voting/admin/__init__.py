"""The voting app's admin, one module per page family; importing them registers them
(Django's admin autodiscovery imports this package)."""

from voting.admin import records, votes  # noqa: F401 -- registers the ModelAdmins
