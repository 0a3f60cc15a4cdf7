"""The ledger's side of the tally outbox (``voting.counting.tallies`` explains it): every
change of what counts writes one ``TallyEvent`` in the same transaction as the ledger
change, and wakes the fold once that transaction commits."""

from collections.abc import Iterable

from staff.wakeups import wake_on_commit
from voting.models import TallyEvent

FOLD_TASK = "voting.fold_tallies"
# At 500 votes/s one wake-up per 0.2 s is plenty: a fold drains everything pending, and
# beat sweeps every second anyway. A wake-up older than 5 s is worthless (beat has run).
FOLD_WAKE_DEBOUNCE = 0.2
FOLD_WAKE_EXPIRES = 5


def record_tally_events(votes: Iterable[tuple[int, int, int, str, bool]], *, delta: int) -> int:
    """Write one outbox event per ``(vote_id, stage_id, contestant_id, channel, is_served)``.

    Must run inside the transaction that changes those votes (the caller's); writes only
    ``TallyEvent`` rows, takes no locks beyond the inserts. Returns the number written.
    """
    events = [
        TallyEvent(vote_id=vote_id, stage_id=stage_id, contestant_id=contestant_id,
                   channel=channel, is_served=is_served, delta=delta)
        for vote_id, stage_id, contestant_id, channel, is_served in votes
    ]  # fmt: skip
    TallyEvent.objects.bulk_create(events, batch_size=1000)
    return len(events)


def wake_tally_fold() -> None:
    """Wake a worker to fold the outbox once the current transaction commits.

    Called inside the vote's transaction (``cast_vote``, the SMS batch ingest). Sends the
    ``voting.fold_tallies`` task by name through ``staff.wakeups.wake_on_commit``: bounded,
    error-swallowing, debounced per process to one message per ``FOLD_WAKE_DEBOUNCE``
    seconds, and nothing on a rollback. Beat folds every second anyway.
    """
    wake_on_commit(FOLD_TASK, expires=FOLD_WAKE_EXPIRES, debounce=FOLD_WAKE_DEBOUNCE)
