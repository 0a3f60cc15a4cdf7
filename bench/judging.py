"""Benchmark: from a judge's submitted score to the venue screen showing it (issue 10).

Run:  .venv/bin/python bench/judging.py [--contestants 8]
      (DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/service_star_bench; demo
      staff are seeded there if it has too few; gunicorn listens on JUDGING_BENCH_PORT, 8796)

In one run on one machine:

1. migrates the bench database and seeds a live contest (an open stage, its panel with the
   rubric 40/30/30, ten judges with sign-in links, ``--contestants`` contestants);
2. starts gunicorn (the vote ingest bench's: gthread workers, keep-alive) and opens the
   real venue screen ``/screen/<stage>/`` in headless Chromium (Debian's, as the browser
   tests use), with its real JavaScript polling every second with ``If-None-Match``;
3. for each contestant: the host puts them on stage (the service, as the host page's
   button does), and once the screen shows them, each judge in turn submits a score over
   HTTP exactly as the tablet does (``POST /judge/<stage>/scores/`` with the judge's session
   and CSRF token, a fresh idempotency key). The time measured is from just before the
   POST to the moment the screen's "N of M judges have scored" shows the new N (a
   ``requestAnimationFrame`` poll in the page);
4. prints p50, p90, p99 and the maximum, and ``uptime`` before and after; deletes its rows.

Each score is sent at a random moment of the screen's one-second poll cycle (a random
wait before it), as real judges do. The screen polls every second, so the expected figure
is about half a second at p50 and just over a second at p99: the poll interval, not the
server, dominates.
"""

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402 -- after the path set-up
    bench_env,
    ensure_database,
    percentile,
    start_gunicorn,
)
from bench.vote_ingest import HOST, THREADS, WORKERS  # noqa: E402

CAMPAIGN = "Bench: judging"
JUDGES = 10
# Not the vote benches' port: this one may run beside them.
PORT = int(os.environ.get("JUDGING_BENCH_PORT", "8796"))
CHROMIUM = "/usr/bin/chromium"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def cleanup() -> None:
    from campaigns.models import Campaign
    from evaluations.models import Judge, Score, SignInLink
    from staff.models import AuditEvent

    campaigns = Campaign.objects.filter(name=CAMPAIGN)
    Score.objects.filter(panel__stage__campaign__in=campaigns).delete()
    SignInLink.objects.filter(panel__stage__campaign__in=campaigns).delete()
    AuditEvent.objects.filter(campaign_id__in=list(campaigns.values_list("pk", flat=True))).delete()
    campaigns.delete()
    users = [j.user for j in Judge.objects.filter(user__username__startswith="bench-judge-")]
    Judge.objects.filter(user__username__startswith="bench-judge-").delete()
    for user in users:
        user.delete()


def seed(contestants: int) -> tuple[int, list[int], list[tuple[int, str]]]:
    """The stage id, contestant ids in running order, and (judge id, sign-in path) pairs."""
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.urls import reverse
    from django.utils import timezone

    from campaigns.choices import ComponentKey, StageKind, StageStatus
    from campaigns.models import Campaign, Contestant, Stage
    from evaluations.choices import JudgeType
    from evaluations.services import links, setup
    from staff.demo import seed_demo_directory
    from staff.models import StaffMember

    cleanup()
    now = timezone.now()
    campaign = Campaign.objects.create(
        name=CAMPAIGN, starts_on=now.date(), ends_on=now.date() + dt.timedelta(days=1)
    )
    stage = Stage.objects.create(
        campaign=campaign, order=1, name="Bench live contest", kind=StageKind.LIVE_CONTEST,
        quota=3, weights={ComponentKey.JUDGE_SCORE: "1"}, status=StageStatus.OPEN,
        opened_at=now, closes_at=now + dt.timedelta(hours=6),
    )  # fmt: skip
    if StaffMember.objects.count() < contestants:
        seed_demo_directory(staff_count=contestants)
    staff = list(StaffMember.objects.order_by("pk")[:contestants])
    rows = [
        Contestant(stage=stage, staff_member=m, running_order=n) for n, m in enumerate(staff, 1)
    ]
    Contestant.objects.bulk_create(rows)
    panel = setup.create_panel(stage, actor=None)
    for index, (name, top) in enumerate((("业务技能", 40), ("服务规范", 30), ("应变沟通", 30))):
        setup.save_criterion(
            panel, name=name, max_points=top, order=index, actor=None, reason="bench"
        )
    users = get_user_model().objects
    judges = [
        setup.register_judge(
            users.create_user(username=f"bench-judge-{n}", password=None),
            judge_type=JudgeType.EXPERT if n < 6 else JudgeType.PUBLIC,
            display_name=f"Bench judge {n}",
            actor=None,
        )
        for n in range(JUDGES)
    ]
    setup.set_panel_judges(panel, judges=judges, actor=None)
    paths = []
    for judge in judges:
        link = links.issue_sign_in_link(panel, judge=judge, actor=None)
        paths.append((judge.pk, reverse("evaluations:link-sign-in", args=[links.link_token(link)])))
    ids = list(
        Contestant.objects.filter(stage=stage)
        .order_by("running_order")
        .values_list("pk", flat=True)
    )
    return stage.pk, ids, paths


class Tablet:
    """One judge's tablet, speaking HTTP as tablet.js does (session cookie, CSRF token)."""

    def __init__(self, sign_in_path: str, stage_id: int) -> None:
        self.connection = http.client.HTTPConnection(HOST, PORT, timeout=30)
        self.stage_id = stage_id
        self.cookies = SimpleCookie()
        self._get(sign_in_path)
        self._get(f"/judge/{stage_id}/")
        self.csrf = self.cookies["csrftoken"].value

    def _keep(self, response: http.client.HTTPResponse) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.load(header)

    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v.value}" for k, v in self.cookies.items())

    def _get(self, path: str) -> None:
        self.connection.request("GET", path, headers={"Cookie": self._cookie_header()})
        response = self.connection.getresponse()
        response.read()
        self._keep(response)

    def submit(self, contestant_id: int, points: dict[str, int]) -> None:
        body = json.dumps({"key": str(uuid.uuid4()), "contestant": contestant_id, "points": points})
        headers = {
            "Cookie": self._cookie_header(),
            "X-CSRFToken": self.csrf,
            "Content-Type": "application/json",
        }
        self.connection.request("POST", f"/judge/{self.stage_id}/scores/", body, headers)
        response = self.connection.getresponse()
        answer = response.read()
        if response.status != 201:
            raise SystemExit(f"score refused: {response.status} {answer[:200]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contestants", type=int, default=8)
    args = parser.parse_args()

    env = bench_env(HOST)
    os.environ.update(env)
    ensure_database(env["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from evaluations.models import Criterion, Panel
    from evaluations.services import live

    before = uptime()
    print(f"uptime before: {before}", flush=True)
    stage_id, contestant_ids, paths = seed(args.contestants)
    panel = Panel.objects.get(stage_id=stage_id)
    criteria = list(Criterion.objects.filter(panel=panel).order_by("order"))
    connections.close_all()
    server = start_gunicorn(env, host=HOST, port=PORT, workers=WORKERS, threads=THREADS)
    # Playwright's sync API runs an event loop in this thread; the host's service calls
    # here are plain synchronous ORM work, as in the browser tests.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    latencies: list[float] = []
    rng = random.Random(10)
    try:
        tablets = [Tablet(path, stage_id) for _judge, path in paths]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
            page.goto(f"http://{HOST}:{PORT}/screen/{stage_id}/")
            for number, contestant_id in enumerate(contestant_ids, start=1):
                live.put_on_stage(panel, contestant_id=contestant_id, actor=None)
                page.wait_for_function(
                    "order => { const o = document.querySelector('.scr-order');"
                    " return o && o.textContent.includes(String(order)); }",
                    arg=number, timeout=10_000,
                )  # fmt: skip
                for scored, tablet in enumerate(tablets, start=1):
                    points = {
                        str(c.pk): (c.max_points * (scored + number)) % (c.max_points + 1)
                        for c in criteria
                    }
                    # Judges submit at random moments of the screen's poll cycle; right after
                    # the screen showed the previous score would always wait a whole poll.
                    page.wait_for_timeout(rng.uniform(0, 1000))
                    started = time.perf_counter()
                    tablet.submit(contestant_id, points)
                    page.wait_for_function(
                        "n => { const p = document.querySelector('.scr-progress');"
                        " return p && p.textContent.includes(' ' + n + ' '); }",
                        arg=scored, polling="raf", timeout=10_000,
                    )  # fmt: skip
                    latencies.append((time.perf_counter() - started) * 1000)
            browser.close()
    finally:
        server.terminate()
        server.wait()
        connections.close_all()
        cleanup()
    after = uptime()
    print(f"gunicorn {WORKERS} gthread workers x {THREADS} threads; screen poll 1 s; "
          f"{len(latencies)} scores ({args.contestants} contestants x {JUDGES} judges)")  # fmt: skip
    print("| measure | p50 ms | p90 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| submitted score -> screen shows it | {percentile(latencies, 50):.0f} | "
        f"{percentile(latencies, 90):.0f} | {percentile(latencies, 99):.0f} | {max(latencies):.0f} |"
    )
    print(f"uptime after: {after}")


if __name__ == "__main__":
    main()
