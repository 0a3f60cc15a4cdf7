"""Tallies: the counted votes per (stage, contestant, channel), kept exactly once.

Terms and invariants:

* **Tally event** (``TallyEvent``) — the outbox. Every change of what counts writes one
  event *in the same transaction as the ledger change* (``voting.ledger.outbox``): +1 when
  a vote is cast (``cast_vote``) or restored (``restore_votes``), -1 when it is
  invalidated (``invalidate_votes``). A rolled-back vote leaves no event; a committed one
  always has it.
* **Tally** — the folded sum of events per (stage, contestant, channel); beside it the sum
  of the served customers' events (``is_served``, decided with the vote), so
  ``served_votes <= votes`` and the same invariant holds for the served split.
* **Fold** (``fold_tally_events``) — one transaction: claim a batch of events with
  ``SELECT … FOR UPDATE SKIP LOCKED`` in id order, add their deltas to the tallies with an
  SQL increment (``INSERT … ON CONFLICT DO UPDATE SET votes = tally.votes + excluded.votes``),
  delete the claimed events, commit.

Why this cannot miss or double-count: nothing depends on the
order in which ids are allocated or committed. An event is counted exactly when the
transaction that deletes it commits, and the same transaction adds it to the tally.
Concurrent folds skip each other's locked rows, so each event is claimed by one
transaction at a time; a fold that dies (SIGKILL, lost connection) rolls back, its rows
are unlocked and still there, and the next fold counts them. The Celery message that
started a fold carries no data, so a lost, duplicated or redelivered message changes
nothing: beat sweeps the outbox every second regardless.

Hence, in any one consistent view of the database (one SQL statement on PostgreSQL):

    valid votes in the ledger == tally + pending events        (per stage, contestant, channel)

``counted_votes`` reads the right-hand side in one statement; the recount
(``voting.counting.recount``) checks the equation against a from-scratch count of the ledger.

Lock order: the fold updates tally rows in sorted key order, so two folds touching the same
contestants wait for each other instead of deadlocking. The request path only inserts
events and never touches a tally row: there is no hot per-contestant row in a vote.

Test-only fault hook: when ``VOTING_TALLY_FAULT_SLEEP`` (seconds, default 0, read at call
time) is positive, a fold sleeps that long after claiming and applying its batch and before
committing, so a test can SIGKILL the worker mid-batch. Never set it in
production.
"""

import logging
import time
from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction

from campaigns.clock import db_now
from campaigns.models import Stage
from voting.models import Tally, TallyEvent

logger = logging.getLogger(__name__)

TallyKey = tuple[int, int, str]  # (stage_id, contestant_id, channel)


def _upsert_sql(rows: int) -> str:
    table = connection.ops.quote_name(Tally._meta.db_table)
    now = "now()" if connection.vendor == "postgresql" else "%s"
    values = ", ".join([f"(%s, %s, %s, %s, %s, {now})"] * rows)
    # An increment, not an overwrite: bulk_create(update_conflicts=True) would set votes to
    # the batch's delta and lose every earlier vote. Same statement on PostgreSQL and
    # SQLite (>= 3.24).
    return (
        f"INSERT INTO {table} (stage_id, contestant_id, channel, votes, served_votes, "  # noqa: S608
        f"updated_at) VALUES {values} ON CONFLICT (stage_id, contestant_id, channel) "
        f"DO UPDATE SET votes = {table}.votes + excluded.votes, "
        f"served_votes = {table}.served_votes + excluded.served_votes, "
        "updated_at = excluded.updated_at"
    )


def _apply_deltas(deltas: dict[TallyKey, list[int]]) -> None:
    """Add ``deltas`` (``[votes, served votes]`` per key) to the tallies in sorted key
    order (the fold's lock order)."""
    keys = sorted(key for key, delta in deltas.items() if delta != [0, 0])
    if not keys:
        return
    params: list[object] = []
    # SQLite has no now(); its database clock is the process clock (campaigns.clock).
    stamp = None if connection.vendor == "postgresql" else db_now()
    for key in keys:
        params.extend([*key, *deltas[key]])
        if stamp is not None:
            params.append(stamp)
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(len(keys)), params)


def fold_tally_events(*, batch_size: int = 5000) -> int:
    """Fold one batch of pending events into the tallies; return how many were folded.

    One transaction: claims up to ``batch_size`` events, oldest id first, with ``FOR
    UPDATE SKIP LOCKED`` (events another fold holds are skipped, not waited for), adds
    their deltas per (stage, contestant, channel) with an SQL increment, deletes them and
    commits. Locks: the claimed event rows, then the touched tally rows in key order.
    Safe to run in any number of processes at once; a crash before commit changes
    nothing. 0 means nothing was claimable (empty outbox, or all of it held by others).
    Honours the test-only ``VOTING_TALLY_FAULT_SLEEP`` (module docstring).
    """
    with transaction.atomic():
        claimed = list(
            TallyEvent.objects.select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", "stage_id", "contestant_id", "channel", "delta", "is_served")[
                :batch_size
            ]
        )
        if not claimed:
            return 0
        deltas: dict[TallyKey, list[int]] = defaultdict(lambda: [0, 0])
        for _pk, stage_id, contestant_id, channel, delta, is_served in claimed:
            key_deltas = deltas[(stage_id, contestant_id, channel)]
            key_deltas[0] += delta
            if is_served:
                key_deltas[1] += delta
        _apply_deltas(deltas)
        TallyEvent.objects.filter(pk__in=[row[0] for row in claimed]).delete()
        fault_sleep = float(getattr(settings, "VOTING_TALLY_FAULT_SLEEP", 0) or 0)
        if fault_sleep > 0:
            logger.warning("test-only fault hook: holding %s tally events", len(claimed))
            time.sleep(fault_sleep)
    return len(claimed)


def fold_pending_tallies(*, time_budget: float | None = None, batch_size: int | None = None) -> int:
    """Fold batches until the outbox has nothing claimable or the time budget is spent.

    ``time_budget`` (seconds) and ``batch_size`` default to ``VOTING_TALLY_TIME_BUDGET``
    and ``VOTING_TALLY_BATCH_SIZE``. Each batch is its own transaction
    (``fold_tally_events``). Returns the number of events folded.
    """
    budget = settings.VOTING_TALLY_TIME_BUDGET if time_budget is None else time_budget
    size = settings.VOTING_TALLY_BATCH_SIZE if batch_size is None else batch_size
    deadline = time.monotonic() + budget
    total = 0
    while True:
        folded = fold_tally_events(batch_size=size)
        total += folded
        if folded < size or time.monotonic() >= deadline:
            return total


def counted_votes(stage: Stage | int) -> dict[tuple[int, str], int]:
    """Counted valid votes of ``stage`` per (contestant_id, channel): tally + pending events.

    One SQL statement, hence one consistent view on PostgreSQL even while folds commit:
    it equals the valid votes in the ledger as of that statement (module docstring)
    without reading the ledger. Keys with 0 votes are left out.
    """
    stage_id = stage.pk if isinstance(stage, Stage) else int(stage)
    tally = connection.ops.quote_name(Tally._meta.db_table)
    events = connection.ops.quote_name(TallyEvent._meta.db_table)
    sql = (
        "SELECT contestant_id, channel, SUM(n) FROM ("  # noqa: S608 -- names from models
        f"SELECT contestant_id, channel, votes AS n FROM {tally} WHERE stage_id = %s "
        f"UNION ALL SELECT contestant_id, channel, delta AS n FROM {events} WHERE stage_id = %s"
        ") counted GROUP BY contestant_id, channel"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [stage_id, stage_id])
        rows = cursor.fetchall()
    return {(contestant_id, channel): int(n) for contestant_id, channel, n in rows if n}


def counted_votes_served(stage: Stage | int) -> dict[tuple[int, str], tuple[int, int]]:
    """``counted_votes`` with its served part: ``(votes, served votes)`` per (contestant_id,
    channel), tally + pending events, in one statement (one consistent view). Keys with
    no votes are left out."""
    stage_id = stage.pk if isinstance(stage, Stage) else int(stage)
    tally = connection.ops.quote_name(Tally._meta.db_table)
    events = connection.ops.quote_name(TallyEvent._meta.db_table)
    served_delta = "CASE WHEN is_served THEN delta ELSE 0 END"
    sql = (
        "SELECT contestant_id, channel, SUM(n), SUM(s) FROM ("  # noqa: S608 -- names from models
        f"SELECT contestant_id, channel, votes AS n, served_votes AS s FROM {tally} "
        f"WHERE stage_id = %s UNION ALL SELECT contestant_id, channel, delta, {served_delta} "
        f"FROM {events} WHERE stage_id = %s"
        ") counted GROUP BY contestant_id, channel"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [stage_id, stage_id])
        rows = cursor.fetchall()
    return {
        (contestant_id, channel): (int(n), int(served))
        for contestant_id, channel, n, served in rows
        if n
    }


def counted_votes_by_contestant(stage: Stage | int, *, channel: str) -> dict[int, int]:
    """Counted valid votes per contestant of ``stage`` on one channel (one query)."""
    return {
        contestant_id: n
        for (contestant_id, key_channel), n in counted_votes(stage).items()
        if key_channel == channel
    }
