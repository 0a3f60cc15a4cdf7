"""Benchmark: service measurement (issue 11): transactions ingested per second through
``POST /api/transactions/`` (target 2,000/s), and the monthly rollup over 1 million ratings
on PostgreSQL (target under 10 s), each beside a ceiling measured in the same run.

Run:  .venv/bin/python bench/evaluations.py [--batches 40] [--clients 2] [--workers 2]
      [--ratings 1000000]
      (DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/service_star_bench)

In one run on one machine:

1. creates the PostgreSQL database if it is missing and migrates it (``bench.settings_bench``:
   production settings, DEBUG off);
2. seeds 7,000 bench staff in one store and a transactions API key;
3. starts gunicorn (gthread workers) and posts ``--batches`` batches of 1,000 new
   transactions (random customers, 10 % of them a repeat of an earlier id) from
   ``--clients`` threads with keep-alive connections; every accepted transaction also gets
   its invitation planned (opt-outs, staff phones, interval, quiet hours) in the request;
4. ceiling: ``execute_values`` of as many transaction-shaped rows into a table ``LIKE
   evaluations_servicetransaction INCLUDING ALL`` (same columns and indexes), 1,000 rows per
   transaction, from one connection: the bare insert the endpoint cannot beat;
5. makes every planned invitation due and times ``queue_due_invitations`` (claim with
   SKIP LOCKED, re-check, one outbox INSERT per 1,000) until none is left;
6. writes ``--ratings`` ratings over the 7,000 staff into one month (``COPY``), times
   ``compute_month_rollup`` and ``check_month_rollup``, and as the ceiling the bare
   ``GROUP BY`` of those ratings;
7. prints one markdown table and deletes what it made.
"""

import argparse
import http.client
import io
import json
import os
import random
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_env, ensure_database, percentile, start_gunicorn  # noqa: E402 -- after the path set-up

HOST, PORT = "127.0.0.1", 8768
THREADS = 4
STAFF = 7000
BATCH = 1000
UNIT_CODE = "BENCH-EVAL-S"
SYSTEM = "bench"
ROLLUP_MONTH = (2001, 1)


def cleanup() -> None:
    """Delete everything a run made."""
    import datetime as dt

    from django.db import connection

    from campaigns.messaging.models import OutboundSms
    from evaluations.models import (
        Rating,
        RatingInvitation,
        ServiceTransaction,
        StaffMonth,
        TransactionApiKey,
        UnitMonth,
    )
    from staff.models import AuditEvent, OrgUnit, StaffMember

    month = dt.date(*ROLLUP_MONTH, 1)
    staff = StaffMember.objects.filter(unit__code=UNIT_CODE)
    RatingInvitation.objects.filter(staff_member__in=staff).delete()
    ServiceTransaction.objects.filter(system=SYSTEM).delete()
    Rating.objects.filter(staff_member__in=staff).delete()
    StaffMonth.objects.filter(month=month).delete()
    UnitMonth.objects.filter(month=month).delete()
    AuditEvent.objects.filter(action="evaluations.rollup.computed", data__month=str(month)).delete()
    TransactionApiKey.objects.filter(system=SYSTEM).delete()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_tx_ceiling")
    OutboundSms.objects.filter(
        template__startswith="rating_invitation_", params__bench=True
    ).delete()
    staff.delete()
    for code in (UNIT_CODE, "BENCH-EVAL-B", "BENCH-EVAL"):  # children first (PROTECT)
        OrgUnit.objects.filter(code=code).delete()


def seed() -> tuple[list[str], list[int], str]:
    """7,000 staff in one bench store, and an API key; returns employee numbers, staff ids
    and the raw key."""
    from evaluations.measurement.apikeys import create_api_key
    from staff import services as staff_services
    from staff.choices import UnitKind
    from staff.models import OrgUnit, Position, StaffMember
    from staff.phones import hash_phone, mask_phone

    cleanup()
    company = OrgUnit.objects.filter(code="BENCH-EVAL").first() or staff_services.create_unit(
        code="BENCH-EVAL", name="Bench evaluations company", kind=UnitKind.COMPANY, parent=None
    )
    branch = staff_services.create_unit(
        code="BENCH-EVAL-B", name="Bench evaluations branch", kind=UnitKind.BRANCH, parent=company
    )
    store = staff_services.create_unit(
        code=UNIT_CODE, name="Bench evaluations store", kind=UnitKind.STORE, parent=branch
    )
    position, _ = Position.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    staff = []
    for n in range(STAFF):
        phone = f"+86139{90_000_000 + n:08d}"
        staff.append(
            StaffMember(
                employee_no=str(88_000_000 + n),
                name=f"Bench EV {n}",
                unit=store,
                position=position,
                phone_hash=hash_phone(phone),
                phone_masked=mask_phone(phone),
            )
        )
    created = StaffMember.objects.bulk_create(staff, batch_size=2000)
    _key, raw = create_api_key(name="Bench", system=SYSTEM, actor=None)
    return [s.employee_no for s in created], [s.pk for s in created], raw


def make_batches(employee_nos: list[str], count: int, rng: random.Random) -> list[bytes]:
    """``count`` JSON bodies of 1,000 transactions; about 10 % repeat an earlier id."""
    import datetime as dt

    served = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    bodies, seen = [], []
    for b in range(count):
        items = []
        for n in range(BATCH):
            if seen and rng.random() < 0.1:
                tx_id = rng.choice(seen)
            else:
                tx_id = f"bench-{b}-{n}"
                seen.append(tx_id)
            items.append(
                {
                    "id": tx_id,
                    "employee_no": rng.choice(employee_nos),
                    "phone": f"138{rng.randrange(10**8):08d}",
                    "channel": "store",
                    "served_at": served,
                }
            )
        bodies.append(json.dumps({"transactions": items}).encode())
    return bodies


def drive(bodies: list[bytes], clients: int, raw_key: str) -> tuple[list[float], dict, float]:
    """Post the bodies from ``clients`` threads; latencies, result counts, wall time."""
    queue = list(bodies)
    lock = threading.Lock()
    latencies: list[float] = []
    counts: dict[str, int] = {}
    headers = {"Content-Type": "application/json", "Authorization": f"Api-Key {raw_key}"}

    def worker() -> None:
        connection = http.client.HTTPConnection(HOST, PORT, timeout=120)
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            started = time.perf_counter()
            connection.request("POST", "/api/transactions/", body=body, headers=headers)
            response = connection.getresponse()
            payload = json.loads(response.read())
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status != 200:
                    counts[f"http {response.status}"] = counts.get(f"http {response.status}", 0) + 1
                    continue
                for result in payload["results"]:
                    counts[result["status"]] = counts.get(result["status"], 0) + 1
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, counts, time.perf_counter() - started


def tx_ceiling(rows: int, staff_ids: list[int], unit_id: int) -> float:
    """Rows/s of a bare ``execute_values`` into a copy of the transactions table."""
    import datetime as dt
    import uuid

    from django.db import connection, transaction
    from psycopg2.extras import execute_values

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_tx_ceiling")
        cursor.execute(
            "CREATE TABLE bench_tx_ceiling (LIKE evaluations_servicetransaction INCLUDING ALL)"
        )
    now = dt.datetime.now(dt.UTC)
    batch = uuid.uuid4()
    data = [
        (
            "ceiling",
            f"c-{n}",
            staff_ids[n % len(staff_ids)],
            unit_id,
            "store",
            f"{n:064x}",
            "138****0000",
            now,
            now,
            batch,
        )
        for n in range(rows)
    ]
    columns = (
        "system, external_id, staff_member_id, unit_id, channel, phone_hash, "
        "phone_masked, served_at, received_at, batch_id"
    )
    started = time.perf_counter()
    for offset in range(0, rows, BATCH):
        with transaction.atomic(), connection.cursor() as cursor:
            execute_values(
                cursor.cursor,
                f"INSERT INTO bench_tx_ceiling ({columns}) VALUES %s",  # noqa: S608 -- fixed text
                data[offset : offset + BATCH],
                page_size=BATCH,
            )
    rate = rows / (time.perf_counter() - started)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_tx_ceiling")
    return rate


def queue_invitations() -> tuple[int, float]:
    """Make every bench invitation due and queue them all; (queued, seconds)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from campaigns.messaging.models import OutboundSms
    from evaluations.measurement.choices import InvitationStatus
    from evaluations.measurement.sending import queue_due_invitations
    from evaluations.models import RatingInvitation

    # 10:00 local today: outside the quiet hours whatever time the bench runs.
    now = dt.datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=10, minute=0, second=0)
    RatingInvitation.objects.filter(
        service_transaction__system=SYSTEM, status=InvitationStatus.SCHEDULED
    ).update(due_at=now - dt.timedelta(minutes=1))
    queued = 0
    started = time.perf_counter()
    while True:
        report = queue_due_invitations(now=now)
        queued += report.queued
        if not report.queued and not report.skipped:
            break
    elapsed = time.perf_counter() - started
    # Mark the bench's outbox rows for the clean-up (never sent: no sender runs).
    OutboundSms.objects.filter(template__startswith="rating_invitation_", created_at=now).update(
        params={"bench": True}
    )
    return queued, elapsed


def rollup(ratings: int, staff_ids: list[int], unit_id: int) -> dict[str, float]:
    """Seconds of the monthly rollup over ``ratings`` ratings, its check, and the ceiling."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from django.db import connection, transaction

    from evaluations.measurement.rollups import (
        check_month_rollup,
        compute_month_rollup,
        month_bounds,
    )

    rng = random.Random(7)
    month = dt.date(*ROLLUP_MONTH, 1)
    start = dt.datetime(*ROLLUP_MONTH, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    buffer = io.StringIO()
    for _n in range(ratings):
        rated = start + dt.timedelta(seconds=rng.randrange(30 * 86400))
        score = 10 - rng.choices(range(10), weights=(62, 24, 7, 3, 1.5, 1, 0.5, 0.4, 0.3, 0.3))[0]
        buffer.write(
            f"\\N\t{rng.choice(staff_ids)}\t{unit_id}\t{rng.getrandbits(64):064x}\t{score}\t\t"
            f"{rated.isoformat()}\n"
        )
    buffer.seek(0)
    columns = (
        "invitation_id",
        "staff_member_id",
        "unit_id",
        "phone_hash",
        "score",
        "comment",
        "rated_at",
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.cursor.copy_from(buffer, "evaluations_rating", columns=columns)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE evaluations_rating")
    timings = {}
    started = time.perf_counter()
    summary = compute_month_rollup(month)
    timings["rollup"] = time.perf_counter() - started
    if summary.ratings != ratings:
        raise SystemExit(f"rollup counted {summary.ratings} ratings, expected {ratings}")
    started = time.perf_counter()
    problems = check_month_rollup(month)
    timings["check"] = time.perf_counter() - started
    if problems:
        raise SystemExit(f"rollup check failed: {problems[:3]}")
    low, high = month_bounds(month)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT staff_member_id, COUNT(*), SUM(score) FROM evaluations_rating "
            "WHERE rated_at >= %s AND rated_at < %s GROUP BY 1",
            [low, high],
        )
        cursor.fetchall()
    timings["ceiling"] = time.perf_counter() - started
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40, help="1,000-transaction batches")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ratings", type=int, default=1_000_000)
    args = parser.parse_args()

    env = bench_env(HOST)
    os.environ.update(env)
    ensure_database(env["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    employee_nos, staff_ids, raw_key = seed()
    from staff.models import OrgUnit

    unit_id = OrgUnit.objects.get(code=UNIT_CODE).pk
    connections.close_all()
    bodies = make_batches(employee_nos, args.batches, random.Random(11))
    print(
        f"settings: bench.settings_bench (production, DEBUG off), database "
        f"{urlparse(env['DATABASE_URL']).path[1:]}; gunicorn {args.workers} gthread workers x "
        f"{THREADS} threads; {args.clients} client threads; {len(bodies)} batches of {BATCH:,}",
        flush=True,
    )
    server = start_gunicorn(
        env, host=HOST, port=PORT, workers=args.workers, threads=THREADS, timeout=120
    )
    try:
        latencies, counts, wall = drive(bodies, args.clients, raw_key)
    finally:
        server.terminate()
        server.wait(timeout=30)

    from evaluations.models import RatingInvitation, ServiceTransaction

    stored = ServiceTransaction.objects.filter(system=SYSTEM).count()
    invitations = RatingInvitation.objects.filter(service_transaction__system=SYSTEM).count()
    items = sum(counts.values())
    ceiling = tx_ceiling(max(stored, BATCH), staff_ids, unit_id)
    queued, queue_seconds = queue_invitations()
    timings = rollup(args.ratings, staff_ids, unit_id)
    print()
    print(
        "| case | items | accepted | items/s | accepted/s | p50 ms/batch | p99 ms/batch | ratio to ceiling |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    accepted = counts.get("accepted", 0)
    print(
        f"| POST /api/transactions/ ({args.workers}x{THREADS} gthread, {args.clients} clients; "
        f"invitations planned in the request) | {items:,} | {accepted:,} | {items / wall:,.0f} "
        f"| {accepted / wall:,.0f} | {percentile(latencies, 50) * 1000:.0f} "
        f"| {percentile(latencies, 99) * 1000:.0f} | {accepted / wall / ceiling:.2f} |"
    )
    print(
        f"| ceiling: execute_values of {max(stored, BATCH):,} transaction rows, 1,000 per "
        f"transaction | - | - | - | {ceiling:,.0f} | - | - | 1.00 |"
    )
    print(
        f"| invitations queued into the SMS outbox (queue_due_invitations, 1,000 per "
        f"transaction) | {invitations:,} | {queued:,} | {invitations / queue_seconds:,.0f} "
        f"| {queued / queue_seconds:,.0f} | - | - | {queued / queue_seconds / ceiling:.2f} |"
    )
    print(
        f"| monthly rollup, {args.ratings:,} ratings, {STAFF:,} staff (compute_month_rollup) "
        f"| {args.ratings:,} | - | {args.ratings / timings['rollup']:,.0f} | - "
        f"| {timings['rollup'] * 1000:,.0f} | - | {timings['ceiling'] / timings['rollup']:.2f} |"
    )
    print(
        f"| rollup check (check_month_rollup) | {args.ratings:,} | - "
        f"| {args.ratings / timings['check']:,.0f} | - | {timings['check'] * 1000:,.0f} | - "
        f"| {timings['ceiling'] / timings['check']:.2f} |"
    )
    print(
        f"| ceiling: bare GROUP BY of the month's ratings | {args.ratings:,} | - "
        f"| {args.ratings / timings['ceiling']:,.0f} | - | {timings['ceiling'] * 1000:,.0f} | - "
        f"| 1.00 |"
    )
    print()
    print(f"results: {counts}; stored transactions {stored:,}, invitations planned {invitations:,}")
    cleanup()


if __name__ == "__main__":
    main()
