"""``manage.py sms_simulate --votes N --rate R``: post signed, realistic SMS traffic to a
running server's generic webhook and print what came back (``campaigns.messaging.inbound.simulate``)."""

import time
from collections import Counter
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.choices import ContestantStatus, StageStatus
from campaigns.messaging.inbound.simulate import TrafficMix, WebhookClient, percentile
from campaigns.models import Contestant


class Command(BaseCommand):
    help = "Sign and post simulated inbound SMS votes to a running server; print a summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--votes", type=int, default=1000, help="Messages to send.")
        parser.add_argument("--rate", type=float, default=100.0, help="Messages per second.")
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000/api/sms/inbound/",
            help="The generic webhook of the running server.",
        )
        parser.add_argument("--batch", type=int, default=100, help="Messages per request.")
        parser.add_argument("--stage", type=int, help="Stage id (default: every open stage).")
        parser.add_argument("--seed", type=int, default=int(time.time()), help="Random seed.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SMS_INBOUND_SECRET:
            raise CommandError("SMS_INBOUND_SECRET is not set: the server would refuse everything.")
        if not 1 <= options["batch"] <= 1000:
            raise CommandError("--batch must be between 1 and 1000.")
        contestants = Contestant.objects.filter(
            status=ContestantStatus.IN, stage__status=StageStatus.OPEN
        )
        if options["stage"]:
            contestants = contestants.filter(stage_id=options["stage"])
        numbers = sorted(set(contestants.values_list("staff_member__employee_no", flat=True)))
        if not numbers:
            raise CommandError("No open stage with contestants: open a stage first.")
        mix = TrafficMix(employee_nos=numbers, seed=options["seed"], voters=20_000)
        client = WebhookClient(options["url"], settings.SMS_INBOUND_SECRET)
        statuses: Counter[str] = Counter()
        http_statuses: Counter[int] = Counter()
        latencies: list[float] = []
        interval = options["batch"] / max(options["rate"], 0.001)
        started = time.perf_counter()
        sent = 0
        try:
            for n, batch in enumerate(mix.batches(options["votes"], options["batch"])):
                due = started + n * interval
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                outcome = client.post(batch)
                http_statuses[outcome.status] += 1
                latencies.append(outcome.latency)
                for result in outcome.results:
                    key = result["status"]
                    if result.get("code"):
                        key = f"{key}/{result['code']}"
                    statuses[key] += 1
                sent += len(batch)
                self.stdout.write(f"\r{sent:,} / {options['votes']:,} sent", ending="")
                self.stdout.flush()
        finally:
            client.close()
        elapsed = time.perf_counter() - started
        self.stdout.write("")
        self.stdout.write(f"{sent:,} messages in {len(latencies)} requests, {elapsed:.1f} s")
        self.stdout.write(f"HTTP: {dict(sorted(http_statuses.items()))}")
        self.stdout.write("")
        self.stdout.write(f"{'result':<32}{'messages':>10}{'share':>9}")
        total = sum(statuses.values()) or 1
        for key, count in sorted(statuses.items(), key=lambda item: -item[1]):
            self.stdout.write(f"{key:<32}{count:>10,}{count / total:>9.1%}")
        self.stdout.write("")
        self.stdout.write(
            f"latency per request: p50 {percentile(latencies, 50) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 99) * 1000:.0f} ms, "
            f"max {max(latencies, default=0) * 1000:.0f} ms"
        )
