"""Wake-ups: ask a Celery worker to run a task now, by the task's name, after commit.

Work a request creates is a row in PostgreSQL (an outbox, a job row), and beat sweeps every
outbox on a schedule; a broker message only shortens the wait. So a
wake-up is best effort and must never slow down or fail the request that sends it:

* it is sent only after the caller's transaction commits (``transaction.on_commit``): a
  worker woken before the commit would find nothing to do;
* it names the task by its registered name (``send_task``), so a service never imports a
  ``tasks.py`` (services import tasks never; tasks import services);
* the broker connection has a short timeout (``WAKEUP_TIMEOUT``) and no retries, since
  publishing to a broker that is down can otherwise hang (celery#4556); it is kept open
  per thread and reused (opening one cost 13 ms a wake-up, a tenth of an SMS batch's
  time, docs/benchmarks.md), and dropped after any error;
* every error is logged and swallowed;
* after a failed wake-up every further one is skipped for ``WAKEUP_BACKOFF_SECONDS`` (per
  process), so a broker outage costs one timeout per process and back-off period, not one
  per request;
* ``debounce`` lets a hot path send at most one wake-up of a task per interval per process
  (a fold drains everything pending, so one message per 0.2 s is plenty).

``WAKEUPS_ENABLED = False`` turns every wake-up off (tests that run no worker).

``wakeup_counts()`` says what this process did with its wake-ups: ``published``,
``failed`` (a broker connection tried and lost), ``paused`` (skipped during a pause, no
connection tried) and ``debounced``. Each attempt to publish is one ``published``
or one ``failed``.
"""

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# Per process: task name -> monotonic time of the last wake-up sent (debounce).
_last_sent: dict[str, float] = {}
# Per process: monotonic time until which wake-ups are skipped after a broker failure.
_paused_until = 0.0
# Per process: what became of the wake-ups (see ``wakeup_counts``).
_counts: Counter[str] = Counter()
# Per thread: the open broker connection and the settings it was opened with.
_broker = threading.local()


def reset_wakeups() -> None:
    """Forget the debounce and back-off state and the counts of this process (used by
    tests)."""
    global _paused_until
    with _lock:
        _last_sent.clear()
        _counts.clear()
        _paused_until = 0.0
    _drop_connection()


def _connection() -> Any:
    """This thread's broker connection, opened with the current settings (a test that
    changes them gets a new one)."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    key = (settings.CELERY_BROKER_URL, settings.WAKEUP_TIMEOUT, repr(sorted(options.items())))
    if getattr(_broker, "key", None) != key:
        _drop_connection()
        _broker.connection = current_app.connection_for_write(
            url=settings.CELERY_BROKER_URL,
            connect_timeout=settings.WAKEUP_TIMEOUT,
            transport_options=options,
        )
        _broker.key = key
    return _broker.connection


def _drop_connection() -> None:
    """Close this thread's broker connection, if any (after an error, or for new settings)."""
    connection = getattr(_broker, "connection", None)
    _broker.connection = _broker.key = None
    if connection is not None:
        # Closing a broken connection may fail too; there is nothing left to do about it.
        with contextlib.suppress(Exception):
            connection.release()


def wakeup_counts() -> dict[str, int]:
    """How many wake-ups this process ``published``, ``failed`` (broker connection tried
    and lost), skipped while ``paused`` after a failure, or ``debounced``."""
    with _lock:
        return {key: _counts[key] for key in ("published", "failed", "paused", "debounced")}


def _count(outcome: str) -> None:
    with _lock:
        _counts[outcome] += 1


def _should_send(task_name: str, debounce: float) -> bool:
    """Claim the right to send now; False while paused or within the debounce interval."""
    now = time.monotonic()
    with _lock:
        if now < _paused_until:
            _counts["paused"] += 1
            return False
        if debounce and now - _last_sent.get(task_name, -debounce - 1) < debounce:
            _counts["debounced"] += 1
            return False
        _last_sent[task_name] = now
        return True


def _due(task_name: str, debounce: float) -> bool:
    """Whether a wake-up of ``task_name`` would be sent now (a look only: claims nothing;
    a wake-up not even scheduled is counted as ``paused`` or ``debounced``)."""
    now = time.monotonic()
    with _lock:
        if now < _paused_until:
            _counts["paused"] += 1
            return False
        if debounce and now - _last_sent.get(task_name, -debounce - 1) < debounce:
            _counts["debounced"] += 1
            return False
        return True


def _pause_after_failure() -> None:
    global _paused_until
    with _lock:
        _paused_until = time.monotonic() + settings.WAKEUP_BACKOFF_SECONDS


def send_wakeup(
    task_name: str,
    *,
    kwargs: Mapping[str, Any] | None = None,
    queue: str | None = None,
    expires: float | None = None,
    debounce: float = 0.0,
) -> bool:
    """Publish one message for task ``task_name`` now; True if it was published.

    Never raises. Reads the broker URL and options from settings at call time. Returns False
    when wake-ups are off, debounced, paused after a recent failure, or the publish failed
    (logged at WARNING with the error's type only).
    """
    if not settings.WAKEUPS_ENABLED or not _should_send(task_name, debounce):
        return False
    options: dict[str, Any] = {"retry": False}
    if queue:
        options["queue"] = queue
    if expires is not None:
        options["expires"] = expires
    try:
        current_app.send_task(
            task_name, kwargs=dict(kwargs or {}), connection=_connection(), **options
        )
    except Exception as exc:  # noqa: BLE001 -- a wake-up must never fail the request
        _drop_connection()
        _count("failed")
        _pause_after_failure()
        logger.warning(
            "wake-up of %s failed (beat will sweep; wake-ups paused %ss): %s",
            task_name,
            settings.WAKEUP_BACKOFF_SECONDS,
            type(exc).__name__,
        )
        return False
    _count("published")
    return True


def wake_on_commit(
    task_name: str,
    *,
    kwargs: Mapping[str, Any] | None = None,
    queue: str | None = None,
    expires: float | None = None,
    debounce: float = 0.0,
) -> None:
    """Schedule ``send_wakeup(task_name, ...)`` for when the current transaction commits
    (at once outside a transaction). Nothing is sent if the transaction rolls back.

    Within a debounce interval (or a back-off pause) nothing is scheduled at all: a hot path
    such as the web vote then pays for no callback on most requests."""
    if not settings.WAKEUPS_ENABLED or not _due(task_name, debounce):
        return
    frozen = dict(kwargs or {})
    transaction.on_commit(
        lambda: send_wakeup(
            task_name, kwargs=frozen, queue=queue, expires=expires, debounce=debounce
        )
    )
