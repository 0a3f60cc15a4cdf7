"""Audience-vote window: which contestant the host of a live contest has on stage now.

At a live contest the audience votes for the contestant on stage, and only while the host
keeps their turn open. ``evaluations`` runs the live contest and ``voting`` takes the
votes; the two never import each other, so ``evaluations`` registers its lookup here in
``AppConfig.ready()`` (as it registers the served-customer lookup, ``campaigns.served``)
and ``voting`` asks ``audience_window``.

A lookup is ``lookup(stage_id) -> AudienceWindow | None``: ``None`` when no live contest
runs for the stage (audience votes then follow the stage's own window only). Without a
registered lookup no stage has a live contest.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class AudienceWindow:
    """The live contest's state for audience votes: who is on stage (``None``: nobody
    yet) and whether the host still has their turn open."""

    contestant_id: int | None
    is_open: bool


AudienceLookup = Callable[[int], AudienceWindow | None]

_lookup: list[AudienceLookup] = []


def register_audience_lookup(lookup: AudienceLookup) -> None:
    """Register the lookup (idempotent for the same function; one lookup at most)."""
    if _lookup and _lookup[0] is not lookup:
        raise ValueError("An audience-window lookup is already registered.")
    _lookup[:] = [lookup]


def unregister_audience_lookup() -> None:
    """Remove the lookup (used by tests)."""
    _lookup.clear()


def audience_window(stage_id: int) -> AudienceWindow | None:
    """The audience-vote window of ``stage_id``'s live contest, or ``None`` if none runs."""
    if not _lookup:
        return None
    return _lookup[0](stage_id)
