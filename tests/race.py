"""The one race helper of the tests: run callables in threads released together.

Each thread uses its own database connection (Django opens one per thread) and closes it
when done, so a race needs ``django_db(transaction=True)`` and PostgreSQL: SQLite
serialises every writer, so it can never show a race.
"""

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection

from staff.exceptions import DomainError


def run_together(targets: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run each target in its own thread, all released at once by a barrier; return the
    outcomes in the targets' order: the return value, or the ``code`` of a ``DomainError``
    (any other exception fails the test when it is re-raised here)."""
    barrier = threading.Barrier(len(targets))
    outcomes: list[Any] = [None] * len(targets)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = targets[index]()
        except DomainError as exc:
            outcomes[index] = exc.code
        except BaseException as exc:  # noqa: BLE001 -- handed to the test's thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(len(targets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return outcomes


def race(target: Callable[[], object], count: int) -> list[str]:
    """Run ``target()`` ``count`` times at once; return the sorted outcomes: ``"ok"`` for a
    call that returned, the error code for a refused one."""

    def attempt() -> str:
        target()
        return "ok"

    return sorted(run_together([attempt] * count))


def start_in_thread(
    target: Callable[[], Any], results: dict[str, Any], key: str
) -> threading.Thread:
    """Start ``target()`` in a thread of its own (its own database connection, closed when
    done); its return value lands in ``results[key]``. The caller joins the thread."""

    def run() -> None:
        try:
            results[key] = target()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_for_a_lock_wait(seconds: float = 20) -> None:
    """Return once some session of this test database waits for a lock (PostgreSQL);
    fail the test if none does within ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        assert time.monotonic() < deadline, "no session came to wait for a lock"
        time.sleep(0.05)
