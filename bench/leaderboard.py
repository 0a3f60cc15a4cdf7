"""Benchmark: leaderboard reads.

Run:  .venv/bin/python bench/leaderboard.py [--seconds 8] [--concurrency 16]
      (DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/service_star_bench;
      the cache is the shared Redis at redis://127.0.0.1:6379/3 unless LEADERBOARD_BENCH_REDIS
      says otherwise — only this bench's keys are written and deleted, never FLUSHALL)

In one run on one machine:

1. migrates the bench database (``bench/settings_bench.py``: production settings plus the
   bench-only ceiling app), seeds two open stages with 23 and 70 contestants and tallies,
   publishes their boards with ``voting.counting.publication.publish_stage_leaderboard`` (so the
   snapshot is in PostgreSQL and the board in Redis, as the beat task leaves them), and
   stores each board's API body as a plain blob for the ceiling;
2. starts gunicorn (the vote ingest bench's: gthread workers, keep-alive) and drives each
   case for a fixed time with a stdlib thread pool of keep-alive ``http.client`` connections:
   * ceiling: ``GET /bench/cached/<n>/`` — a bare Django view, one cache GET, the blob out
     (the API body; and, for comparison with the page, the page's HTML as the blob);
   * ``GET /api/stages/<id>/leaderboard/`` — 200, and with ``If-None-Match`` (304);
   * ``GET /stages/<id>/leaderboard/`` — the public page;
   * ``GET /stages/<id>/leaderboard/live/`` — one poll of a live page after the board
     changed (200, the fragment), and while nothing changes (``If-None-Match``, 304);

   (all of them, with the cache warm, are one cache round trip and no database query:
   ``voting.views.leaderboards`` and ``voting.api.leaderboard``);
3. prints one markdown table (req/s, p50, p99, ratio to the ceiling of the same board size)
   and ``uptime`` before and after (the machine may be shared), then deletes its rows and keys.
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402 -- after the path set-up
    bench_env,
    ensure_database,
    percentile,
    start_gunicorn,
)
from bench.vote_ingest import HOST, PORT, THREADS, WORKERS  # noqa: E402

CAMPAIGN = "Bench: leaderboard reads"
SIZES = (23, 70)
EMPLOYEE_BASE = 71_000_000
DEFAULT_REDIS = "redis://127.0.0.1:6379/3"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def cleanup() -> None:
    """Delete this bench's campaign, stages, contestants, staff, tallies and snapshots,
    and its cache keys (only those)."""
    from django.core.cache import cache

    from campaigns.models import Campaign, Contestant, Stage
    from staff.models import StaffMember
    from voting.counting.leaderboards import board_cache_keys
    from voting.models import LeaderboardSnapshot, Tally

    stages = Stage.objects.filter(campaign__name=CAMPAIGN)
    for stage_id in stages.values_list("pk", flat=True):
        cache.delete_many(board_cache_keys(stage_id))
    for size in SIZES:
        cache.delete_many([f"bench:ceiling:{size}", f"bench:ceiling:page-{size}"])
    Tally.objects.filter(stage__in=stages).delete()
    # The chain protects its links: newest first.
    for snapshot in LeaderboardSnapshot.objects.filter(stage__in=stages).order_by("-pk"):
        snapshot.delete()
    Contestant.objects.filter(stage__in=stages).delete()
    stages.delete()
    Campaign.objects.filter(name=CAMPAIGN).delete()
    StaffMember.objects.filter(name__startswith="Board bench ").delete()


def seed() -> dict[int, int]:
    """One open stage per board size, with tallies, published; ``{size: stage id}``."""
    import datetime as dt

    from django.core.cache import cache
    from django.test import Client

    from campaigns.choices import CampaignStatus, ContestantStatus, StageKind, StageStatus
    from campaigns.clock import db_now
    from campaigns.models import Campaign, Contestant, Stage
    from staff import services as staff_services
    from staff.choices import UnitKind
    from staff.models import OrgUnit, Position, StaffMember
    from staff.phones import hash_phone, mask_phone
    from voting.choices import VoteChannel
    from voting.counting.publication import publish_stage_leaderboard
    from voting.models import Tally

    cleanup()
    now = db_now()
    company = OrgUnit.objects.filter(code="BENCHL").first() or staff_services.create_unit(
        code="BENCHL", name="Bench company", kind=UnitKind.COMPANY, parent=None
    )
    branch = OrgUnit.objects.filter(code="BENCHL-B").first() or staff_services.create_unit(
        code="BENCHL-B", name="Bench branch", kind=UnitKind.BRANCH, parent=company
    )
    store = OrgUnit.objects.filter(code="BENCHL-S").first() or staff_services.create_unit(
        code="BENCHL-S", name="Bench store", kind=UnitKind.STORE, parent=branch
    )
    position, _ = Position.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    campaign = Campaign.objects.create(
        name=CAMPAIGN,
        status=CampaignStatus.RUNNING,
        starts_on=now.date(),
        ends_on=now.date() + dt.timedelta(days=30),
    )
    stages = {}
    client = Client(HTTP_HOST=HOST)
    for order, size in enumerate(SIZES, start=1):
        stage = Stage.objects.create(
            campaign=campaign,
            order=order,
            name=f"Top {size}",
            kind=StageKind.CUSTOMER_VOTE,
            opens_at=now - dt.timedelta(hours=1),
            closes_at=now + dt.timedelta(days=1),
            quota=10,
            status=StageStatus.OPEN,
        )
        tallies = []
        for n in range(size):
            number = str(EMPLOYEE_BASE + order * 1000 + n)
            e164 = f"+86139{80000000 + order * 1000 + n:08d}"
            member = StaffMember.objects.create(
                employee_no=number,
                vote_code=number,
                name=f"Board bench {order}-{n}",
                unit=store,
                position=position,
                phone_hash=hash_phone(e164),
                phone_masked=mask_phone(e164),
            )
            contestant = Contestant.objects.create(
                stage=stage, staff_member=member, status=ContestantStatus.IN
            )
            for i, channel in enumerate(VoteChannel.values):
                tallies.append(
                    Tally(
                        stage=stage,
                        contestant=contestant,
                        channel=channel,
                        votes=(n * 37 + i * 11) % 997,
                    )
                )
        Tally.objects.bulk_create(tallies)
        publish_stage_leaderboard(stage)
        body = client.get(f"/api/stages/{stage.pk}/leaderboard/").content
        cache.set(f"bench:ceiling:{size}", body, timeout=None)
        page = client.get(f"/stages/{stage.pk}/leaderboard/").content
        cache.set(f"bench:ceiling:page-{size}", page, timeout=None)
        stages[size] = stage.pk
    return stages


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)


def drive(
    path: str, headers: dict[str, str], expect: int, *, concurrency: int, seconds: float,
    warmup: float,
) -> Result:  # fmt: skip
    """GET ``path`` for ``warmup`` + ``seconds`` from ``concurrency`` threads, each with one
    keep-alive connection; the measured window's latencies of ``expect`` answers."""
    results = [Result() for _ in range(concurrency)]
    start_at = time.perf_counter() + warmup
    stop_at = start_at + seconds

    def worker(result: Result) -> None:
        connection = http.client.HTTPConnection(HOST, PORT, timeout=30)
        while True:
            began = time.perf_counter()
            if began >= stop_at:
                break
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
            except (ConnectionError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(HOST, PORT, timeout=30)
                result.errors[0] = result.errors.get(0, 0) + 1
                continue
            ended = time.perf_counter()
            if began < start_at:
                continue
            if response.status == expect:
                result.latencies.append(ended - began)
            else:
                result.errors[response.status] = result.errors.get(response.status, 0) + 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(r,)) for r in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged = Result()
    for result in results:
        merged.latencies.extend(result.latencies)
        for status, n in result.errors.items():
            merged.errors[status] = merged.errors.get(status, 0) + n
    return merged


def publish_every(stage_ids: list[int], stop: threading.Event) -> None:
    """Beat's part: publish the boards every ``VOTING_PUBLISH_INTERVAL`` seconds (the state
    does not change, so each tick only refreshes the cache and its "checked at"; without it
    the boards would turn stale and the pages' ETags would change with the stale marker)."""
    from django.conf import settings
    from django.db import connection

    from campaigns.models import Stage
    from voting.counting.publication import publish_stage_leaderboard

    while not stop.wait(settings.VOTING_PUBLISH_INTERVAL):
        for stage in Stage.objects.filter(pk__in=stage_ids):
            publish_stage_leaderboard(stage)
    connection.close()


def etag_of(path: str) -> str:
    connection = http.client.HTTPConnection(HOST, PORT, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.getheader("ETag") or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    env = bench_env(HOST)
    env["REDIS_URL"] = os.environ.get("LEADERBOARD_BENCH_REDIS", DEFAULT_REDIS)
    os.environ.update(env)
    ensure_database(env["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # The page links its CSS and JS through the manifest storage (production settings).
    call_command("collectstatic", interactive=False, verbosity=0)
    before = uptime()
    print(f"uptime before: {before}", flush=True)
    print(
        f"settings: bench.settings_bench; cache {env['REDIS_URL']}; gunicorn {WORKERS} gthread "
        f"workers x {THREADS} threads, keep-alive; client: {args.concurrency} threads, "
        f"{args.warmup:.0f} s warm-up + {args.seconds:.0f} s per case",
        flush=True,
    )
    stages = seed()
    from django.db import connections

    connections.close_all()
    server = start_gunicorn(env, host=HOST, port=PORT, workers=WORKERS, threads=THREADS)
    ticking = threading.Event()
    publisher = threading.Thread(target=publish_every, args=(list(stages.values()), ticking))
    publisher.start()
    rows = []
    try:
        for size, stage_id in stages.items():
            api = f"/api/stages/{stage_id}/leaderboard/"
            page = f"/stages/{stage_id}/leaderboard/"
            live = f"/stages/{stage_id}/leaderboard/live/"
            cases = [
                ("ceiling: bare cached view", f"/bench/cached/{size}/", {}, 200),
                ("GET API", api, {}, 200),
                ("GET API, If-None-Match (304)", api, {"If-None-Match": etag_of(api)}, 304),
                ("GET public page", page, {}, 200),
                ("(ceiling view, the page's size of body)", f"/bench/cached/page-{size}/", {}, 200),
                ("GET page poll (200)", live, {}, 200),
                ("GET page poll, If-None-Match (304)", live, {"If-None-Match": etag_of(live)}, 304),
            ]
            ceiling_rate = None
            for label, path, headers, expect in cases:
                result = drive(
                    path, headers, expect, concurrency=args.concurrency,
                    seconds=args.seconds, warmup=args.warmup,
                )  # fmt: skip
                rate = len(result.latencies) / args.seconds
                ceiling_rate = ceiling_rate or rate
                rows.append((size, label, result, rate, rate / ceiling_rate))
    finally:
        ticking.set()
        publisher.join()
        server.terminate()
        server.wait(timeout=30)
        cleanup()
    after = uptime()

    print()
    print("| board | case | requests | req/s | p50 ms | p99 ms | ratio to ceiling | errors |")
    print("|---:|---|---:|---:|---:|---:|---:|---|")
    for size, label, result, rate, ratio in rows:
        latencies = [s * 1000 for s in result.latencies]
        print(
            f"| {size} | {label} | {len(latencies):,} | {rate:,.0f} | "
            f"{percentile(latencies, 50):.1f} | {percentile(latencies, 99):.1f} | "
            f"{ratio:.2f} | {json.dumps(result.errors) if result.errors else '-'} |"
        )
    print()
    print(f"uptime before: {before}")
    print(f"uptime after:  {after}")


if __name__ == "__main__":
    main()
