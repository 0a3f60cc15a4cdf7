"""The one race helper of the tests: run callables in threads released together.

Each thread uses its own database connection (Django opens one per thread) and closes it
when done, so a race needs ``django_db(transaction=True)`` and PostgreSQL: SQLite
serialises every writer, so it can never show a race.
"""

import threading
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
