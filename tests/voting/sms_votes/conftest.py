"""Fixtures of the SMS vote tests."""

import pytest

from staff import wakeups


@pytest.fixture
def woken(settings, monkeypatch) -> list[str]:
    """The names of the tasks woken (``staff.wakeups``), recorded instead of published: the
    broker is a process boundary; its own behaviour is tested in tests/staff."""
    settings.WAKEUPS_ENABLED = True
    names: list[str] = []
    monkeypatch.setattr(
        wakeups.current_app, "send_task", lambda name, **options: names.append(name)
    )
    wakeups.reset_wakeups()
    yield names
    wakeups.reset_wakeups()
