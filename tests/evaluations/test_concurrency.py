"""Two tablets racing on real PostgreSQL connections in threads.

Seen to fail (two score rows, or an IntegrityError escaping as a 500) with the unique
``idempotency_key`` caught nowhere, and with the ``score_unique_version`` key removed.
"""

import threading

import pytest
from django.db import connection

from evaluations.models import Score
from evaluations.services import scores
from staff.exceptions import DomainError
from staff.models import AuditEvent
from tests.factories.evaluations import new_key

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]

THREADS = 6


def race(target, count: int = THREADS) -> list[str]:
    """Run ``target()`` in ``count`` threads released together; return each outcome."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()  # guards the Python list only, not any database invariant

    def worker() -> None:
        try:
            barrier.wait()
            outcome = target()
        except DomainError as exc:
            outcome = exc.code
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_the_same_score_sent_from_two_tablets_at_once_is_stored_once(contest):
    judge, contestant, key = contest.experts[0], contest.contestants[0], new_key()

    def send() -> str:
        result = scores.submit_score(
            contest.panel,
            judge=judge,
            contestant_id=contestant.pk,
            points=contest.points(30, 20, 20),
            idempotency_key=key,
        )
        return "created" if result.created else "duplicate"

    outcomes = race(send)

    assert outcomes == ["created"] + ["duplicate"] * (THREADS - 1)
    assert list(Score.objects.values_list("idempotency_key", "total")) == [(key, 70)]
    assert AuditEvent.objects.filter(action="evaluations.score.submitted").count() == 1


def test_two_different_scores_at_once_keep_only_one(contest):
    judge, contestant = contest.experts[0], contest.contestants[0]

    def send() -> str:
        scores.submit_score(
            contest.panel,
            judge=judge,
            contestant_id=contestant.pk,
            points=contest.points(30, 20, 20),
            idempotency_key=new_key(),
        )
        return "created"

    outcomes = race(send)

    assert outcomes == ["already_submitted"] * (THREADS - 1) + ["created"]
    assert Score.objects.count() == 1
