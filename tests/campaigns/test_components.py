"""The component provider registry."""

from decimal import Decimal

import pytest

from campaigns import components
from campaigns.choices import ComponentKey
from campaigns.components import VOTE_SHARE, score_range


def provider(stage):
    return {}


def test_register_is_idempotent_and_refuses_a_second_provider(fake_components):
    components.register_component(ComponentKey.WEB_VOTES, provider, scale=VOTE_SHARE)
    components.register_component(ComponentKey.WEB_VOTES, provider, scale=VOTE_SHARE)

    with pytest.raises(ValueError, match="already has a provider"):
        components.register_component(ComponentKey.WEB_VOTES, lambda s: {}, scale=VOTE_SHARE)
    assert components.get_provider(ComponentKey.WEB_VOTES).fetch is provider


def test_unknown_keys_and_empty_scales_are_refused(fake_components):
    with pytest.raises(ValueError, match="Unknown component key"):
        components.register_component("likes", provider, scale=VOTE_SHARE)
    with pytest.raises(ValueError, match="high > low"):
        score_range(10, 10)

    assert components.registered_components() == {}


def test_score_range_keeps_decimals():
    assert score_range("1", 10) == components.Scale("range", Decimal(1), Decimal(10))
