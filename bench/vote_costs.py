"""Where a vote's time goes: statements, round trips, database and Python time per web
vote and per SMS batch, and what each ledger index costs an inserted row.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/service_star_bench_<new> \\
      .venv/bin/python bench/vote_costs.py [--votes 2000] [--batches 5] [--profile FILE] [--profile-sms FILE] [--no-indexes]

In one process, on a fresh database (created and migrated here, deleted rows after), with
the garbage collector set as ``config.wsgi`` sets it in the web workers:

1. **web**: ``--votes`` first votes of distinct voters through ``POST /api/votes/`` with
   Django's test client (the production middleware of ``bench.settings_bench``); every
   statement is timed by an execute wrapper and named by its first words, so the table
   shows statements and round trips per vote, database time per statement kind, and the
   Python time (request time minus database time); then the CPU time per request of this
   process and of its PostgreSQL backend, for the votes and for as many requests to the
   bench ceiling (``bench/ceiling_app``). ``--profile`` writes a cProfile of the votes (top
   functions by own and by cumulative time);
2. **sms**: ``--batches`` 1,000-message batches (none with ``--batches 0``) of the simulator's traffic through
   ``route_sms_batch``, the same way; then as many batches as whole requests, signed as a
   gateway signs them and posted to ``/api/sms/inbound/`` with Django's test client (the
   middleware's checks, the signature, the JSON both ways and the answer included);
3. **indexes**: 5,000 ledger rows inserted with one multi-row statement under
   ``EXPLAIN (ANALYZE, BUFFERS, WAL)``, into ``voting_vote`` itself and into a copy with no
   index at all; then each index's blocks touched per inserted row
   (``pg_statio_user_indexes``) and size per row. WAL is the statement's own (EXPLAIN), so
   other sessions on the server do not blur it.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_env, ensure_database  # noqa: E402 -- after the path set-up

HOST = "127.0.0.1"


class StatementLog:
    """An execute wrapper: count and time each statement by its first words."""

    def __init__(self) -> None:
        self.count: dict[str, int] = defaultdict(int)
        self.seconds: dict[str, float] = defaultdict(float)

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds[_kind(sql)] += time.perf_counter() - began
            self.count[_kind(sql)] += 1

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def _kind(sql: str) -> str:
    words = " ".join(sql.split())
    if words.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")):
        return words.rsplit(" ", 1)[0]
    if words.startswith("WITH"):
        return "WITH … INSERT (vote + tally event)" if "INSERT" in words else "WITH … SELECT"
    if words.startswith("EXECUTE"):  # voting.ledger.prepared: named "<label>_<digest>"
        return "; ".join(part.split("(")[0].rsplit("_", 1)[0] for part in words.split("; "))
    verb = words.split(" ", 1)[0]
    if verb == "SELECT" and "n.now" in words:
        return "SELECT the vote's facts (read_facts_sql)"
    tables = ("voting_voter", "voting_vote", "voting_tallyevent", "voting_inboundsms")
    tables += ("voting_outboundsms", "staff_staffmember", "campaigns_contestant")
    for table in tables:
        if f'"{table}"' in words or f" {table} " in words:
            return f"{verb} {table}"
    return " ".join(words.split(" ")[:2])[:48]


def _table(title: str, log: StatementLog, units: int, unit: str, wall: float) -> None:
    print(f"\n{title}: {units:,} {unit}s, {wall / units * 1000:.2f} ms per {unit} in all")
    print(f"| statement | per {unit} | ms per {unit} |")
    print("|---|---:|---:|")
    for kind, n in sorted(log.count.items(), key=lambda item: -log.seconds[item[0]]):
        print(f"| `{kind}` | {n / units:.2f} | {log.seconds[kind] / units * 1000:.3f} |")
    print(
        f"| **all statements (round trips)** | {sum(log.count.values()) / units:.2f} "
        f"| {log.total / units * 1000:.3f} |"
    )
    print(f"| Python (the rest) | | {(wall - log.total) / units * 1000:.3f} |")


class CpuClock:
    """CPU seconds used by this process and by its PostgreSQL backend (read from
    ``/proc/<pid>/stat``: the server runs on this host; ``None`` if it cannot be read).
    Unlike wall time, CPU time barely moves when other work shares the machine, and it is
    what two cores shared by clients, server and database run out of."""

    def __init__(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self._stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")
        self._tick = os.sysconf("SC_CLK_TCK")

    def backend(self) -> float | None:
        try:
            fields = self._stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / self._tick  # utime + stime

    def read(self) -> tuple[float, float | None]:
        return time.process_time(), self.backend()


def _cpu_line(label: str, before: tuple, after: tuple, requests: int) -> None:
    python = (after[0] - before[0]) / requests * 1000
    if before[1] is None or after[1] is None:
        print(f"| {label} | {python:.3f} | - | - |")
        return
    backend = (after[1] - before[1]) / requests * 1000
    print(f"| {label} | {python:.3f} | {backend:.3f} | {python + backend:.3f} |")


def web(votes: int, profile: str | None) -> None:
    from django.db import connection
    from django.test import Client

    import bench.vote_ingest as vote_ingest

    vote_ingest.VOTERS = votes
    stage_id, numbers, tokens = vote_ingest.seed()
    client = Client(HTTP_HOST=HOST)
    bodies = [
        json.dumps({"stage": stage_id, "employee_no": numbers[n % len(numbers)], "voter_token": t})
        for n, t in enumerate(tokens)
    ]
    for body in bodies[:50]:  # warm-up: imports, caches, connection; other voters after
        client.post("/api/votes/", body, content_type="application/json")
        client.post("/bench/ceiling/", body, content_type="application/json")
    clock = CpuClock()
    log = StatementLog()
    profiler = cProfile.Profile() if profile else None
    cpu_began = clock.read()
    began = time.perf_counter()
    with connection.execute_wrapper(log):
        if profiler:
            profiler.enable()
        for body in bodies[50:]:
            response = client.post("/api/votes/", body, content_type="application/json")
            if response.status_code != 201:
                raise SystemExit(f"vote refused: {response.status_code} {response.content!r}")
        if profiler:
            profiler.disable()
    wall = time.perf_counter() - began
    cpu_votes = clock.read()
    for body in bodies[50:]:  # the bench ceiling (bench/ceiling_app), the same way
        client.post("/bench/ceiling/", body, content_type="application/json")
    cpu_ceiling = clock.read()
    _table("web vote, POST /api/votes/", log, votes - 50, "vote", wall)
    print("\nCPU per request, ms (the Django test client's own work included on both lines)")
    print("| case | this process | its PostgreSQL backend | both |")
    print("|---|---:|---:|---:|")
    _cpu_line("POST /api/votes/", cpu_began, cpu_votes, votes - 50)
    _cpu_line("ceiling: bare Django view, one INSERT", cpu_votes, cpu_ceiling, votes - 50)
    if profiler:
        _write_profile(profiler, profile)
    vote_ingest.cleanup()


def _write_profile(profiler: cProfile.Profile, path: str) -> None:
    """The top functions by own time, then by cumulative time, as text in ``path``."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(40)
    stats.sort_stats("cumulative").print_stats(60)
    Path(path).write_text(out.getvalue())
    print(f"(profile with cProfile's overhead: {path})")


def sms(batches: int, profile: str | None) -> None:
    from django.db import connection

    import bench.sms_ingest as sms_ingest
    from campaigns.messaging.inbound.gateways import generic_messages
    from campaigns.messaging.inbound.router import route_sms_batch
    from campaigns.messaging.inbound.simulate import TrafficMix

    _stage_id, numbers = sms_ingest.seed()
    mix = TrafficMix(employee_nos=numbers, voters=100_000, seed=int(time.time()), prefix="bench")
    payloads = list(mix.batches((batches + 1) * 1000, 1000))
    route_sms_batch(generic_messages({"messages": payloads[0]}), provider="generic")  # warm-up
    copies = _CopyCounter()
    log = copies.log
    counted = 0
    profiler = cProfile.Profile() if profile else None
    clock = CpuClock()
    cpu_began = clock.read()
    began = time.perf_counter()
    with connection.execute_wrapper(log):
        if profiler:
            profiler.enable()
        for payload in payloads[1:]:
            results = route_sms_batch(generic_messages({"messages": payload}), provider="generic")
            counted += sum(result.status == "counted" for result in results)
        if profiler:
            profiler.disable()
    wall = time.perf_counter() - began
    cpu_ended = clock.read()
    if profiler:
        _write_profile(profiler, profile)
    _table("SMS batch, route_sms_batch (1,000 messages)", log, batches, "batch", wall)
    print(f"votes counted: {counted:,} ({counted / wall:,.0f} votes/s in this one process)")
    print("\nCPU per batch, ms")
    print("| case | this process | its PostgreSQL backend | both |")
    print("|---|---:|---:|---:|")
    _cpu_line("route_sms_batch, 1,000 messages", cpu_began, cpu_ended, batches)
    sms_http(mix, batches, copies)
    sms_ingest.cleanup()


def sms_http(mix, batches: int, copies: "_CopyCounter") -> None:
    """``batches`` more batches of ``mix`` as whole requests to the generic webhook."""
    from django.db import connection
    from django.test import Client

    import bench.sms_ingest as sms_ingest
    from campaigns.messaging.inbound.gateways import sign_generic

    client = Client(HTTP_HOST=HOST)
    # Encoded as the gateway simulator encodes them, before the clocks start; signed just
    # before each post (the signature's timestamp must be fresh).
    bodies = [
        json.dumps({"messages": payload}, ensure_ascii=False).encode()
        for payload in mix.batches((batches + 1) * 1000, 1000)
    ]

    def post(body: bytes):
        stamp = str(int(time.time()))
        return client.post(
            "/api/sms/inbound/",
            body,
            content_type="application/json",
            headers={
                "X-Timestamp": stamp,
                "X-Signature": sign_generic(sms_ingest.SECRET, stamp, body),
            },
        )

    post(bodies[0])  # warm-up: the view, the serializers, the renderer
    log = copies.log = StatementLog()
    clock = CpuClock()
    cpu_began = clock.read()
    began = time.perf_counter()
    with connection.execute_wrapper(log):
        for body in bodies[1:]:
            response = post(body)
            if response.status_code != 200:
                raise SystemExit(f"batch refused: {response.status_code} {response.content!r}")
    wall = time.perf_counter() - began
    cpu_ended = clock.read()
    _table("SMS batch, POST /api/sms/inbound/ (1,000 messages)", log, batches, "batch", wall)
    print("\nCPU per batch, ms (the Django test client's own work included)")
    print("| case | this process | its PostgreSQL backend | both |")
    print("|---|---:|---:|---:|")
    _cpu_line("POST /api/sms/inbound/, 1,000 messages", cpu_began, cpu_ended, batches)


class _CopyCounter:
    """Counts the batch path's COPY statements too (they bypass the execute wrapper) into
    ``log``, the log of the measurement running: every module that imported ``copy_rows``
    gets a timed one, once."""

    def __init__(self) -> None:
        import importlib

        self.log = StatementLog()
        for name in ("voting.sms_votes.handler", "campaigns.messaging.services"):
            try:
                module = importlib.import_module(name)
            except ImportError:  # pragma: no cover -- the code of another commit
                continue
            if getattr(module, "copy_rows", None) is not None:  # code before COPY has none
                module.copy_rows = self._timed(module.copy_rows)

    def _timed(self, copy_rows):
        def timed(model, fields, rows):
            began = time.perf_counter()
            copy_rows(model, fields, rows)
            kind = f"COPY {model._meta.db_table}"
            self.log.seconds[kind] += time.perf_counter() - began
            self.log.count[kind] += 1

        return timed


_ROWS = 5000


def _insert_rows_sql(table: str, stage_id: int, contestant_id: int) -> str:
    return (
        f"INSERT INTO {table} (stage_id, contestant_id, voter_hash, phone_masked, channel, "  # noqa: S608 -- fixed names
        "ip_hash, ip_subnet_hash, user_agent_hash, cast_at, local_day, status, "
        "invalidated_reason, receipt_code, provider_message_id) "
        f"SELECT {stage_id}, {contestant_id}, md5(random()::text) || md5(random()::text), "
        "'138****0000', 'sms', '', '', '', now(), current_date, 'valid', '', "
        "substr(md5(random()::text), 1, 10), 'costs:' || n || ':' || random() "
        f"FROM generate_series(1, {_ROWS}) AS n"
    )


def _explain(cursor, sql: str) -> dict:
    cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, WAL, FORMAT JSON) {sql}")
    return cursor.fetchone()[0][0]


def indexes() -> None:
    from django.db import connection, transaction

    import bench.sms_ingest as sms_ingest
    from campaigns.models import Contestant

    stage_id, _numbers = sms_ingest.seed()
    contestant_id = Contestant.objects.filter(stage_id=stage_id).values_list("pk", flat=True)[0]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_costs_bare")
        cursor.execute(
            "CREATE TABLE bench_costs_bare (LIKE voting_vote INCLUDING DEFAULTS INCLUDING IDENTITY)"
        )
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(
            "SELECT indexrelname, idx_blks_hit + idx_blks_read FROM pg_statio_user_indexes "
            "WHERE relname = 'voting_vote'"
        )
        blocks_before = dict(cursor.fetchall())
    plans = {}
    for table in ("voting_vote", "bench_costs_bare"):
        with transaction.atomic(), connection.cursor() as cursor:
            plans[table] = _explain(cursor, _insert_rows_sql(table, stage_id, contestant_id))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    connection.close()  # the statistics are flushed at the end of the session's work
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelname, idx_blks_hit + idx_blks_read, pg_relation_size(indexrelid) "
            "FROM pg_statio_user_indexes WHERE relname = 'voting_vote' ORDER BY indexrelname"
        )
        index_rows = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM voting_vote")
        total_rows = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_costs_bare")
    print(f"\nledger insert of {_ROWS:,} rows in one statement (EXPLAIN ANALYZE, BUFFERS, WAL)")
    print(
        "| table | ms | ms per row | WAL bytes per row | WAL full-page images | buffers hit+read+dirtied per row |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for table, plan in plans.items():
        node = plan["Plan"]
        touched = (
            node["Shared Hit Blocks"] + node["Shared Read Blocks"] + node["Shared Dirtied Blocks"]
        )
        print(
            f"| `{table}` | {plan['Execution Time']:.1f} | {plan['Execution Time'] / _ROWS:.4f} "
            f"| {node['WAL Bytes'] / _ROWS:.0f} | {node['WAL FPI']} | {touched / _ROWS:.1f} |"
        )
    print(f"\nper index of voting_vote ({total_rows:,} rows in the table at the end)")
    print("| index | blocks touched per inserted row | bytes per row |")
    print("|---|---:|---:|")
    for name, blocks, size in index_rows:
        touched = (blocks - blocks_before.get(name, 0)) / _ROWS
        print(f"| `{name}` | {touched:.2f} | {size / max(total_rows, 1):.0f} |")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM voting_vote WHERE provider_message_id LIKE 'costs:%%'")
    sms_ingest.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--profile", default=None, help="write a cProfile of the web votes")
    parser.add_argument("--profile-sms", default=None, help="write a cProfile of the batches")
    parser.add_argument("--no-indexes", action="store_true", help="skip the index costs (3.)")
    args = parser.parse_args()
    env = bench_env(HOST, SMS_INBOUND_SECRET="bench-only-sms-inbound-secret")
    os.environ.update(env)
    ensure_database(env["DATABASE_URL"])
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    import config.wsgi  # noqa: F401 -- the web workers' garbage collector settings, as they run

    call_command("migrate", verbosity=0)
    settings.WAKEUPS_ENABLED = True  # as in production: the debounced wake-up is per request
    print(f"database {env['DATABASE_URL'].rsplit('/', 1)[1]}, load {os.getloadavg()[0]:.2f}")
    web(args.votes, args.profile)
    if args.batches:
        sms(args.batches, args.profile_sms)
    if not args.no_indexes:
        indexes()


if __name__ == "__main__":
    main()
