"""Demo votes: a live-looking vote ledger for the demo campaign's first stage.

``manage.py seed_demo`` sends ``campaigns.signals.demo_campaign_seeded`` after the demo
campaign exists; ``voting.receivers`` answers it by calling ``seed_demo_votes`` for stage 1.
The votes give the public leaderboard, the results preview, the stage dashboard and the
fraud review something to show. They are generated, not cast: casting a million votes one
by one through ``cast_vote`` would take an hour, so the seed writes the same rows the vote
path writes, in bulk, and keeps every invariant the vote path keeps.

How the votes are generated (one ``random.Random`` with a fixed seed, so the same inputs
give the same ledger; only the times move with the clock):

* **Voters.** Fake mainland mobile numbers: voter *i* gets one of the demo prefixes
  (``staff.demo.PHONE_PREFIXES``) and eight digits through an affine bijection on
  0..10^8-1, so numbers never repeat. Each is hashed and masked like a real voter's
  (``staff.phones.hash_phone`` / ``mask_phone``); the number itself is never stored.
  A number whose hash is a staff member's, or a voter's who already voted in the stage
  (real votes, or an earlier demo batch), is skipped: staff may not vote, and a voter's
  limits must hold across batches.
* **Votes per voter.** One, then another with probability 0.3 each time: about 1.43 votes
  per voter, so a million votes come from about 700,000 voters. Capped by the number of
  days of the window and by the stage's ``votes_per_stage``.
* **Limits by construction.** A voter's votes fall on different local days and go to
  different candidates, so any ``votes_per_day`` and ``votes_per_candidate`` of 1 or more
  (or 0, unlimited) holds; ``tests/voting/test_demo.py`` checks it with GROUP BYs.
* **Candidates.** A Zipf-like long tail over the stage's candidates in a seeded random
  order: the weight of rank *r* is ``1 / (r + 5) ** 1.1``, so with 7,000 candidates the
  top 100 take about half the votes, the top 300 two thirds, and the rest share a long
  thin tail.
* **Channels.** Only the channels the stage's rules weight (a stage takes no other
  votes): where web and SMS both count, a voter uses one channel, SMS for 80 %, the web
  page for 20 %; where only SMS counts (the demo's stage 1), every vote is an SMS. Web votes
  carry the keyed hashes of an IP address (a pool of carrier addresses, one per ten votes
  and at most 20,000), its /24 network and a browser (a pool of cheap-phone user agents);
  SMS votes carry none.
* **Times.** The last ``DEMO_DAYS`` days up to now, never before the stage opened: whole
  clock hours weighted by an Asia/Shanghai day (quiet nights, peaks late morning and
  evening), busier weekends and a campaign that gains momentum; a uniform second inside
  the hour. ``local_day`` is the Asia/Shanghai date of ``cast_at``. Rows are inserted in
  ``cast_at`` order, so ids grow with time as in a real ledger.
* **Fraud to review.** About 0.5 % of the votes are stored invalidated with the reason
  "demo: duplicate SIM farm" (one ``voting.vote.invalidated`` audit event records them);
  and one suspicious cluster is planted in the first batch: ``CLUSTER_VOTES`` votes for
  one mid-table candidate, within six minutes in the small hours, from fresh voters — web
  votes from one IP address and browser where web votes count (the fraud review's "same
  IP" and "same subnet" patterns find them), else SMS votes from consecutive numbers (the
  "sequence" pattern finds them, in blocks of ten).
* **Receipt codes.** ``DEM0`` (the canonical form of "DEMO": the receipt alphabet folds O
  to 0, so a person typing ``DEMO…`` finds the vote) and a six-character base-32 counter:
  unique, in the receipt alphabet, and the mark of a demo vote. A random real receipt
  starts with ``DEM0`` once in about a million votes; the idempotency check would count
  it as a demo vote, which is harmless. The tally step picks the run's own votes by id
  and by the run's contiguous range of codes, so it never counts such a vote.

Writing: one transaction inserts the votes (``COPY`` on PostgreSQL, ``executemany`` in
batches on SQLite), adds one GROUP BY of the inserted valid votes to the tallies, inserts
the voters (their rows are the per-voter locks of the vote path) and records the audit
event. No tally events are written: the tally invariant of ``voting.counting.tallies`` is
"valid votes in the ledger == tally + pending events" in every consistent view, and since
the new votes and their tally increments commit together, no view ever sees one without
the other — exactly what a cast vote plus its folded event would give. After the commit
the first leaderboard snapshot is published (``voting.counting.publication``) and the stage is
recounted (``voting.counting.recount``), which proves the equation.

Idempotent: a stage that already holds at least the asked number of demo votes is left
alone; one that holds fewer gets the missing ones, from fresh voters.
"""

import datetime as dt
import io
import itertools
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from campaigns.choices import ContestantStatus, StageStatus
from campaigns.clock import db_now
from campaigns.models import Contestant, Stage
from staff.models import StaffMember
from staff.services import record_audit_event
from voting.choices import AuditAction, VoteStatus
from voting.counting.publication import publish_stage_leaderboard
from voting.counting.recount import RecountReport, recount_stage
from voting.demo.generation import (
    BATCH_SIZE,
    DEMO_DAYS,
    INVALID_REASON,
    RECEIPT_PREFIX,
    VOTE_COLUMNS,
    VOTER_BATCH_SIZE,
    Generated,
    Progress,
    demo_receipt_code,
    generate_votes,
    receipt_codes,
    receipt_index,
    text_stamp,
)
from voting.models import Tally, Vote, Voter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoVotesSummary:
    """What ``seed_demo_votes`` found and did. ``created`` is 0 when nothing was needed
    (``existing`` already reached ``requested``) or possible (``skipped`` says why)."""

    stage_id: int
    requested: int
    existing: int
    created: int
    voters: int = 0
    invalidated: int = 0
    cluster_votes: int = 0
    seconds: float = 0.0
    skipped: str = ""
    snapshot_id: int | None = None
    recount: RecountReport | None = None

    @property
    def total(self) -> int:
        """Demo votes in the stage after the run."""
        return self.existing + self.created

    def __str__(self) -> str:
        """One line for the operator (``seed_demo`` prints it)."""
        if self.skipped:
            return _("Demo votes: none added (%(reason)s).") % {"reason": self.skipped}
        if not self.created:
            return _("Demo votes: %(total)d already there, nothing to add.") % {"total": self.total}
        if self.recount is None:
            recount = _("no recount")
        elif self.recount.ok:
            recount = _("recount OK (ledger = tallies, %(valid)d valid votes)") % {
                "valid": self.recount.valid_votes
            }
        else:
            recount = _("recount found %(n)d differences") % {"n": len(self.recount.differences)}
        return _(
            "Demo votes: %(created)d new (%(total)d in the stage) from %(voters)d voters, "
            "%(invalidated)d invalidated, %(cluster)d in a planted suspicious cluster; "
            "leaderboard published; %(recount)s; %(seconds).1f s."
        ) % {
            "created": self.created,
            "total": self.total,
            "voters": self.voters,
            "invalidated": self.invalidated,
            "cluster": self.cluster_votes,
            "recount": recount,
            "seconds": self.seconds,
        }


def demo_votes_in_stage(stage: Stage | int) -> int:
    """How many demo votes (receipt code ``DEM0…``) ``stage`` holds."""
    return Vote.objects.filter(stage=stage, receipt_code__startswith=RECEIPT_PREFIX).count()


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _insert_votes_sqlite(rows: Iterable[tuple], *, total: int, progress: Progress) -> None:
    table = _quote(Vote._meta.db_table)
    columns = ", ".join(_quote(c) for c in VOTE_COLUMNS)
    marks = ", ".join(["%s"] * len(VOTE_COLUMNS))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 -- names from models
    label = _("Demo votes: writing")
    done = 0
    iterator = iter(rows)
    with connection.cursor() as cursor:
        while batch := list(itertools.islice(iterator, BATCH_SIZE)):
            cursor.executemany(sql, batch)
            done += len(batch)
            progress(label, done, total)


def _copy_text(value: object) -> str:
    # Generated values hold no tab, newline or backslash; None is COPY's NULL.
    return "\\N" if value is None else str(value)


def _insert_votes_postgresql(rows: Iterable[tuple], *, total: int, progress: Progress) -> None:
    table = _quote(Vote._meta.db_table)
    columns = ", ".join(_quote(c) for c in VOTE_COLUMNS)
    sql = f"COPY {table} ({columns}) FROM STDIN"
    label = _("Demo votes: writing")
    done = 0
    iterator = iter(rows)
    chunk = BATCH_SIZE * 20
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg2's own cursor: COPY is not part of the DB-API
        while batch := list(itertools.islice(iterator, chunk)):
            buffer = io.StringIO("".join("\t".join(map(_copy_text, row)) + "\n" for row in batch))
            raw.copy_expert(sql, buffer)
            done += len(batch)
            progress(label, done, total)


def _insert_voters(voters: dict[str, str], *, postgres: bool) -> None:
    """Insert the voters (hash, first vote time) that are missing, in hash order.

    ``ON CONFLICT DO NOTHING``: a real voter may already have a row. On PostgreSQL the rows
    are copied into a temporary table first (``COPY`` cannot skip conflicts itself).
    """
    table = _quote(Voter._meta.db_table)
    ordered = sorted(voters.items())
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute(
                "CREATE TEMPORARY TABLE demo_voter (voter_hash varchar(64), created_at "
                "timestamptz) ON COMMIT DROP"
            )
            buffer = io.StringIO("".join(f"{h}\t{first}+00\n" for h, first in ordered))
            cursor.cursor.copy_expert("COPY demo_voter (voter_hash, created_at) FROM STDIN", buffer)
            cursor.execute(
                f"INSERT INTO {table} (voter_hash, created_at) "  # noqa: S608 -- names from models
                "SELECT voter_hash, created_at FROM demo_voter ORDER BY voter_hash "
                "ON CONFLICT (voter_hash) DO NOTHING"
            )
            # Dropped now: inside an outer transaction (tests) ON COMMIT comes too late.
            cursor.execute("DROP TABLE demo_voter")
            return
        for start in range(0, len(ordered), VOTER_BATCH_SIZE):
            batch = ordered[start : start + VOTER_BATCH_SIZE]
            values = ", ".join(["(%s, %s)"] * len(batch))
            params: list[str] = []
            for voter_hash, first in batch:
                params += [voter_hash, first]
            cursor.execute(
                f"INSERT INTO {table} (voter_hash, created_at) VALUES {values} "  # noqa: S608
                "ON CONFLICT (voter_hash) DO NOTHING",
                params,
            )


def _add_tallies(stage: Stage, *, after_id: int, codes: tuple[str, str], now: dt.datetime) -> None:
    """Add the inserted valid votes to the tallies: one INSERT … SELECT … GROUP BY with an
    increment. They are exactly the votes of ``stage`` with an id above ``after_id`` (the
    largest id before the insert: the index narrows the scan) and a receipt code between
    ``codes`` in byte order (the run's codes are contiguous, so nothing else is there)."""
    tally = _quote(Tally._meta.db_table)
    vote = _quote(Vote._meta.db_table)
    postgres = connection.vendor == "postgresql"
    stamp = "now()" if postgres else "%s"
    # Byte order whatever the database's collation (SQLite compares bytes already).
    collate = ' COLLATE "C"' if postgres else ""
    sql = (
        f"INSERT INTO {tally} (stage_id, contestant_id, channel, votes, updated_at) "  # noqa: S608
        f"SELECT stage_id, contestant_id, channel, COUNT(*), {stamp} FROM {vote} "
        f"WHERE stage_id = %s AND status = %s AND id > %s AND receipt_code{collate} "
        "BETWEEN %s AND %s "
        "GROUP BY stage_id, contestant_id, channel "
        "ON CONFLICT (stage_id, contestant_id, channel) DO UPDATE "
        f"SET votes = {tally}.votes + excluded.votes, updated_at = excluded.updated_at"
    )
    params: list[object] = [] if postgres else [text_stamp(now)]
    params += [stage.pk, VoteStatus.VALID, after_id, *codes]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _window(stage: Stage, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = now - dt.timedelta(days=DEMO_DAYS)
    if stage.opens_at is not None and stage.opens_at > start:
        start = stage.opens_at
    end = now if stage.closes_at is None else min(now, stage.closes_at)
    return start, end


def _ledger_rows(
    stage: Stage, generated: Generated, *, first_index: int, now: dt.datetime
) -> Iterator[tuple]:
    """The generated votes as rows of ``VOTE_COLUMNS``, with their receipt codes."""
    suffix = "+00" if connection.vendor == "postgresql" else ""
    invalidated_at = text_stamp(now)
    valid, invalid = VoteStatus.VALID.value, VoteStatus.INVALIDATED.value
    codes = receipt_codes(first_index, len(generated.rows))
    for row, code in zip(generated.rows, codes, strict=True):
        cast_at, contestant, voter, masked, channel, ip, subnet, agent, day, bad = row
        yield (
            stage.pk, contestant, voter, masked, channel, ip, subnet, agent,
            cast_at + suffix, day, invalid if bad else valid,
            INVALID_REASON if bad else "", invalidated_at + suffix if bad else None, code,
        )  # fmt: skip


def _audit_invalidated(stage: Stage, *, after_id: int, codes: tuple[str, str]) -> list[int]:
    """Record one audit event for the demo votes written invalidated; return their ids."""
    invalid_ids = [
        pk
        for pk, code in Vote.objects.filter(
            stage=stage, status=VoteStatus.INVALIDATED, pk__gt=after_id
        )
        .order_by("pk")
        .values_list("pk", "receipt_code")
        if codes[0] <= code <= codes[1]
    ]
    if invalid_ids:
        record_audit_event(
            stage,
            actor=None,
            action=AuditAction.VOTES_INVALIDATED,
            reason=INVALID_REASON,
            data={"vote_ids": invalid_ids, "count": len(invalid_ids), "demo": True},
            campaign_id=stage.campaign_id,
        )
    return invalid_ids


def _write_votes(
    stage: Stage, generated: Generated, *, now: dt.datetime, report: Progress
) -> tuple[int, list[int]]:
    """In one transaction: the votes, their tallies, their voters and the audit event of the
    invalidated ones; ``(votes written, ids of the invalidated ones)``."""
    last_code = Vote.objects.filter(receipt_code__startswith=RECEIPT_PREFIX).aggregate(
        last=Max("receipt_code")
    )["last"]
    first_index = receipt_index(last_code) + 1 if last_code else 0
    total = len(generated.rows)
    codes = (demo_receipt_code(first_index), demo_receipt_code(first_index + total - 1))
    rows = _ledger_rows(stage, generated, first_index=first_index, now=now)
    postgres = connection.vendor == "postgresql"
    with transaction.atomic():
        after_id = Vote.objects.aggregate(last=Max("pk"))["last"] or 0
        if postgres:
            _insert_votes_postgresql(rows, total=total, progress=report)
        else:
            with connection.cursor() as cursor:
                # A larger page cache for this connection: the voter indexes take random
                # inserts. 256 MB at most, released when the connection closes.
                cursor.execute("PRAGMA cache_size = -262144")
            _insert_votes_sqlite(rows, total=total, progress=report)
        finishing = _("Demo votes: tallies, voters, board, recount")
        report(finishing, 0, 4)
        _add_tallies(stage, after_id=after_id, codes=codes, now=now)
        report(finishing, 1, 4)
        _insert_voters(generated.voters, postgres=postgres)
        invalid_ids = _audit_invalidated(stage, after_id=after_id, codes=codes)
    return total, invalid_ids


def seed_demo_votes(
    stage: Stage, *, votes: int, progress: Progress | None = None
) -> DemoVotesSummary:
    """Give ``stage`` ``votes`` demo votes in all (module docstring); return a summary.

    Does nothing when the stage already holds that many demo votes, and adds none to a
    stage that is not open, has no candidates in the running, or whose window has no
    whole hour yet (``skipped`` says which). Otherwise, in one transaction: inserts the
    missing votes, adds them to the tallies, inserts their voters and records one
    ``voting.vote.invalidated`` audit event for the invalidated ones; then, after the
    commit, publishes a leaderboard snapshot and recounts the stage (a ``RecountCheck``).
    ``progress(label, done, total)`` is called as votes are generated and written and
    after each finishing step, with a translated label per phase. Raises ``ValueError`` for a negative ``votes``.
    """
    if votes < 0:
        raise ValueError("votes must not be negative")
    report = progress or (lambda _label, _done, _total: None)
    started = time.monotonic()
    existing = demo_votes_in_stage(stage)
    base = {"stage_id": stage.pk, "requested": votes, "existing": existing, "created": 0}
    if existing >= votes:
        return DemoVotesSummary(**base)
    if stage.status != StageStatus.OPEN:
        return DemoVotesSummary(**base, skipped=_("the stage is not open"))
    contestant_ids = list(
        Contestant.objects.filter(stage=stage, status=ContestantStatus.IN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not contestant_ids:
        return DemoVotesSummary(**base, skipped=_("the stage has no candidates"))
    now = db_now()
    start, end = _window(stage, now)
    excluded = set(StaffMember.objects.values_list("phone_hash", flat=True))
    if Vote.objects.filter(stage=stage).exists():
        excluded.update(
            Vote.objects.filter(stage=stage).values_list("voter_hash", flat=True).distinct()
        )
    generated = generate_votes(
        stage,
        count=votes - existing,
        contestant_ids=contestant_ids,
        start=start,
        end=end,
        excluded=excluded,
        voter_offset=2 * existing,
        plant_cluster=existing == 0,
        progress=report,
    )
    if not generated.rows:
        return DemoVotesSummary(**base, skipped=_("the voting window has no whole hour yet"))
    generated.rows.sort(key=lambda row: row[0])
    total, invalid_ids = _write_votes(stage, generated, now=now, report=report)
    finishing = _("Demo votes: tallies, voters, board, recount")
    report(finishing, 2, 4)
    snapshot = publish_stage_leaderboard(stage)
    report(finishing, 3, 4)
    recount = recount_stage(stage)
    report(finishing, 4, 4)
    if not recount.ok:
        logger.error("demo votes of stage %s: recount found differences", stage.pk)
    return DemoVotesSummary(
        **{**base, "created": total},
        voters=len(generated.voters),
        invalidated=len(invalid_ids),
        cluster_votes=generated.cluster_votes,
        seconds=time.monotonic() - started,
        snapshot_id=snapshot.pk if snapshot is not None else None,
        recount=recount,
    )
