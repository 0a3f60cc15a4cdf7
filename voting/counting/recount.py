"""Recount: check the tallies and the published boards against the vote ledger.

A recount of a stage makes three checks and stores the result as a ``RecountCheck``:

1. **Ledger = tally + pending.** One SQL statement (hence one consistent MVCC view on
   PostgreSQL, even while votes and folds commit) counts the valid votes of the stage per
   contestant and channel from scratch (a GROUP BY on the ``vote_recount`` index), with
   the served customers' part, and reads the tallies and the pending outbox events beside
   it (their served parts too: ``served_votes``, ``is_served``). The tally invariant of
   ``voting.counting.tallies`` says they are equal for every key; any key where they are not is a
   difference. Pending events are taken into account rather than folded first, so a
   recount writes nothing to the counting path and never waits for a fold.
2. **The digest chain.** Every snapshot's digest is recomputed from its stored counts and
   its predecessor's digest, and each must link to the one before: an edited, inserted or
   removed snapshot breaks it.
3. **The latest snapshot against the ledger.** When the counted state has not moved since
   the latest snapshot (tally + pending equals its counts — always the case for a closed
   stage whose final board is out), its digest is recomputed from the ledger's GROUP BY:
   a changed already-counted vote gives another digest. While votes are still coming in
   the snapshot is simply behind, which is not a difference (``snapshot_current`` is
   false); check 1 catches a changed vote then.

Repair (``repair=True``) rewrites the stage's tallies to ``ledger - pending`` so that the
invariant holds again, under ``LOCK TABLE voting_tally IN SHARE ROW EXCLUSIVE MODE`` on
PostgreSQL: folds of every stage pause for the few seconds it takes (votes do not: they
only insert outbox events), so no fold can commit between the count and the rewrite.
The audit event ``voting.tally.repaired`` records every changed key before and after.
"""

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import connection, transaction

from campaigns.choices import StageStatus
from campaigns.models import Stage
from staff.audit import clean_reason
from staff.services import Actor, record_audit_event
from voting.choices import AuditAction, VoteStatus
from voting.counting.leaderboards import latest_snapshot
from voting.counting.publication import canonical_counts, chain_digest
from voting.models import LeaderboardSnapshot, RecountCheck, Tally, TallyEvent, Vote

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]
# Stages that may have votes: everything from open on.
RECOUNTED_STATUSES = (
    StageStatus.OPEN,
    StageStatus.CLOSED,
    StageStatus.PREVIEWED,
    StageStatus.FINALIZED,
)


@dataclass(frozen=True)
class RecountReport:
    """What a recount found. ``differences`` are JSON-able dicts with a ``kind``:
    ``tally`` (contestant_id, channel, ledger, tally, pending), ``served`` (the same for
    served customers' votes), ``chain`` (snapshot_id,
    problem) or ``snapshot`` (snapshot_id, stored digest, digest of the ledger)."""

    stage_id: int
    ok: bool
    valid_votes: int
    snapshot_current: bool | None
    repaired: bool
    duration: dt.timedelta
    check_id: int
    differences: tuple[dict[str, Any], ...] = field(default=())


def _q(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


class KeyState(NamedTuple):
    """One (contestant, channel) of a stage: valid votes in the ledger, the tally, the
    pending events, and the same three counts for served customers' votes only."""

    ledger: int
    tally: int
    pending: int
    served_ledger: int = 0
    served_tally: int = 0
    served_pending: int = 0


def count_state(stage_id: int) -> dict[tuple[int, str], KeyState]:
    """``{(contestant_id, channel): KeyState}`` for a stage, in one statement."""
    # S608: table names come from the models; every value is a parameter.
    served_delta = "CASE WHEN is_served THEN delta ELSE 0 END"
    served_vote = "CASE WHEN is_served THEN 1 ELSE 0 END"
    sql = (
        "SELECT contestant_id, channel, SUM(l), SUM(t), SUM(p), SUM(sl), SUM(st), SUM(sp) "  # noqa: S608
        f"FROM (SELECT contestant_id, channel, COUNT(*) AS l, 0 AS t, 0 AS p, "
        f"SUM({served_vote}) AS sl, 0 AS st, 0 AS sp FROM {_q(Vote)} "
        "WHERE stage_id = %s AND status = %s GROUP BY contestant_id, channel "
        f"UNION ALL SELECT contestant_id, channel, 0, votes, 0, 0, served_votes, 0 "
        f"FROM {_q(Tally)} WHERE stage_id = %s "
        f"UNION ALL SELECT contestant_id, channel, 0, 0, delta, 0, 0, {served_delta} "
        f"FROM {_q(TallyEvent)} WHERE stage_id = %s"
        ") state GROUP BY contestant_id, channel"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [stage_id, VoteStatus.VALID, stage_id, stage_id])
        rows = cursor.fetchall()
    return {(cid, channel): KeyState(*(int(n) for n in counts)) for cid, channel, *counts in rows}


def _state_differences(state: dict[tuple[int, str], KeyState]) -> list[dict[str, Any]]:
    """The keys where tally + pending is not the ledger: ``tally`` for all valid votes,
    ``served`` for the served customers' part."""
    differences: list[dict[str, Any]] = []
    for (cid, channel), key in sorted(state.items()):
        if key.ledger != key.tally + key.pending:
            differences.append(
                {"kind": "tally", "contestant_id": cid, "channel": channel,
                 "ledger": key.ledger, "tally": key.tally, "pending": key.pending}
            )  # fmt: skip
        if key.served_ledger != key.served_tally + key.served_pending:
            differences.append(
                {"kind": "served", "contestant_id": cid, "channel": channel,
                 "ledger": key.served_ledger, "tally": key.served_tally,
                 "pending": key.served_pending}
            )  # fmt: skip
    return differences


def verify_chain(stage_id: int) -> list[dict[str, Any]]:
    """Recompute every snapshot digest of a stage in chain order; return the breaks."""
    problems: list[dict[str, Any]] = []
    previous_id, previous_digest = None, ""
    snapshots = (
        LeaderboardSnapshot.objects.filter(stage_id=stage_id)
        .order_by("pk")
        .values_list("pk", "previous_id", "digest", "counts")
    )
    for pk, linked_id, digest, counts in snapshots.iterator(chunk_size=200):
        if linked_id != previous_id:
            problems.append({"kind": "chain", "snapshot_id": pk, "problem": "link"})
        expected = chain_digest(stage_id=stage_id, previous_digest=previous_digest, counts=counts)
        if expected != digest:
            problems.append({"kind": "chain", "snapshot_id": pk, "problem": "digest"})
        previous_id, previous_digest = pk, digest
    return problems


def _repair(
    stage: Stage,
    state: dict[tuple[int, str], KeyState],
    *,
    actor: Actor,
    reason: str = "",
) -> None:
    """Set each tally of ``state`` (votes and served votes) to ledger - pending; audit the
    changed keys."""
    changes = []
    for (cid, channel), key in sorted(state.items()):
        after = key.ledger - key.pending
        served_after = key.served_ledger - key.served_pending
        if (after, served_after) != (key.tally, key.served_tally):
            changes.append(
                {"contestant_id": cid, "channel": channel, "before": key.tally,
                 "after": after, "served_before": key.served_tally,
                 "served_after": served_after}
            )  # fmt: skip
    if not changes:
        return
    now = "now()" if connection.vendor == "postgresql" else "CURRENT_TIMESTAMP"
    values = ", ".join([f"(%s, %s, %s, %s, %s, {now})"] * len(changes))
    params: list[object] = []
    for change in changes:
        params += [
            stage.pk,
            change["contestant_id"],
            change["channel"],
            change["after"],
            change["served_after"],
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_q(Tally)} (stage_id, contestant_id, channel, votes, served_votes, "  # noqa: S608
            f"updated_at) VALUES {values} ON CONFLICT (stage_id, contestant_id, channel) "
            "DO UPDATE SET votes = excluded.votes, served_votes = excluded.served_votes, "
            "updated_at = excluded.updated_at",
            params,
        )
    record_audit_event(
        stage,
        actor=actor,
        action=AuditAction.TALLY_REPAIRED,
        reason=reason,
        data={"changes": changes},
        campaign_id=stage.campaign_id,
    )


def _check_latest_snapshot(
    stage: Stage, state: dict[tuple[int, str], KeyState]
) -> tuple[bool | None, list[dict[str, Any]]]:
    """Whether the latest snapshot shows the counted state (``None``: no snapshot), and a
    difference if it does but its digest is not the ledger's (module docstring)."""
    latest = latest_snapshot(stage)
    if latest is None:
        return None, []
    counted = canonical_counts({key: n.tally + n.pending for key, n in state.items()})
    if latest.counts != counted:
        return False, []
    ledger_digest = chain_digest(
        stage_id=stage.pk,
        previous_digest=latest.previous.digest if latest.previous_id else "",
        counts=canonical_counts({key: n.ledger for key, n in state.items()}),
    )
    if ledger_digest == latest.digest:
        return True, []
    return True, [
        {"kind": "snapshot", "snapshot_id": latest.pk,
         "stored": latest.digest, "ledger": ledger_digest}
    ]  # fmt: skip


def recount_stage(
    stage: Stage,
    *,
    repair: bool = False,
    actor: Actor = None,
    reason: str = "",
    progress: Progress | None = None,
) -> RecountReport:
    """Recount ``stage`` (module docstring), store a ``RecountCheck`` and return the report.

    Read-only on the counting path unless ``repair``: then, in one transaction, tallies
    are rewritten to match the ledger and ``voting.tally.repaired`` is audited (with
    ``actor`` and ``reason``); the report still lists what was found before the repair.
    A repair needs a reason: ``ReasonError`` (``reason_required`` /
    ``reason_too_long``, ``staff.audit.clean_reason``) before anything is read. ``progress`` is called with the name of each finished
    step (``count``, ``chain``, ``store``). Takes no locks without ``repair`` (see the
    module docstring for the lock it takes with).
    """
    if repair:
        reason = clean_reason(reason)
    started = time.monotonic()
    with transaction.atomic():
        if repair and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {_q(Tally)} IN SHARE ROW EXCLUSIVE MODE")
        state = count_state(stage.pk)
        if repair:
            _repair(stage, state, actor=actor, reason=reason)
    if progress:
        progress("count")
    differences = _state_differences(state)
    differences += verify_chain(stage.pk)
    snapshot_current, snapshot_differences = _check_latest_snapshot(stage, state)
    differences += snapshot_differences
    if progress:
        progress("chain")
    duration = dt.timedelta(seconds=time.monotonic() - started)
    valid_votes = sum(key.ledger for key in state.values())
    check = RecountCheck.objects.create(
        stage=stage,
        ok=not differences,
        repaired=repair and any(d["kind"] in {"tally", "served"} for d in differences),
        valid_votes=valid_votes,
        differences=differences,
        duration=duration,
    )
    if progress:
        progress("store")
    if differences:
        logger.error("recount of stage %s: %s differences", stage.pk, len(differences))
    return RecountReport(
        stage_id=stage.pk,
        ok=check.ok,
        valid_votes=valid_votes,
        snapshot_current=snapshot_current,
        repaired=check.repaired,
        duration=duration,
        check_id=check.pk,
        differences=tuple(differences),
    )


def recount_stages(
    *, stage_id: int | None = None, progress: Progress | None = None
) -> list[RecountReport]:
    """Recount one stage, or every stage from open on (the nightly beat run); never repairs.

    Raises ``Stage.DoesNotExist`` for an unknown ``stage_id``.
    """
    stages = (
        [Stage.objects.get(pk=stage_id)]
        if stage_id is not None
        else list(Stage.objects.filter(status__in=RECOUNTED_STATUSES).order_by("pk"))
    )
    return [recount_stage(stage, progress=progress) for stage in stages]


def last_recount_for_stage(stage: Stage | int) -> RecountCheck | None:
    """The stage's most recent ``RecountCheck`` (for the admin), or ``None``."""
    return RecountCheck.objects.filter(stage=stage).order_by("-id").first()
