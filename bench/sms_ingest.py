"""Benchmark: SMS batch ingest through the signed generic webhook (target ≥ 10,000
votes/s, the burst after an SMS blast).

Run:  .venv/bin/python bench/sms_ingest.py [--batches 60] [--clients 4] [--workers 4]
      [--threads 1]
      (DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/service_star_bench)

In one run on one machine:

1. creates the PostgreSQL database if it is missing and migrates it, with
   ``bench/settings_bench.py`` (``config.settings.production``, DEBUG off, plus the bench's
   ceiling app) and ``SECURE_SSL_REDIRECT=false``;
2. seeds an open stage (3 votes per voter per day) with 20 contestants;
3. starts gunicorn and posts 1,000-message batches, signed as a gateway
   would, from ``--clients`` threads with keep-alive connections: about 20% re-deliveries
   of earlier ids, 10% junk, 5% from 50 heavy voters who pass their limit, the rest valid
   votes from 100,000 voters (``campaigns.messaging.inbound.simulate``). The server runs
   one process per batch in flight by default (``--workers 4 --threads 1``: gthread with
   one thread, a sync worker that keeps connections alive), as the README's deployment
   line does (``--workers 4``, sync): a batch spends about half its time in Python, and
   threads of one process take turns on one interpreter lock (docs/benchmarks.md,
   "Vote paths, issue 12, sixth session");
4. folds the tally outbox and recounts the stage (``voting.counting.recount``): tallies must equal
   the ledger;
5. measures the ceiling in the same run: ``COPY`` of as many ledger-shaped rows as votes
   were counted into a table ``LIKE voting_vote INCLUDING ALL`` (same columns and
   indexes), 1,000 rows per transaction, from one connection;
6. prints one markdown table and deletes what it made.
"""

import argparse
import io
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_env, ensure_database, start_gunicorn  # noqa: E402 -- after the path set-up

HOST, PORT = "127.0.0.1", 8766
CONTESTANTS = 20
EMPLOYEE_BASE = 71_000_000
BENCH_CAMPAIGN = "Bench: SMS ingest"
SECRET = "bench-only-sms-inbound-secret"
BATCH = 1000


def cleanup() -> None:
    """Delete everything a run made (receipts, inbound rows, derived rows, votes, stage)."""
    from django.db import connection
    from django.db.models import Q

    from campaigns.messaging.models import InboundSms, OutboundSms
    from campaigns.models import Campaign, Contestant, Stage
    from staff.models import StaffMember
    from voting.models import Tally, TallyEvent, Vote

    stages = Stage.objects.filter(campaign__name=BENCH_CAMPAIGN)
    # Also rows of a manual ``sms_simulate`` run against the bench stage.
    InboundSms.objects.filter(
        Q(message_id__startswith="bench-")
        | Q(handled_by="votes", outcome_ref__in=Vote.objects.filter(stage__in=stages).values("pk"))
    ).delete()
    OutboundSms.objects.filter(phone_masked__startswith="138****").delete()
    TallyEvent.objects.filter(stage__in=stages).delete()
    Tally.objects.filter(stage__in=stages).delete()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_sms_ceiling")
    Vote.objects.filter(stage__in=stages).delete()
    Contestant.objects.filter(stage__in=stages).delete()
    stages.delete()
    Campaign.objects.filter(name=BENCH_CAMPAIGN).delete()
    StaffMember.objects.filter(name__startswith="Bench SMS ").delete()


def seed() -> tuple[int, list[str]]:
    """An open stage with 3 votes per voter per day and its contestants."""
    import datetime as dt

    from campaigns.choices import ContestantStatus, StageKind, StageStatus
    from campaigns.clock import db_now
    from campaigns.models import Campaign, Contestant, Stage
    from staff import services as staff_services
    from staff.choices import UnitKind
    from staff.models import OrgUnit, Position, StaffMember
    from staff.phones import hash_phone, mask_phone

    cleanup()
    now = db_now()
    company = OrgUnit.objects.filter(code="BENCHS").first() or staff_services.create_unit(
        code="BENCHS", name="Bench SMS company", kind=UnitKind.COMPANY, parent=None
    )
    branch = OrgUnit.objects.filter(code="BENCHS-B").first() or staff_services.create_unit(
        code="BENCHS-B", name="Bench SMS branch", kind=UnitKind.BRANCH, parent=company
    )
    store = OrgUnit.objects.filter(code="BENCHS-S").first() or staff_services.create_unit(
        code="BENCHS-S", name="Bench SMS store", kind=UnitKind.STORE, parent=branch
    )
    position, _ = Position.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    campaign = Campaign.objects.create(
        name=BENCH_CAMPAIGN, starts_on=now.date(), ends_on=now.date() + dt.timedelta(days=30)
    )
    stage = Stage.objects.create(
        campaign=campaign,
        order=1,
        name="Bench SMS stage",
        kind=StageKind.CUSTOMER_VOTE,
        opens_at=now - dt.timedelta(hours=1),
        closes_at=now + dt.timedelta(days=1),
        quota=10,
        status=StageStatus.OPEN,
        votes_per_day=3,
        # A stage counts only the channels its rules weight (channel_not_used otherwise).
        weights={"web_votes": "0.5", "sms_votes": "0.5"},
    )
    numbers = [str(EMPLOYEE_BASE + n) for n in range(CONTESTANTS)]
    for n, number in enumerate(numbers):
        e164 = f"+86139{80000000 + n:08d}"
        member = StaffMember.objects.create(
            employee_no=number,
            vote_code=number,
            name=f"Bench SMS {n}",
            unit=store,
            position=position,
            phone_hash=hash_phone(e164),
            phone_masked=mask_phone(e164),
        )
        Contestant.objects.create(stage=stage, staff_member=member, status=ContestantStatus.IN)
    return stage.pk, numbers


def drive(batches: list[list[dict]], clients: int) -> tuple[list[float], Counter, Counter, float]:
    """Post every batch once, ``clients`` at a time; return latencies, result statuses,
    HTTP statuses and the wall time."""
    from campaigns.messaging.inbound.simulate import WebhookClient

    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    http_statuses: Counter[int] = Counter()
    queue = iter(batches)
    lock = threading.Lock()

    def worker() -> None:
        client = WebhookClient(f"http://{HOST}:{PORT}/api/sms/inbound/", SECRET, timeout=120)
        while True:
            with lock:
                batch = next(queue, None)
            if batch is None:
                break
            outcome = client.post(batch)
            with lock:
                latencies.append(outcome.latency)
                http_statuses[outcome.status] += 1
                for result in outcome.results:
                    code = result.get("code")
                    statuses[f"{result['status']}/{code}" if code else result["status"]] += 1
        client.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses, http_statuses, time.perf_counter() - began


def ceiling(rows: int, stage_id: int) -> float:
    """Rows/s of a bare COPY of ``rows`` ledger-shaped rows, 1,000 per transaction."""
    import datetime as dt

    from django.db import connection, transaction

    from campaigns.models import Contestant

    contestant_id = Contestant.objects.filter(stage_id=stage_id).values_list("pk", flat=True)[0]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_sms_ceiling")
        cursor.execute("CREATE TABLE bench_sms_ceiling (LIKE voting_vote INCLUDING ALL)")
    now = dt.datetime.now(dt.UTC)
    day = now.date().isoformat()
    now = now.isoformat()
    columns = (
        "stage_id",
        "contestant_id",
        "voter_hash",
        "phone_masked",
        "channel",
        "ip_hash",
        "user_agent_hash",
        "cast_at",
        "local_day",
        "status",
        "invalidated_reason",
        "receipt_code",
        "provider_message_id",
    )
    began = time.perf_counter()
    for start in range(0, rows, BATCH):
        lines = "".join(
            f"{stage_id}\t{contestant_id}\t{n:064x}\t138****0000\tsms\t\t\t{now}\t{day}\tvalid"
            f"\t\tC{n:09d}\tgeneric:ceiling-{n}\n"
            for n in range(start, min(rows, start + BATCH))
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.cursor.copy_from(io.StringIO(lines), "bench_sms_ceiling", columns=columns)
    elapsed = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_sms_ceiling")
    return rows / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=60, help="1,000-message batches")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker")
    args = parser.parse_args()

    env = bench_env(HOST, SMS_INBOUND_SECRET=SECRET)
    os.environ.update(env)
    ensure_database(env["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    stage_id, numbers = seed()
    connections.close_all()

    from campaigns.messaging.inbound.simulate import TrafficMix, percentile

    mix = TrafficMix(employee_nos=numbers, voters=100_000, seed=int(time.time()), prefix="bench")
    batches = list(mix.batches(args.batches * BATCH, BATCH))
    print(
        f"settings: bench.settings_bench (production, DEBUG off), database "
        f"{urlparse(env['DATABASE_URL']).path[1:]}; gunicorn {args.workers} gthread workers x "
        f"{args.threads} threads; {args.clients} client threads; {len(batches)} batches of "
        f"{BATCH:,} messages",
        flush=True,
    )
    server = start_gunicorn(
        env, host=HOST, port=PORT, workers=args.workers, threads=args.threads, timeout=120
    )
    try:
        latencies, statuses, http_statuses, wall = drive(batches, args.clients)
    finally:
        server.terminate()
        server.wait(timeout=30)

    from campaigns.models import Stage
    from voting.counting.recount import recount_stage
    from voting.counting.tallies import fold_pending_tallies
    from voting.models import Vote

    while fold_pending_tallies(time_budget=60):
        pass
    report = recount_stage(Stage.objects.get(pk=stage_id))
    counted = statuses["counted"]
    in_ledger = Vote.objects.filter(stage_id=stage_id).count()
    ceiling_rate = ceiling(max(counted, BATCH), stage_id)
    messages = sum(statuses.values())
    duplicates = statuses["duplicate"]
    print()
    print(
        "| case | batches | messages | votes counted | votes/s | messages/s | p50 ms/batch "
        "| p99 ms/batch | duplicate share | recount == tallies |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print(
        f"| POST /api/sms/inbound/ ({args.workers}x{args.threads} gthread, {args.clients} clients) "
        f"| {len(latencies)} | {messages:,} | {counted:,} | {counted / wall:,.0f} "
        f"| {messages / wall:,.0f} | {percentile(latencies, 50) * 1000:.0f} "
        f"| {percentile(latencies, 99) * 1000:.0f} | {duplicates / max(messages, 1):.1%} "
        f"| {'yes' if report.ok else 'NO'} ({report.valid_votes:,} valid) |"
    )
    print(
        f"| ceiling: COPY of {max(counted, BATCH):,} ledger-shaped rows, 1,000 per transaction "
        f"| - | - | {max(counted, BATCH):,} | {ceiling_rate:,.0f} | - | - | - | - | - |"
    )
    print()
    refusals = {k: v for k, v in sorted(statuses.items()) if k.startswith(("refused", "help"))}
    print(f"HTTP statuses: {dict(http_statuses)}; other results: {refusals}")
    print(f"votes in the ledger: {in_ledger:,} (acknowledged counted: {counted:,})")
    cleanup()


if __name__ == "__main__":
    main()
