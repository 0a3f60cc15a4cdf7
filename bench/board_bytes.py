"""Benchmark: bytes per minute of an open leaderboard on a phone while votes flow.

Run:  .venv/bin/python bench/board_bytes.py [--minutes 2] [--contestants 300]
      (DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/service_star_bench,
      REDIS_URL to redis://127.0.0.1:6379/3; only this bench's rows and keys are deleted)

In one run, in one process (production settings plus the bench-only ceiling app, the
Django test client with ``Accept-Encoding: gzip``, so the GZip middleware compresses as it
does for a browser):

1. migrates the bench database and seeds an open stage with ``--contestants`` contestants
   (a page shows 100 rows, so more change nothing per poll) and a published board;
2. plays ``--minutes`` of an open board: every 3 s of board time (the page's poll
   interval, not waited for) 30 votes are cast through ``cast_vote`` for the top 20, folded
   and published as the workers would, then three phones each make their poll:
   * **reload**: the whole page, as a browser without the script would (the ceiling);
   * **whole fragment**: ``…/live/`` with ``If-None-Match``, the poll before issue 14;
   * **slim fragment**: ``…/live/?rows=10`` with ``If-None-Match`` and, every tenth poll, the
     whole fragment, as ``static/voting/js/leaderboard.js`` does for a phone at the top;
3. counts every response's bytes on the wire (status line, headers and the gzip body) and
   prints one markdown table: bytes per minute, per poll, the share of the ceiling, and the
   same polls' bytes per minute for a client without gzip (asked again, uncompressed).
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import DEFAULT_DB, bench_env, ensure_database  # noqa: E402 -- after the path set-up

POLL_SECONDS = 3
VOTES_PER_POLL = 30
SLIM_ROWS = 10
FULL_EVERY = 10  # as leaderboard.js: each tenth poll is a whole one
BENCH_CAMPAIGN = "Bench: board bytes"


def wire_bytes(response) -> int:
    """The response's size on the wire: status line, headers and body (as compressed)."""
    head = f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in response.headers.items())
    return len(head.encode()) + 2 + len(response.content)


def cleanup() -> None:
    """Delete this bench's rows (the ledger and the snapshot chain protect their stage:
    derived rows and votes first, newest snapshot first) and its cache keys."""
    from django.core.cache import cache
    from django.db import connection

    from campaigns.models import Campaign, Contestant, Stage
    from staff.models import StaffMember
    from voting.counting.leaderboards import board_cache_keys
    from voting.models import LeaderboardSnapshot, Vote

    stages = Stage.objects.filter(campaign__name=BENCH_CAMPAIGN)
    ids = list(stages.values_list("pk", flat=True))
    for stage_id in ids:
        cache.delete_many(board_cache_keys(stage_id))
    with connection.cursor() as cursor:
        for table in ("voting_tallyevent", "voting_tally"):
            cursor.execute(f"DELETE FROM {table} WHERE stage_id = ANY(%s)", [ids])  # noqa: S608 -- fixed names
    for snapshot in LeaderboardSnapshot.objects.filter(stage__in=ids).order_by("-pk"):
        snapshot.delete()
    Vote.objects.filter(stage__in=ids).delete()
    Contestant.objects.filter(stage__in=ids).delete()
    stages.delete()
    Campaign.objects.filter(name=BENCH_CAMPAIGN).delete()
    StaffMember.objects.filter(employee_no__startswith="BB").delete()


def seed(contestants: int):
    """An open stage of a public campaign with ``contestants`` contestants; leftovers of an
    earlier run are deleted first. Returns (stage, contestants)."""
    import datetime as dt

    from django.utils import timezone

    from campaigns.choices import CampaignStatus, ContestantStatus, StageKind, StageStatus
    from campaigns.models import Campaign, Contestant, Stage
    from staff.choices import UnitKind
    from staff.models import OrgUnit, Position, StaffMember
    from staff.phones import hash_phone

    cleanup()
    now = timezone.now()
    campaign = Campaign.objects.create(
        name=BENCH_CAMPAIGN,
        starts_on=now.date(),
        ends_on=now.date() + dt.timedelta(days=30),
        status=CampaignStatus.RUNNING,
    )
    stage = Stage.objects.create(
        campaign=campaign,
        order=1,
        name="Bench stage",
        kind=StageKind.CUSTOMER_VOTE,
        status=StageStatus.OPEN,
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=7),
        opened_at=now,
        quota=10,
        weights={"web_votes": "0.5", "sms_votes": "0.5"},
    )
    unit, _ = OrgUnit.objects.get_or_create(
        code="BENCH-BB", defaults={"name": "华城人民路营业厅", "kind": UnitKind.STORE}
    )
    position, _ = Position.objects.get_or_create(code="bench_bb", defaults={"name": "营业员"})
    members = StaffMember.objects.bulk_create(
        StaffMember(
            employee_no=f"BB{i:05d}",
            vote_code=f"99{i:05d}",
            name=f"选手{i:04d}",
            unit=unit,
            position=position,
            phone_hash=hash_phone(f"+86199{i:08d}"),
            phone_masked="199****0000",
        )
        for i in range(contestants)
    )
    rows = Contestant.objects.bulk_create(
        Contestant(stage=stage, staff_member=member, status=ContestantStatus.IN)
        for member in members
    )
    return stage, rows


def run(minutes: int, contestants: int) -> None:
    import random

    from django.test import Client
    from django.urls import reverse

    from staff.phones import parse_phone
    from voting.choices import VoteChannel
    from voting.counting.publication import publish_stage_leaderboard
    from voting.counting.tallies import fold_tally_events
    from voting.ledger.services import cast_vote

    stage, rows = seed(contestants)
    publish_stage_leaderboard(stage)
    page_url = reverse("voting:leaderboard", args=[stage.pk])
    live_url = reverse("voting:leaderboard-live", args=[stage.pk])
    client = Client(HTTP_ACCEPT_ENCODING="gzip", HTTP_ACCEPT_LANGUAGE="zh-hans")
    plain_client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.get(page_url)  # warm the cache as a first visitor would
    rng = random.Random(14)
    totals = {"reload": 0, "whole": 0, "slim": 0}
    plain_totals = dict(totals)
    etags = {"whole": "", "slim": "", "slim-whole": ""}
    polls = minutes * 60 // POLL_SECONDS
    voter = 0
    for poll in range(1, polls + 1):
        for _vote in range(VOTES_PER_POLL):
            phone = parse_phone(f"+86177{voter:08d}")
            voter += 1
            cast_vote(
                stage,
                contestant=rows[min(int(rng.expovariate(0.15)), 19)],
                voter_hash=phone.hash,
                phone_masked=phone.masked,
                channel=VoteChannel.WEB if voter % 5 else VoteChannel.SMS,
            )
        fold_tally_events()
        publish_stage_leaderboard(stage)

        whole = poll % FULL_EVERY == 0
        slim_url = live_url if whole else f"{live_url}?rows={SLIM_ROWS}"
        polls_now = {
            "reload": (page_url, None),
            "whole": (live_url, "whole"),
            "slim": (slim_url, "slim-whole" if whole else "slim"),
        }
        for name, (url, key) in polls_now.items():
            headers = {"HTTP_IF_NONE_MATCH": etags[key]} if key else {}
            answer = client.get(url, **headers)
            # The same poll unzipped (a client without gzip), for the uncompressed column.
            plain = plain_client.get(url, **headers)
            if key:
                etags[key] = answer.get("ETag", "")
            totals[name] += wire_bytes(answer)
            plain_totals[name] += wire_bytes(plain)

    ceiling = totals["reload"] / minutes
    print(
        f"\n{contestants} contestants, {VOTES_PER_POLL} votes every {POLL_SECONDS} s, "
        f"{polls} polls in {minutes} min of board time, gzip on\n"
    )
    print(
        "| what a phone downloads | bytes per minute | bytes per poll | share of the ceiling "
        "| bytes per minute without gzip |"
    )
    print("|---|---:|---:|---:|---:|")
    labels = {
        "reload": "ceiling: the whole page every 3 s (a reload)",
        "whole": "whole live fragment every 3 s (before issue 14)",
        "slim": f"slim fragment (?rows={SLIM_ROWS}), each {FULL_EVERY}th poll whole",
    }
    for name, label in labels.items():
        per_minute = totals[name] / minutes
        print(
            f"| {label} | {per_minute:,.0f} | {totals[name] / polls:,.0f} "
            f"| {per_minute / ceiling:.0%} | {plain_totals[name] / minutes:,.0f} |"
        )
    cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=2)
    parser.add_argument("--contestants", type=int, default=300)
    args = parser.parse_args()
    database = os.environ.get("DATABASE_URL", DEFAULT_DB)
    ensure_database(database)
    os.environ.update(
        bench_env(
            "testserver",
            DATABASE_URL=database,
            REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3"),
        )
    )
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import override_settings

    django.setup()
    call_command("migrate", verbosity=0)
    started = time.monotonic()
    # Plain static URLs: the pages' hashed names need a collectstatic manifest, and the
    # bytes counted here are the pages', not the static files'.
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        run(args.minutes, args.contestants)
    print(f"\n(run took {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
