"""Benchmark: tally freshness at 500 votes/s, and a full recount of 10 million votes.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/service_star_bench \\
      .venv/bin/python bench/tally.py [--rate 500] [--seconds 30] [--votes 10000000]

PostgreSQL only. Creates the database if it is missing and migrates it, then, in one run:

1. **Freshness**. A real
   ``celery worker -B`` subprocess (the beat schedule of ``config.settings``: fold every
   1 s, publish every ``VOTING_PUBLISH_INTERVAL`` s, tried at 2 and 1) over a Redis server
   the benchmark starts itself on a spare port (``BENCH_REDIS_PORT``, default 6391).
   Client threads commit votes at a paced total rate, by default the way ``cast_vote``
   commits them for the counting path — the ledger row and its +1 tally event in one
   transaction, without the voter lock and limit checks (``--via cast_vote`` goes through
   the service itself; on 2 cores the Python client then tops out near 150 votes/s, and
   ingest is ``bench/vote_ingest.py``'s subject) — and record each vote's commit time.
   The lag of a vote is
   ``published_at`` of the first snapshot whose counted total reaches the vote's commit
   rank, minus its commit time: the time until a board containing it was published
   (snapshots count every vote committed before their read, so the first N committed
   votes are in any snapshot with ``valid_votes >= N``).
2. **Recount** (target: 10 million votes under 10 s). Bulk-loads the votes into a
   throwaway stage with one ``INSERT … SELECT … FROM generate_series`` (tallies set to
   match), ``VACUUM ANALYZE``, then times ``recount_stage`` (one GROUP BY over the
   ``vote_recount`` index, tallies and outbox beside it, digest chain, stored check). The
   ceilings, in the same run: a bare ``SELECT count(*)`` of the stage's votes, and the bare
   GROUP BY alone.

Prints one markdown table and deletes every row it made (the 10 million votes included).
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import ensure_database  # noqa: E402 -- after the path set-up

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/service_star_bench")

BROKER = Path(tempfile.mkdtemp(prefix="bench-tally-"))
# A Redis server of the benchmark's own (broker and cache, as in production), on a spare
# port, never the machine's shared one. The filesystem broker of the embedded default can
# read a message file while beat is still writing it, which kills the consumer under load.
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "6391"))
os.environ["REDIS_URL"] = f"redis://127.0.0.1:{REDIS_PORT}/0"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def make_stage(tag: str, contestants: int):
    import datetime as dt

    from django.utils import timezone

    from campaigns.choices import StageKind, StageStatus
    from campaigns.models import Campaign, Contestant, Stage
    from staff.models import OrgUnit, Position, StaffMember

    campaign = Campaign.objects.create(
        name=f"bench {tag}", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31)
    )
    now = timezone.now()
    stage = Stage.objects.create(
        campaign=campaign,
        order=1,
        name=f"bench {tag}",
        kind=StageKind.CUSTOMER_VOTE,
        status=StageStatus.OPEN,
        quota=1,
        weights={"web_votes": "1"},
        opens_at=now - dt.timedelta(hours=1),
        closes_at=now + dt.timedelta(days=1),
        opened_at=now,
    )
    unit, _ = OrgUnit.objects.get_or_create(
        code="BENCHTALLY", defaults={"name": "bench", "kind": "company", "path": "BENCHTALLY/"}
    )
    position, _ = Position.objects.get_or_create(code="benchtally", defaults={"name": "bench"})
    members = [
        StaffMember.objects.create(
            employee_no=f"97{ord(tag)}{i:04d}",
            vote_code=f"97{ord(tag)}{i:04d}",
            name=f"bench {i}",
            unit=unit,
            position=position,
            phone_hash=f"bench-tally-{tag}-{i}",
            phone_masked="100****0000",
        )
        for i in range(contestants)
    ]
    return stage, [Contestant.objects.create(stage=stage, staff_member=m) for m in members]


def drop_stage(stage) -> None:
    from django.db import connection, transaction

    from campaigns.models import Campaign, Contestant
    from staff.models import StaffMember
    from voting.models import LeaderboardSnapshot, RecountCheck, Tally, TallyEvent

    member_ids = list(Contestant.objects.filter(stage=stage).values_list("staff_member", flat=True))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM voting_tallyevent WHERE stage_id = %s", [stage.pk])
        # Nothing else references these bench votes; without this, every deleted row runs
        # foreign-key checks against the (unindexed) outbox: hours for 10 million rows.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM voting_vote WHERE stage_id = %s", [stage.pk])
    TallyEvent.objects.filter(stage=stage).delete()
    Tally.objects.filter(stage=stage).delete()
    RecountCheck.objects.filter(stage=stage).delete()
    # Newest first: each snapshot protects its predecessor.
    for snapshot in LeaderboardSnapshot.objects.filter(stage=stage).order_by("-id"):
        snapshot.delete()
    campaign_id = stage.campaign_id
    stage.delete()
    Campaign.objects.filter(pk=campaign_id).delete()
    StaffMember.objects.filter(pk__in=member_ids).delete()


def insert_counted_vote(stage_id: int, contestant_id: int, key: str) -> None:
    """What ``cast_vote`` commits for the counting path: the ledger row and its +1 event,
    in one transaction (without the voter lock, limit checks and wake-up)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO voting_vote (stage_id, contestant_id, voter_hash, phone_masked, "
            "channel, ip_hash, user_agent_hash, cast_at, local_day, status, "
            "invalidated_reason, receipt_code) VALUES (%s, %s, %s, '100****0000', 'web', "
            "'', '', now(), current_date, 'valid', '', %s) RETURNING id",
            [stage_id, contestant_id, f"bench-{key}", f"U{key.replace('-', 'X'):>9}"[:10]],
        )
        (vote_id,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO voting_tallyevent (vote_id, stage_id, contestant_id, channel, delta, "
            "created_at) VALUES (%s, %s, %s, 'web', 1, now())",
            [vote_id, stage_id, contestant_id],
        )


def freshness(
    rate: int, seconds: int, threads: int, *, via: str, interval: int
) -> dict[str, float]:
    from django.db import connections

    from voting.ledger.services import cast_vote
    from voting.models import LeaderboardSnapshot

    stage, contestants = make_stage("f", 20)
    log = BROKER / "worker.log"
    worker = subprocess.Popen(
        [str(Path(sys.executable).with_name("celery")), "-A", "config", "worker", "-B",
         "--pool", "solo", "--loglevel", "WARNING", "--schedule", str(BROKER / "beat"),
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env={**os.environ, "VOTING_PUBLISH_INTERVAL": str(interval)},
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    commits: list[float] = []
    lock = threading.Lock()
    total = rate * seconds
    per_thread = total // threads
    try:
        time.sleep(4)  # the worker and beat start

        def client(number: int) -> None:
            interval = threads / rate
            start = time.time()
            try:
                for i in range(per_thread):
                    due = start + i * interval
                    if (pause := due - time.time()) > 0:
                        time.sleep(pause)
                    contestant = contestants[(number + i) % len(contestants)]
                    if via == "cast_vote":
                        cast_vote(
                            stage,
                            contestant=contestant,
                            voter_hash=f"bench-{number}-{i}",
                            phone_masked="100****0000",
                            channel="web",
                        )
                    else:
                        insert_counted_vote(stage.pk, contestant.pk, f"{number}-{i}")
                    done = time.time()
                    with lock:
                        commits.append(done)
            finally:
                connections.close_all()

        started = time.time()
        pool = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed = time.time() - started
        deadline = time.time() + 30
        cast = len(commits)
        while time.time() < deadline:
            last = LeaderboardSnapshot.objects.filter(stage=stage).order_by("-id").first()
            if last and last.valid_votes >= cast:
                break
            time.sleep(0.2)
        snapshots = list(
            LeaderboardSnapshot.objects.filter(stage=stage)
            .order_by("id")
            .values_list("valid_votes", "published_at")
        )
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its embedded beat
        worker.wait()
    commits.sort()
    lags = []
    index = 0
    for rank, committed in enumerate(commits, start=1):
        while index < len(snapshots) and snapshots[index][0] < rank:
            index += 1
        if index == len(snapshots):
            break
        lags.append(max(snapshots[index][1].timestamp() - committed, 0.0))
    drop_stage(stage)
    return {
        "votes": cast,
        "rate": cast / elapsed,
        "seen": len(lags),
        "p50": statistics.median(lags),
        "p99": percentile(lags, 0.99),
        "max": max(lags),
        "snapshots": len(snapshots),
    }


def recount(votes: int) -> dict[str, float]:
    from django.db import connection

    from voting.counting.recount import recount_stage

    stage, contestants = make_stage("r", 20)
    first = contestants[0].pk
    with connection.cursor() as cursor:
        started = time.perf_counter()
        # Contestant ids of one stage are consecutive (created in one loop above).
        cursor.execute(
            "INSERT INTO voting_vote (stage_id, contestant_id, voter_hash, phone_masked, "
            "channel, ip_hash, user_agent_hash, cast_at, local_day, status, "
            "invalidated_reason, receipt_code) "
            "SELECT %s, %s + g %% 20, 'bench-' || g, '100****0000', "
            "(ARRAY['web','sms','audience'])[1 + g %% 3], '', '', now(), current_date, "
            "'valid', '', 'U' || lpad(g::text, 9, '0') FROM generate_series(1, %s) g",
            [stage.pk, first, votes],
        )
        cursor.execute(
            "INSERT INTO voting_tally (stage_id, contestant_id, channel, votes, updated_at) "
            "SELECT stage_id, contestant_id, channel, count(*), now() FROM voting_vote "
            "WHERE stage_id = %s AND status = 'valid' GROUP BY 1, 2, 3",
            [stage.pk],
        )
        load = time.perf_counter() - started
        cursor.execute("VACUUM ANALYZE voting_vote")
        started = time.perf_counter()
        cursor.execute("SELECT count(*) FROM voting_vote WHERE stage_id = %s", [stage.pk])
        (counted,) = cursor.fetchone()
        bare_count = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute(
            "SELECT contestant_id, channel, count(*) FROM voting_vote "
            "WHERE stage_id = %s AND status = 'valid' GROUP BY 1, 2",
            [stage.pk],
        )
        cursor.fetchall()
        bare_group = time.perf_counter() - started
    started = time.perf_counter()
    report = recount_stage(stage)
    full = time.perf_counter() - started
    drop_stage(stage)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM voting_vote")
    return {
        "votes": counted,
        "load": load,
        "bare_count": bare_count,
        "bare_group": bare_group,
        "recount": full,
        "ok": report.ok,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--votes", type=int, default=10_000_000)
    parser.add_argument("--via", choices=["direct", "cast_vote"], default="direct")
    parser.add_argument("--intervals", default="2,1", help="publication intervals to try (s)")
    args = parser.parse_args()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(REDIS_PORT), "--save", "", "--appendonly", "no",
         "--dir", str(BROKER)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(0.5)
        run(args)
    finally:
        redis.kill()
        redis.wait()


def run(args: argparse.Namespace) -> None:
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from campaigns.models import Stage
    from staff.models import StaffMember

    for leftover in Stage.objects.filter(campaign__name__in=["bench f", "bench r"]):
        drop_stage(leftover)  # from an interrupted run
    StaffMember.objects.filter(phone_hash__startswith="bench-tally-").delete()
    runs = [
        (int(interval), freshness(args.rate, args.seconds, args.threads, via=args.via,
                                  interval=int(interval)))
        for interval in args.intervals.split(",")
    ]  # fmt: skip
    counted = recount(args.votes)
    print("| case | figure | target |")
    print("|---|---:|---:|")
    for interval, fresh in runs:
        label = f"freshness, publish every {interval} s"
        print(
            f"| {label}: votes committed ({args.via}, {args.threads} threads) "
            f"| {fresh['votes']:,} at {fresh['rate']:.0f}/s | 500/s |"
        )
        print(f"| {label}: snapshots published | {fresh['snapshots']} | |")
        print(f"| {label}: commit → published lag p50 | {fresh['p50']:.2f} s | |")
        print(f"| {label}: commit → published lag p99 | {fresh['p99']:.2f} s | ≤ 2 s |")
        print(f"| {label}: commit → published lag max | {fresh['max']:.2f} s | |")
    print(f"| recount: bulk load of the votes (INSERT … SELECT) | {counted['load']:.1f} s | |")
    print(
        f"| recount ceiling: bare count(*) of {counted['votes']:,} votes "
        f"| {counted['bare_count']:.2f} s | |"
    )
    print(f"| recount ceiling: bare GROUP BY | {counted['bare_group']:.2f} s | |")
    print(
        f"| recount_stage (GROUP BY + tallies + chain), equal={counted['ok']} "
        f"| {counted['recount']:.2f} s | ≤ 10 s |"
    )


if __name__ == "__main__":
    main()
