"""Fixtures of the campaigns tests: fake component providers and a small campaign."""

from collections.abc import Iterator, Mapping
from decimal import Decimal

import pytest
from django.utils import translation

from campaigns import components
from campaigns.components import VOTE_SHARE, Scale
from tests.factories.campaigns import CampaignFactory, ContestantFactory, StageFactory
from tests.factories.staff import PositionFactory, StaffMemberFactory


class FakeComponents:
    """Registers providers that read from dicts the test controls.

    A provider is a plug-in at a process-like boundary (the upper apps), so a fake one is
    fair; the database under it stays real.
    """

    def __init__(self) -> None:
        self.values: dict[str, dict[int, Decimal]] = {}

    def set(
        self, key: str, values: Mapping[int, Decimal | int | str], *, scale: Scale = VOTE_SHARE
    ) -> None:
        self.values[key] = {cid: Decimal(str(v)) for cid, v in values.items()}
        if components.get_provider(key) is None:
            components.register_component(key, lambda stage, key=key: self.values[key], scale=scale)


@pytest.fixture
def fake_components() -> Iterator[FakeComponents]:
    """An empty provider registry for the test; the real one is restored afterwards."""
    saved = components.registered_components()
    for key in saved:
        components.unregister_component(key)
    yield FakeComponents()
    for key in components.registered_components():
        components.unregister_component(key)
    for key, provider in saved.items():
        components.register_component(key, provider.fetch, scale=provider.scale)


@pytest.fixture
def position():
    return PositionFactory(code="clerk", name="营业员")


@pytest.fixture
def three_stages(db, position):
    """A campaign of three draft stages (quotas 3, 2, 1) with five contestants in stage 1."""
    campaign = CampaignFactory()
    stages = [
        StageFactory(campaign=campaign, order=order, quota=quota, reserve_count=2)
        for order, quota in ((1, 3), (2, 2), (3, 1))
    ]
    contestants = [
        ContestantFactory(stage=stages[0], staff_member=StaffMemberFactory(position=position))
        for _ in range(5)
    ]
    return campaign, stages, contestants


@pytest.fixture
def english() -> Iterator[None]:
    """Messages in the English source, for tests that assert a message's exact text."""
    with translation.override("en"):
        yield
