"""Validation of a stage's rules, shared by ``Stage.clean()`` and the services.

Each function raises ``django.core.exceptions.ValidationError`` keyed by field; the
services turn that into ``InvalidRulesError`` so admin forms and API callers see the same
translated message.
"""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from campaigns.choices import COMPONENT_CHANNELS, ComponentKey, Visibility


def parse_weights(weights: Any) -> dict[str, Decimal]:
    """``{component_key: "0.5"}`` → ``{key: Decimal}``; raises ``ValidationError``.

    Weights are non-negative decimals that add up to exactly 1, so a total stays on the
    0-100 scale of its components. Strings, not floats, keep "0.1" exact in JSON.
    """
    if not isinstance(weights, Mapping) or not weights:
        raise ValidationError({"weights": _("Give at least one component weight.")})
    parsed: dict[str, Decimal] = {}
    for key, value in weights.items():
        if key not in ComponentKey.values:
            raise ValidationError(
                {"weights": _("Unknown score component: %(key)s.") % {"key": key}}
            )
        if isinstance(value, (float, bool)):
            raise ValidationError({"weights": _('Write weights as decimal strings, e.g. "0.5".')})
        try:
            weight = Decimal(str(value))
        except InvalidOperation:
            raise ValidationError(
                {"weights": _("The weight of %(key)s is not a number.") % {"key": key}}
            ) from None
        if not weight.is_finite() or weight < 0:
            raise ValidationError(
                {"weights": _("The weight of %(key)s must be zero or more.") % {"key": key}}
            )
        parsed[key] = weight
    if sum(parsed.values()) != Decimal(1):
        raise ValidationError({"weights": _("Component weights must add up to exactly 1.")})
    return parsed


def weighted_channels(weights: Any) -> frozenset[str]:
    """The vote channels (``web``, ``sms``, ``audience``) whose component ``weights`` gives
    a weight above 0: the channels a stage with these rules accepts votes by.

    Lenient where ``parse_weights`` is strict: a weight that is no number counts as 0, so
    a stage with broken rules accepts no votes rather than raising on the vote path.
    """
    if not isinstance(weights, Mapping):
        return frozenset()
    used = set()
    for key, channel in COMPONENT_CHANNELS.items():
        value = weights.get(key)
        if value is None or isinstance(value, (float, bool)):
            continue
        try:
            weight = Decimal(str(value))
        except InvalidOperation:
            continue
        if weight.is_finite() and weight > 0:
            used.add(channel)
    return frozenset(used)


def validate_position_quotas(position_quotas: Any, quota: int) -> None:
    """Per-position quotas are optional; when given they are positive and sum to the quota."""
    if position_quotas in (None, {}):
        return
    if not isinstance(position_quotas, Mapping):
        raise ValidationError(
            {"position_quotas": _("Per-position quotas must map position codes to numbers.")}
        )
    for code, value in position_quotas.items():
        if not isinstance(code, str) or not code:
            raise ValidationError({"position_quotas": _("A position code is missing.")})
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(
                {
                    "position_quotas": _(
                        "The quota of %(code)s must be a whole number of 1 or more."
                    )
                    % {"code": code}
                }
            )
    total = sum(position_quotas.values())
    if total != quota:
        raise ValidationError(
            {
                "position_quotas": _(
                    "Per-position quotas add up to %(total)s but the stage quota is %(quota)s."
                )
                % {"total": total, "quota": quota}
            }
        )


def validate_tie_break_order(order: Any) -> None:
    """A list of distinct component keys, tried in order after the total."""
    if not isinstance(order, list):
        raise ValidationError({"tie_break_order": _("The tie-break order must be a list.")})
    for key in order:
        if key not in ComponentKey.values:
            raise ValidationError(
                {"tie_break_order": _("Unknown score component: %(key)s.") % {"key": key}}
            )
    if len(set(order)) != len(order):
        raise ValidationError(
            {"tie_break_order": _("A component appears twice in the tie-break order.")}
        )


def validate_stage_rules(
    *,
    quota: int,
    position_quotas: Any,
    weights: Any,
    tie_break_order: Any,
    opens_at: datetime | None,
    closes_at: datetime | None,
    visibility: str,
    hide_final_hours: int,
    served_vote_weight: Decimal | None = None,
    served_votes_only: bool = False,
) -> None:
    """Every rule of a stage at once; raises the first ``ValidationError`` found."""
    if quota < 1:
        raise ValidationError({"quota": _("The quota must be 1 or more.")})
    validate_position_quotas(position_quotas, quota)
    parse_weights(weights)
    validate_tie_break_order(tie_break_order)
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise ValidationError({"closes_at": _("The stage must close after it opens.")})
    if visibility == Visibility.HIDDEN_FINAL_HOURS and hide_final_hours < 1:
        raise ValidationError(
            {"hide_final_hours": _("Say how many final hours the counts are hidden.")}
        )
    validate_served_rule(served_vote_weight, served_votes_only=served_votes_only)


# The bounds of ``Stage.served_vote_weight``.
SERVED_WEIGHT_MIN = Decimal(1)
SERVED_WEIGHT_MAX = Decimal(10)


def validate_served_rule(weight: Decimal | None, *, served_votes_only: bool) -> None:
    """The served-customer rule: a weight from 1 to 10, and no weight beside "only served
    votes" (where every counted vote is served, so a weight would change nothing)."""
    if weight is None:
        return
    if not SERVED_WEIGHT_MIN <= weight <= SERVED_WEIGHT_MAX:
        raise ValidationError(
            {
                "served_vote_weight": _(
                    "A served customer's vote weight must be between %(low)s and %(high)s."
                )
                % {"low": SERVED_WEIGHT_MIN, "high": SERVED_WEIGHT_MAX}
            }
        )
    if served_votes_only and weight != SERVED_WEIGHT_MIN:
        raise ValidationError(
            {
                "served_vote_weight": _(
                    "When only served customers' votes count, leave their weight at 1."
                )
            }
        )
