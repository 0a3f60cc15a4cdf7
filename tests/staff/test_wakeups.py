"""Wake-ups by task name: after commit only, bounded, never raising, paused after a failure."""

import time

import pytest
from django.db import transaction

from staff import wakeups

DEAD_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def _fresh_state(settings):
    settings.WAKEUPS_ENABLED = True
    settings.WAKEUP_TIMEOUT = 0.2
    settings.WAKEUP_BACKOFF_SECONDS = 30
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 0, "socket_connect_timeout": 0.2}
    wakeups.reset_wakeups()
    yield
    wakeups.reset_wakeups()


@pytest.fixture
def sent(monkeypatch):
    """Record what would be published instead of talking to a broker (the broker itself is
    exercised by the dead-broker tests below and by the real-worker tests)."""
    calls = []

    def fake_send_task(name, kwargs=None, connection=None, **options):
        calls.append((name, kwargs, options))

    monkeypatch.setattr(wakeups.current_app, "send_task", fake_send_task)
    return calls


@pytest.mark.django_db(transaction=True)
def test_wake_on_commit_sends_only_after_commit_and_never_on_rollback(sent, settings):
    settings.CELERY_BROKER_URL = "memory://"
    with transaction.atomic():
        wakeups.wake_on_commit("voting.fold_tallies", expires=5)
        assert sent == []
    assert sent == [("voting.fold_tallies", {}, {"retry": False, "expires": 5})]

    def wake_then_fail():
        with transaction.atomic():
            wakeups.wake_on_commit("voting.fold_tallies")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        wake_then_fail()
    assert len(sent) == 1


def test_send_wakeup_passes_kwargs_and_queue(sent, settings):
    settings.CELERY_BROKER_URL = "memory://"
    assert wakeups.send_wakeup("voting.run_vote_job", kwargs={"job_id": 7}, queue="heavy")
    assert sent == [("voting.run_vote_job", {"job_id": 7}, {"retry": False, "queue": "heavy"})]


def test_send_wakeup_debounces_per_task_name(sent, settings):
    settings.CELERY_BROKER_URL = "memory://"
    assert wakeups.send_wakeup("a.task", debounce=60)
    assert not wakeups.send_wakeup("a.task", debounce=60)
    assert wakeups.send_wakeup("b.task", debounce=60)
    assert [name for name, _kwargs, _options in sent] == ["a.task", "b.task"]
    assert wakeups.wakeup_counts() == {"published": 2, "failed": 0, "paused": 0, "debounced": 1}


def test_send_wakeup_is_off_when_disabled(sent, settings):
    settings.CELERY_BROKER_URL = "memory://"
    settings.WAKEUPS_ENABLED = False
    assert not wakeups.send_wakeup("a.task")
    assert sent == []


def test_dead_broker_is_logged_swallowed_and_pauses_further_wakeups(settings, caplog):
    settings.CELERY_BROKER_URL = DEAD_BROKER

    assert wakeups.send_wakeup("voting.fold_tallies") is False
    assert "wake-up of voting.fold_tallies failed" in caplog.text
    assert "ConnectionRefusedError" in caplog.text or "OperationalError" in caplog.text

    caplog.clear()
    for _ in range(50):
        assert wakeups.send_wakeup("voting.fold_tallies") is False
    # Paused: no connection attempt at all (the module's own count: one attempt, the
    # failed one), so no further log line.
    assert wakeups.wakeup_counts() == {"published": 0, "failed": 1, "paused": 50, "debounced": 0}
    assert caplog.text == ""


def test_wakeups_resume_after_the_pause(settings, sent):
    settings.CELERY_BROKER_URL = "memory://"
    settings.WAKEUP_BACKOFF_SECONDS = 0.05
    wakeups._pause_after_failure()  # what a failed publish does (see the test above)
    assert not wakeups.send_wakeup("a.task")
    time.sleep(0.1)
    assert wakeups.send_wakeup("a.task")
    assert [name for name, _kwargs, _options in sent] == ["a.task"]


@pytest.mark.django_db(transaction=True)
def test_wake_on_commit_schedules_nothing_inside_the_debounce(sent, settings):
    settings.CELERY_BROKER_URL = "memory://"
    with transaction.atomic():
        wakeups.wake_on_commit("voting.fold_tallies", debounce=60)
    with transaction.atomic():
        wakeups.wake_on_commit("voting.fold_tallies", debounce=60)
        # Debounced: no callback waits for this commit at all (a hot path pays nothing).
        assert transaction.get_connection().run_on_commit == []
    assert [name for name, _kwargs, _options in sent] == ["voting.fold_tallies"]
