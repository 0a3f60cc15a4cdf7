"""Benchmark: web vote ingest.

Run:  .venv/bin/python bench/vote_ingest.py [--seconds 15] [--concurrency 16] [--rounds 5]
      (DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/service_star_bench)

In one run on one machine:

1. creates the PostgreSQL database if it is missing and migrates it (with the bench-only
   ``bench.ceiling_app``), using ``bench/settings_bench.py`` = ``config.settings.production``
   + the ceiling app and URL conf, with ``SECURE_SSL_REDIRECT=false``;
2. seeds an open stage with unlimited votes, 20 contestants and 200,000 distinct voters,
   each with a voter token issued by ``voting.otp.services.issue_voter_token`` (so the load needs
   no SMS round trips: a token is what a verified voter's browser sends);
3. starts gunicorn (gthread workers, keep-alive) and drives, for a fixed time each, with a
   stdlib thread pool of keep-alive ``http.client`` connections — the two cases taking
   turns in ``--rounds`` slices, so that other work on the machine falls on both alike:
   * the ceiling: ``POST /bench/ceiling/`` — a bare Django view, JSON in, one INSERT into
     a table shaped like the ledger, JSON out;
   * the vote path: ``POST /api/votes/`` with ``{"stage", "employee_no", "voter_token"}``
     — DRF parsing, throttle, token check, voter lock, stage/candidate/staff/limit checks,
     the insert, the answer — every promise kept;
4. checks that every acknowledged vote id is in the ledger, prints one markdown table,
   and deletes the rows it made.
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_env, ensure_database, percentile, start_gunicorn  # noqa: E402 -- after the path set-up

HOST, PORT = "127.0.0.1", 8765
WORKERS, THREADS = 2, 8
VOTERS = 200_000
CONTESTANTS = 20
EMPLOYEE_BASE = 70_000_000
BENCH_CAMPAIGN = "Bench: vote ingest"


def seed() -> tuple[int, list[str], list[str]]:
    """An open stage, its contestants and voter tokens; returns (stage id, employee
    numbers, tokens). Leftovers of an earlier run are deleted first."""
    import datetime as dt

    from campaigns.choices import ContestantStatus, StageKind, StageStatus
    from campaigns.clock import db_now
    from campaigns.models import Campaign, Contestant, Stage
    from staff import services as staff_services
    from staff.choices import UnitKind
    from staff.models import OrgUnit, Position, StaffMember
    from staff.phones import hash_phone, mask_phone
    from voting.otp.services import VoterSession, issue_voter_token

    cleanup()
    now = db_now()
    company = OrgUnit.objects.filter(code="BENCHV").first() or staff_services.create_unit(
        code="BENCHV", name="Bench company", kind=UnitKind.COMPANY, parent=None
    )
    branch = OrgUnit.objects.filter(code="BENCHV-B").first() or staff_services.create_unit(
        code="BENCHV-B", name="Bench branch", kind=UnitKind.BRANCH, parent=company
    )
    store = OrgUnit.objects.filter(code="BENCHV-S").first() or staff_services.create_unit(
        code="BENCHV-S", name="Bench store", kind=UnitKind.STORE, parent=branch
    )
    position, _ = Position.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    campaign = Campaign.objects.create(
        name=BENCH_CAMPAIGN, starts_on=now.date(), ends_on=now.date() + dt.timedelta(days=30)
    )
    stage = Stage.objects.create(
        campaign=campaign,
        order=1,
        name="Bench stage",
        kind=StageKind.CUSTOMER_VOTE,
        opens_at=now - dt.timedelta(hours=1),
        closes_at=now + dt.timedelta(days=1),
        quota=10,
        status=StageStatus.OPEN,
        votes_per_day=0,
        votes_per_stage=0,
        votes_per_candidate=0,
        # A stage counts only the channels its rules weight (channel_not_used otherwise).
        weights={"web_votes": "0.5", "sms_votes": "0.5"},
    )
    numbers = [str(EMPLOYEE_BASE + n) for n in range(CONTESTANTS)]
    for n, number in enumerate(numbers):
        e164 = f"+86139{90000000 + n:08d}"
        member = StaffMember.objects.create(
            employee_no=number,
            vote_code=number,
            name=f"Bench {n}",
            unit=store,
            position=position,
            phone_hash=hash_phone(e164),
            phone_masked=mask_phone(e164),
        )
        Contestant.objects.create(stage=stage, staff_member=member, status=ContestantStatus.IN)
    tokens = []
    for n in range(VOTERS):
        e164 = f"+86137{n:08d}"
        session = VoterSession(voter_hash=hash_phone(e164), phone_masked=mask_phone(e164))
        tokens.append(issue_voter_token(session))
    return stage.pk, numbers, tokens


def cleanup() -> None:
    """Delete everything a bench run made (votes first: the ledger protects its stages)."""
    from django.db import connection

    from bench.ceiling_app.models import CeilingVote
    from campaigns.models import Campaign, Contestant, Stage
    from staff.models import StaffMember
    from voting.models import Vote

    stages = Stage.objects.filter(campaign__name=BENCH_CAMPAIGN)
    with connection.cursor() as cursor:
        # Derived rows (tally events, tallies, snapshots) of the bench stages, if the
        # tables exist: they reference the votes and contestants deleted below.
        tables = set(connection.introspection.table_names(cursor))
        ids = list(stages.values_list("pk", flat=True))
        for table in ("voting_tallyevent", "voting_tally", "voting_leaderboardsnapshot"):
            if table in tables and ids:
                cursor.execute(f"DELETE FROM {table} WHERE stage_id = ANY(%s)", [ids])  # noqa: S608 -- fixed names
    Vote.objects.filter(stage__in=stages).delete()
    Contestant.objects.filter(stage__in=stages).delete()
    stages.delete()
    Campaign.objects.filter(name=BENCH_CAMPAIGN).delete()
    StaffMember.objects.filter(employee_no__startswith=str(EMPLOYEE_BASE)[:2]).filter(
        name__startswith="Bench "
    ).delete()
    CeilingVote.objects.all().delete()


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    vote_ids: list[int] = field(default_factory=list)


def drive(
    path: str,
    bodies: list[bytes],
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
    first: int = 0,
) -> tuple[Result, int]:
    """POST ``bodies`` (round robin, from ``bodies[first]``) for ``warmup`` + ``seconds``
    from ``concurrency`` threads, each with one keep-alive connection. Returns the measured
    window's results and the index of the next body not sent."""
    results = [Result() for _ in range(concurrency)]
    start_at = time.perf_counter() + warmup
    stop_at = start_at + seconds
    counter = iter(range(first, 10**12))
    lock = threading.Lock()

    def worker(result: Result) -> None:
        connection = http.client.HTTPConnection(HOST, PORT, timeout=30)
        headers = {"Content-Type": "application/json", "User-Agent": "bench/1.0"}
        while True:
            with lock:
                n = next(counter)
            began = time.perf_counter()
            if began >= stop_at:
                break
            try:
                connection.request("POST", path, body=bodies[n % len(bodies)], headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (ConnectionError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(HOST, PORT, timeout=30)
                result.errors[0] = result.errors.get(0, 0) + 1
                continue
            ended = time.perf_counter()
            if began < start_at:
                continue
            if response.status == 201:
                result.latencies.append(ended - began)
                result.vote_ids.append(json.loads(payload)["vote_id"])
            else:
                result.errors[response.status] = result.errors.get(response.status, 0) + 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(r,)) for r in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return merge(results), next(counter)


def merge(results: list[Result]) -> Result:
    merged = Result()
    for result in results:
        merged.latencies.extend(result.latencies)
        merged.vote_ids.extend(result.vote_ids)
        for status, n in result.errors.items():
            merged.errors[status] = merged.errors.get(status, 0) + n
    return merged


def main() -> None:
    global PORT  # read by the connections of drive()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="the ceiling and the votes take turns in this many slices of the run",
    )
    parser.add_argument(
        "--port", type=int, default=PORT, help="gunicorn's port (another bench may use the default)"
    )
    args = parser.parse_args()
    PORT = args.port

    env = bench_env(HOST)
    os.environ.update(env)
    ensure_database(env["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(
        f"settings: bench.settings_bench (config.settings.production + bench.ceiling_app), "
        f"database {urlparse(env['DATABASE_URL']).path[1:]}; gunicorn {WORKERS} gthread "
        f"workers x {THREADS} threads, keep-alive; client: {args.concurrency} threads, "
        f"{args.warmup:.0f} s warm-up + {args.seconds:.0f} s per case, in {args.rounds} "
        f"alternating slices",
        flush=True,
    )
    print(f"seeding {VOTERS:,} voter tokens and {CONTESTANTS} contestants…", flush=True)
    stage_id, numbers, tokens = seed()
    from django.db import connections

    connections.close_all()

    vote_bodies = [
        json.dumps(
            {"stage": stage_id, "employee_no": numbers[n % len(numbers)], "voter_token": token}
        ).encode()
        for n, token in enumerate(tokens)
    ]
    ceiling_bodies = [
        json.dumps({"stage": stage_id, "voter_token": f"voter-{n:08d}"}).encode()
        for n in range(len(tokens))
    ]
    server = start_gunicorn(env, host=HOST, port=PORT, workers=WORKERS, threads=THREADS)
    # The two cases take turns, a slice each, so that a change in what else the machine
    # does falls on both alike (one after the other, a busy minute skewed the ratio).
    slices: dict[str, list[Result]] = {"ceiling": [], "votes": []}
    next_body = {"ceiling": 0, "votes": 0}
    paths = {"ceiling": ("/bench/ceiling/", ceiling_bodies), "votes": ("/api/votes/", vote_bodies)}
    seconds = args.seconds
    try:
        for round_ in range(args.rounds):
            for case, (path, bodies) in paths.items():
                result, next_body[case] = drive(
                    path,
                    bodies,
                    concurrency=args.concurrency,
                    seconds=seconds / args.rounds,
                    warmup=args.warmup if round_ == 0 else 0.5,
                    first=next_body[case],
                )
                slices[case].append(result)
    finally:
        server.terminate()
        server.wait(timeout=30)

    from voting.models import Vote

    ceiling, votes = merge(slices["ceiling"]), merge(slices["votes"])
    in_ledger = set(
        Vote.objects.filter(pk__in=votes.vote_ids, stage_id=stage_id).values_list("pk", flat=True)
    )
    ceiling_rate = len(ceiling.latencies) / seconds
    rows = [("ceiling: bare Django view, one INSERT", ceiling), ("POST /api/votes/", votes)]
    print()
    print(
        "| case | workers | concurrency | requests | req/s | p50 ms | p99 ms | ratio to ceiling |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, result in rows:
        rate = len(result.latencies) / seconds
        print(
            f"| {label} | {WORKERS}x{THREADS} gthread | {args.concurrency} "
            f"| {len(result.latencies):,} | {rate:,.0f} "
            f"| {percentile(result.latencies, 50) * 1000:.1f} "
            f"| {percentile(result.latencies, 99) * 1000:.1f} "
            f"| {rate / ceiling_rate:.2f} |"
        )
    print()
    print(
        f"errors: ceiling {ceiling.errors or 'none'}, votes {votes.errors or 'none'}; "
        f"acknowledged votes in the ledger: {len(in_ledger):,} of {len(set(votes.vote_ids)):,}"
    )
    cleanup()


if __name__ == "__main__":
    main()
