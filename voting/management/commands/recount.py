"""``manage.py recount [--stage ID] [--repair]``: recount stages from the vote ledger.

Compares a from-scratch count of valid votes with the tallies (and pending outbox events),
verifies the leaderboard digest chain and the latest snapshot (``voting.counting.recount``), stores
each check for the admin, prints the differences, and exits with status 1 when any stage
differs (also after ``--repair``, which fixes the tallies and records it in the audit log).
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from tqdm import tqdm

from campaigns.models import Stage
from voting.counting.recount import RECOUNTED_STATUSES, recount_stage

STEPS = 3  # count, chain, store: the progress callbacks of recount_stage


class Command(BaseCommand):
    help = "Recount stages from the vote ledger and compare with tallies and published boards."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stage", type=int, help="Only this stage (id).")
        parser.add_argument(
            "--repair",
            action="store_true",
            help="Rewrite differing tallies from the ledger (recorded in the audit log).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["stage"] is not None:
            stages = list(Stage.objects.filter(pk=options["stage"]))
            if not stages:
                raise CommandError(_("There is no stage %(id)s.") % {"id": options["stage"]})
        else:
            stages = list(Stage.objects.filter(status__in=RECOUNTED_STATUSES).order_by("pk"))
        failed = 0
        with tqdm(total=len(stages) * STEPS, unit="step", file=self.stderr) as bar:
            for stage in stages:
                bar.set_description(str(stage)[:40])
                report = recount_stage(
                    stage, repair=options["repair"], progress=lambda _step: bar.update(1)
                )
                verdict = _("equal") if report.ok else _("DIFFERENT")
                bar.write(
                    _("stage %(id)s: %(votes)s valid votes, %(verdict)s (%(seconds).2f s)")
                    % {
                        "id": stage.pk,
                        "votes": report.valid_votes,
                        "verdict": verdict,
                        "seconds": report.duration.total_seconds(),
                    },
                    file=self.stdout,
                )
                for difference in report.differences:
                    bar.write(f"  {difference}", file=self.stdout)
                failed += not report.ok
        if failed:
            raise CommandError(
                _("%(n)s stage(s) differ from the ledger.") % {"n": failed}, returncode=1
            )
