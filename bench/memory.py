"""Benchmark: peak memory of a web worker after 100,000 votes and of a Celery worker after
folding 1 million votes (target: at most 150 MB each).

Run:  REDIS_URL=redis://127.0.0.1:6379/<db> DATABASE_URL=postgres://…/service_star_bench_<new> \\
      .venv/bin/python bench/memory.py [--votes 100000] [--events 1000000]

1. **web**: gunicorn as in ``bench/vote_ingest.py`` (2 gthread workers x 8 threads,
   ``bench.settings_bench``) takes ``--votes`` first votes of distinct voters through
   ``POST /api/votes/`` from 16 keep-alive client threads; then each worker's peak
   resident size (``VmHWM`` in ``/proc/<pid>/status``) is read while it still runs.
2. **worker**: ``--events`` votes with their +1 tally events are bulk-loaded
   (``INSERT … SELECT generate_series``), a real ``celery worker`` (solo pool, the broker
   of the environment) is started and sent ``voting.fold_tallies`` until the outbox is
   empty; then its peak resident size is read the same way.

Prints one table and deletes what it made (the bench stage, its votes, tallies, events).
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_env, ensure_database, start_gunicorn  # noqa: E402 -- after the path set-up

HOST, PORT = "127.0.0.1", 8767
WORKERS, THREADS, CLIENTS = 2, 8, 16


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size (``VmHWM``) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no VmHWM for process {pid}")


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def post_all(bodies: list[bytes]) -> dict[int, int]:
    """POST every body once from ``CLIENTS`` keep-alive threads; counts per HTTP status."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    feed = iter(bodies)

    def client() -> None:
        connection = http.client.HTTPConnection(HOST, PORT, timeout=60)
        headers = {"Content-Type": "application/json", "User-Agent": "bench/1.0"}
        while True:
            with lock:
                body = next(feed, None)
            if body is None:
                break
            connection.request("POST", "/api/votes/", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def web(env: dict[str, str], votes: int) -> tuple[list[float], dict[int, int], float]:
    from django.db import connections

    import bench.vote_ingest as vote_ingest

    vote_ingest.VOTERS = votes
    stage_id, numbers, tokens = vote_ingest.seed()
    connections.close_all()
    bodies = [
        json.dumps(
            {"stage": stage_id, "employee_no": numbers[n % len(numbers)], "voter_token": t}
        ).encode()
        for n, t in enumerate(tokens)
    ]
    server = start_gunicorn(env, host=HOST, port=PORT, workers=WORKERS, threads=THREADS)
    try:
        began = time.perf_counter()
        statuses = post_all(bodies)
        seconds = time.perf_counter() - began
        peaks = [peak_rss_mb(pid) for pid in children(server.pid)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    return peaks, statuses, seconds


_LOAD_SQL = """
WITH v AS (
    INSERT INTO voting_vote (stage_id, contestant_id, voter_hash, phone_masked, channel,
        ip_hash, ip_subnet_hash, user_agent_hash, cast_at, local_day, status,
        invalidated_reason, receipt_code)
    SELECT %(stage)s, (%(contestants)s::bigint[])[1 + n %% array_length(%(contestants)s, 1)],
        md5('memory-bench' || n), '138****0000', 'sms', '', '', '', now(), current_date,
        'valid', '', 'M' || lpad(to_hex(n), 9, '0')
    FROM generate_series(1, %(events)s) AS n
    RETURNING id, stage_id, contestant_id, channel
)
INSERT INTO voting_tallyevent (vote_id, stage_id, contestant_id, channel, delta, created_at)
SELECT id, stage_id, contestant_id, channel, 1, now() FROM v
"""


def worker(env: dict[str, str], events: int) -> tuple[float, int, float]:
    from celery import current_app
    from django.db import connection

    import bench.sms_ingest as sms_ingest
    from campaigns.models import Contestant
    from voting.models import TallyEvent

    stage_id, _numbers = sms_ingest.seed()
    contestants = list(Contestant.objects.filter(stage_id=stage_id).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(_LOAD_SQL, {"stage": stage_id, "contestants": contestants, "events": events})
    command = [str(ROOT / ".venv/bin/celery"), "-A", "config", "worker", "--pool", "solo"]
    command += ["--loglevel", "WARNING", "--without-heartbeat", "--without-gossip"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        began = time.perf_counter()
        while TallyEvent.objects.filter(stage_id=stage_id).exists():
            current_app.send_task("voting.fold_tallies", expires=30)
            time.sleep(2)
        seconds = time.perf_counter() - began
        peak = peak_rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=60)
    print(f"| celery worker (solo) | folded {events:,} tally events | {seconds:.0f} "
          f"| {peak:.0f} | 150 |", flush=True)  # fmt: skip
    with connection.cursor() as cursor:
        # A million rows: deleted in SQL (the ORM's collector would load every vote), after
        # vacuuming the folded outbox (each deleted vote's foreign-key check scans it).
        cursor.execute("VACUUM voting_tallyevent")
        cursor.execute("DELETE FROM voting_tally WHERE stage_id = %s", [stage_id])
        cursor.execute("DELETE FROM voting_vote WHERE stage_id = %s", [stage_id])
    sms_ingest.cleanup()
    return peak, events, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    env = bench_env(HOST)
    os.environ.update(env)
    ensure_database(env["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    import bench.vote_ingest as vote_ingest

    call_command("migrate", verbosity=0)
    print(f"database {env['DATABASE_URL'].rsplit('/', 1)[1]}, load {os.getloadavg()[0]:.2f}")
    peaks, statuses, web_seconds = web(env, args.votes)
    print("\n| process | work | seconds | peak RSS MB | target |")
    print("|---|---|---:|---:|---:|")
    work = f"{args.votes:,} votes ({statuses})"
    for n, peak in enumerate(peaks):
        print(f"| web worker {n + 1} of {len(peaks)} (gthread x {THREADS}) | {work} "
              f"| {web_seconds:.0f} | {peak:.0f} | 150 |", flush=True)  # fmt: skip
    vote_ingest.cleanup()
    worker(env, args.events)


if __name__ == "__main__":
    main()
