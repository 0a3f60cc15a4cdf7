"""Real Celery workers against the test database.

Each test starts ``celery -A config worker`` subprocesses on the same PostgreSQL test
database and a throwaway filesystem broker in a temporary folder (or ``REDIS_URL`` when
set), and always kills them in a ``finally``. SQLite's in-memory test database is
invisible to a subprocess, so these tests need PostgreSQL.

Waits poll with generous deadlines: they detect hangs, they do not measure time.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from campaigns.clock import db_now, local_day
from campaigns.models import Contestant, Stage
from staff.phones import parse_phone
from tests.factories.campaigns import ContestantFactory, StageFactory
from voting.choices import VoteChannel, VoteStatus
from voting.counting.leaderboards import leaderboard_for_stage
from voting.counting.recount import recount_stage
from voting.ledger.outbox import record_tally_events
from voting.ledger.services import cast_vote
from voting.models import Tally, TallyEvent, Vote
from voting.tasks import fold_tallies_task

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
        reason=(
            "real worker tests need PostgreSQL: the SQLite test database is in memory and "
            "invisible to a worker subprocess (set DATABASE_URL to run them)"
        ),
    ),
]

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
DEADLINE = 40.0


def wait_for(condition: Callable[[], object], *, what: str, deadline: float = DEADLINE) -> object:
    """Poll ``condition`` until it returns something truthy; fail after ``deadline`` s."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out after {deadline:.0f} s waiting for {what}")


WORKER_APP_NAME = "service-star-test-worker"


class Workers:
    """Starts worker subprocesses sharing the test database and a broker folder."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.processes: list[tuple[subprocess.Popen, Path]] = []
        db = connection.settings_dict
        password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": (
                f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
                f"{db['PORT'] or 5432}/{db['NAME']}"
            ),
            "CELERY_BROKER_FOLDER": str(tmp_path / "broker"),
            "WAKEUPS_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
            # libpq names the workers' connections, so the test watches only theirs (a
            # browser test that failed mid-way may leave a page polling the live server).
            "PGAPPNAME": WORKER_APP_NAME,
        }

    def start(self, *, name: str, pool: str = "prefork", beat: bool = False, **env: str):
        log = self.tmp_path / f"{name}.log"
        command = [
            CELERY, "-A", "config", "worker", "-Q", "celery", "--concurrency", "1",
            "--pool", pool, "--loglevel", "INFO", "-n", f"{name}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        if beat:
            command += ["-B", "--schedule", str(self.tmp_path / f"{name}-beat")]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**self.env, **env},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed as a whole
        )
        self.processes.append((process, log))
        wait_for(lambda: b" ready." in log.read_bytes(), what=f"worker {name} to start")
        return process, log

    def kill(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def kill_all(self) -> None:
        for process, _log in self.processes:
            with contextlib.suppress(ProcessLookupError):  # already gone
                self.kill(process)


@pytest.fixture
def workers(tmp_path: Path, settings) -> Iterator[Workers]:
    """Workers, and this process publishing to the same broker. Killed at the end."""
    pool = Workers(tmp_path)
    if not os.environ.get("REDIS_URL"):
        folders = {name: tmp_path / "broker" / name for name in ("broker", "processed", "control")}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        settings.CELERY_BROKER_URL = "atomicfs://"
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
            "data_folder_in": str(folders["broker"]),
            "data_folder_out": str(folders["broker"]),
            "processed_folder": str(folders["processed"]),
            "store_processed": False,
            "control_folder": str(folders["control"]),
        }
    else:
        settings.CELERY_BROKER_URL = os.environ["REDIS_URL"]
    try:
        yield pool
    finally:
        pool.kill_all()
        wait_for(lambda: not _worker_backends(), what="worker connections to close")


def send_fold() -> None:
    """One ``voting.fold_tallies`` message, as beat or a wake-up would send it."""
    app = fold_tallies_task.app
    with app.connection_for_write(
        url=django_settings.CELERY_BROKER_URL,
        transport_options=django_settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    ) as broker:
        fold_tallies_task.apply_async(connection=broker)


def _worker_backends() -> list[tuple[int, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state, query FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [WORKER_APP_NAME],
        )
        return cursor.fetchall()


def fold_in_flight() -> int | None:
    """The backend pid of a fold holding its batch (deleted, not yet committed), if any."""
    for pid, state, query in _worker_backends():
        if state == "idle in transaction" and 'DELETE FROM "voting_tallyevent"' in query:
            return pid
    return None


def pool_children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def open_stage(contestants: int = 3) -> tuple[Stage, list[Contestant]]:
    stage = StageFactory(open=True, every_channel=True)
    return stage, ContestantFactory.create_batch(contestants, stage=stage)


def cast_votes(stage: Stage, contestants: list[Contestant], n: int) -> None:
    for i in range(n):
        phone = parse_phone(f"195{i:08d}")
        cast_vote(
            stage,
            contestant=contestants[i % len(contestants)],
            voter_hash=phone.hash,
            phone_masked=phone.masked,
            channel=VoteChannel.values[i % 3],
        )


def ledger(stage: Stage) -> dict[tuple[int, str], int]:
    rows = Vote.objects.filter(stage=stage, status=VoteStatus.VALID)
    return dict(Counter(rows.values_list("contestant_id", "channel")))


def tallies(stage: Stage) -> dict[tuple[int, str], int]:
    rows = Tally.objects.filter(stage=stage).exclude(votes=0)
    return {(row.contestant_id, row.channel): row.votes for row in rows}


@pytest.mark.parametrize("reject_on_worker_lost", [True, False], ids=["reject-on", "reject-off"])
def test_worker_killed_mid_batch_loses_nothing_and_counts_nothing_twice(
    workers, reject_on_worker_lost
):
    stage, contestants = open_stage()
    cast_votes(stage, contestants, 60)
    faulty, faulty_log = workers.start(
        name="faulty",
        VOTING_TALLY_FAULT_SLEEP="30",
        CELERY_TASK_REJECT_ON_WORKER_LOST=str(reject_on_worker_lost).lower(),
    )

    send_fold()
    backend = wait_for(fold_in_flight, what="the fold to hold its batch")
    [child] = pool_children(faulty.pid)
    os.kill(child, signal.SIGKILL)
    wait_for(lambda: backend not in [pid for pid, *_ in _worker_backends()], what="rollback")

    # The killed transaction rolled back: every event is still there, nothing counted.
    assert TallyEvent.objects.filter(stage=stage).count() == 60
    assert tallies(stage) == {}
    if reject_on_worker_lost:
        # acks_late + reject_on_worker_lost: the message comes back and a fresh pool
        # process claims the batch again (and holds it, the fault being still on).
        wait_for(fold_in_flight, what="the redelivered message to be folded again")
    else:
        wait_for(lambda: b"WorkerLostError" in faulty_log.read_bytes(), what="the lost task")
    workers.kill(faulty)
    wait_for(lambda: fold_in_flight() is None, what="the faulty worker's rollback")
    assert TallyEvent.objects.filter(stage=stage).count() == 60
    assert tallies(stage) == {}

    # A fresh worker with beat and no message at all: the sweep drains the outbox.
    workers.start(name="fresh", beat=True)
    wait_for(
        lambda: not TallyEvent.objects.filter(stage=stage).exists(), what="the outbox to drain"
    )

    assert tallies(stage) == ledger(stage)
    assert sum(tallies(stage).values()) == 60
    assert recount_stage(stage).ok is True


def test_two_workers_at_once_count_like_one(workers):
    stage, contestants = open_stage(contestants=5)
    now = db_now()
    votes = Vote.objects.bulk_create(
        Vote(
            stage=stage,
            contestant=contestants[i % 5],
            voter_hash=f"bulk-{i}",
            phone_masked="195****0000",
            channel=VoteChannel.values[i % 3],
            cast_at=now,
            local_day=local_day(now),
            receipt_code=f"W{i:09d}",
        )
        for i in range(2000)
    )
    record_tally_events(
        [(v.pk, stage.pk, v.contestant_id, v.channel, v.is_served) for v in votes], delta=1
    )
    for name in ("one", "two"):
        workers.start(name=name, pool="solo", VOTING_TALLY_BATCH_SIZE="25")

    for _ in range(4):
        send_fold()
    wait_for(lambda: not TallyEvent.objects.exists(), what="two workers to drain the outbox")

    assert tallies(stage) == ledger(stage)
    assert sum(tallies(stage).values()) == 2000
    assert recount_stage(stage).ok is True


def test_a_committed_vote_shows_on_the_published_board(workers):
    stage, contestants = open_stage(contestants=2)
    workers.start(name="live", beat=True)

    cast_votes(stage, contestants[:1], 1)

    def published() -> bool:
        entries = leaderboard_for_stage(stage.pk).entries
        return any(entry["votes"] == 1 for entry in entries)

    wait_for(published, what="the vote on the published board", deadline=20)
    board = leaderboard_for_stage(stage.pk)
    assert [(e["contestant_id"], e["votes"]) for e in board.entries] == [
        (contestants[0].pk, 1),
        (contestants[1].pk, 0),
    ]
