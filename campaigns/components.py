"""Score component providers: how ``voting`` and ``evaluations`` feed the result engine.

``campaigns`` must never import the apps above it, yet a stage's results
depend on their votes and scores. So each upper app registers, in its ``AppConfig.ready()``,
one provider per component key it can supply::

    from campaigns.components import VOTE_SHARE, register_component

    register_component(ComponentKey.SMS_VOTES, sms_votes_by_contestant, scale=VOTE_SHARE)
    register_component(ComponentKey.JUDGE_SCORE, mean_judge_score, scale=score_range(0, 10))

A provider is ``provider(stage) -> Mapping[contestant_id, raw value]`` returning valid
(not invalidated) raw values as ``Decimal`` or ``int``; contestants it omits count as 0.
It must be a read: no writes, no locks.

Scales say how raw values become the 0-100 values that weights apply to:

- ``VOTE_SHARE``: a share of the stage's top value, ``raw / max(raw) x 100`` (the stage's
  top vote-getter scores 100; with no votes at all everyone scores 0).
- ``score_range(low, high)``: a score on its own scale, ``(raw - low) / (high - low) x 100``,
  clamped to 0-100 (a judge mean of 8.5 on 0-10 is 85).

A component a stage weights but nobody has registered yet is *unavailable*: it contributes
0 and the preview lists it, so a stage simply has fewer components until its app exists.
Tests register fake providers and unregister them afterwards.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from campaigns.choices import ComponentKey

if TYPE_CHECKING:
    from campaigns.models import Stage

ProviderFunc = Callable[["Stage"], Mapping[int, Decimal | int]]


@dataclass(frozen=True)
class Scale:
    """How raw values of a component map to 0-100 (see the module docstring)."""

    kind: Literal["share_of_top", "range"]
    low: Decimal = Decimal(0)
    high: Decimal = Decimal(100)


VOTE_SHARE = Scale("share_of_top")


def score_range(low: Decimal | int | str, high: Decimal | int | str) -> Scale:
    """A score scale from ``low`` to ``high`` (e.g. judge scores 0-10, ratings 1-10)."""
    low_d, high_d = Decimal(str(low)), Decimal(str(high))
    if high_d <= low_d:
        raise ValueError("A score scale needs high > low.")
    return Scale("range", low_d, high_d)


@dataclass(frozen=True)
class ComponentProvider:
    key: str
    fetch: ProviderFunc
    scale: Scale


_registry: dict[str, ComponentProvider] = {}


def register_component(key: str, provider: ProviderFunc, *, scale: Scale) -> None:
    """Register the provider of component ``key``.

    Registering the same provider again is a no-op (``ready()`` may run twice in some test
    set-ups); a different provider for a taken key raises ``ValueError``, since two apps
    silently fighting over one component would change results unnoticed.
    """
    if key not in ComponentKey.values:
        raise ValueError(f"Unknown component key {key!r}.")
    existing = _registry.get(key)
    if existing is not None and (existing.fetch, existing.scale) != (provider, scale):
        raise ValueError(f"Component {key!r} already has a provider.")
    _registry[key] = ComponentProvider(key=key, fetch=provider, scale=scale)


def unregister_component(key: str) -> None:
    """Remove the provider of ``key`` if there is one (used by tests)."""
    _registry.pop(key, None)


def get_provider(key: str) -> ComponentProvider | None:
    return _registry.get(key)


def registered_components() -> dict[str, ComponentProvider]:
    """A copy of the registry, keyed by component key."""
    return dict(_registry)
