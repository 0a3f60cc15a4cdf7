"""Fixtures of the campaigns admin tests: an English-speaking HR client and a run stage."""

import pytest

from campaigns.choices import ComponentKey
from campaigns.services.stages import close_stage, open_stage


@pytest.fixture
def hr(admin_client):
    """The superuser "hr" with pages in English (requests default to Chinese)."""
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return admin_client


@pytest.fixture
def closed_stage(three_stages, admin_user, fake_components):
    """Stage 1 of ``three_stages`` opened and closed, with web and SMS votes set.

    Web votes 100, 80, 60, 40, 20 and SMS votes 10, 10, 10, 0, 4: totals 100, 90, 80,
    20, 30 (quota 3, 2 reserves), so contestants 0-2 qualify and 4, 3 are reserves.
    """
    _campaign, stages, contestants = three_stages
    open_stage(stages[0], actor=admin_user)
    close_stage(stages[0], actor=admin_user)
    ids = [c.id for c in contestants]
    fake_components.set(ComponentKey.WEB_VOTES, dict(zip(ids, (100, 80, 60, 40, 20), strict=True)))
    fake_components.set(ComponentKey.SMS_VOTES, dict(zip(ids, (10, 10, 10, 0, 4), strict=True)))
    return stages[0], contestants
