"""Fixtures of the service-measurement tests."""

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _quiet_broker(settings) -> Iterator[None]:
    """Wake-ups go to an in-memory broker; cached state starts empty."""
    settings.CELERY_BROKER_URL = "memory://"
    cache.clear()
    yield
    cache.clear()
