"""The embedded default as ``make demo`` runs it: a web server, a Celery worker and Celery
beat as three processes with no environment but throwaway folders. They must share what
processes share (the database, the broker and the cache), or the web server never sees the
worker's publication confirmations and reports a stall while beat runs.

Waits poll with generous deadlines: they detect hangs and wrong states, they measure nothing.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Variables a developer's or CI's shell may hold that the embedded default must not see.
# (The test settings put DEBUG=false and test keys into this process's environment.)
NOT_INHERITED = {
    *("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "PYTEST_ARGS", "DEBUG"),
    *("SECRET_KEY", "PHONE_HASH_KEY", "SMS_INBOUND_SECRET", "DJANGO_ALLOW_ASYNC_UNSAFE"),
}
# Board freshness: stale after max(3 publish intervals, 10 s) (voting board freshness).
STALE_AFTER = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(condition: Callable[[], object], *, what: str, deadline: float) -> object:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        result = condition()
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"timed out after {deadline:.0f} s waiting for {what}")


class Demo:
    """The three processes of ``bin/demo-run`` on a throwaway database, broker and cache."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.port = _free_port()
        clean = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
        self.env = {
            **clean,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "CELERY_BROKER_FOLDER": str(tmp_path / "celery"),
            "CACHE_FOLDER": str(tmp_path / "cache"),
            "PYTHONUNBUFFERED": "1",
        }
        self.processes: dict[str, subprocess.Popen] = {}

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=240,
        )

    def start(self, name: str, command: list[str]) -> None:
        log = (self.tmp_path / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def get(self, path: str) -> tuple[int, bytes]:
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.read()
        except OSError:
            return 0, b""

    def board_stale(self, stage_id: str) -> bool | None:
        """The health endpoint's verdict on the stage's board (None before it answers)."""
        status, body = self.get("/healthz")
        if status != 200:
            return None
        stages = json.loads(body)["leaderboards"]["stages"]
        return stages[stage_id]["stale"] if stage_id in stages else None


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


@pytest.mark.timeout(420)
def test_embedded_demo_reports_no_stall_while_beat_runs_and_one_when_it_stops(demo):
    demo.manage("migrate", "--noinput")
    demo.manage("seed_demo", "--staff", "60", "--votes", "300", "--quiet")
    celery = str(BIN / "celery")
    demo.start(
        "worker",
        [celery, "-A", "config", "worker", "--queues", "celery,heavy", "--concurrency", "1",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
    )  # fmt: skip
    demo.start("beat", [celery, "-A", "config", "beat", "--schedule", str(demo.tmp_path / "bs")])
    demo.start(
        "web", [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{demo.port}"]
    )
    _wait_for(lambda: demo.board_stale("1") is False, what="a fresh board", deadline=90)

    # Well past the stale threshold with no vote arriving: beat keeps confirming the board.
    verdicts = []
    end = time.monotonic() + STALE_AFTER + 8
    while time.monotonic() < end:
        verdicts.append(demo.board_stale("1"))
        time.sleep(1)
    assert set(verdicts) == {False}
    status, page = demo.get("/stages/1/leaderboard/")
    assert status == 200
    assert b"board-stale" not in page

    demo.stop("beat")
    _wait_for(lambda: demo.board_stale("1") is True, what="the stall to be reported", deadline=60)
    status, page = demo.get("/stages/1/leaderboard/")
    assert status == 200
    assert b"board-stale" in page
