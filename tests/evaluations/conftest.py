"""Fixtures of the live-contest tests."""

import pytest

from tests.factories.evaluations import Contest, build_contest


@pytest.fixture
def contest(db) -> Contest:
    """A small live contest (``tests.factories.evaluations.build_contest``)."""
    return build_contest()
