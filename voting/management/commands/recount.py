"""``manage.py recount [--stage ID] [--repair --reason TEXT [--actor USERNAME]]``: recount
stages from the vote ledger.

Compares a from-scratch count of valid votes with the tallies (and pending outbox events),
verifies the leaderboard digest chain and the latest snapshot (``voting.counting.recount``),
stores each check for the admin, prints the differences, and exits with status 1 when any
stage differs (also after ``--repair``, which fixes the tallies and records it in the audit
log).

A repair is an admin action like any other: it needs ``--reason`` (1 to 1,000 characters)
and is recorded under a real person. That is the active staff user named by ``--actor``,
or else the user whose username equals the operating-system login running the command
(``getpass.getuser()``, e.g. an operator logged in as ``zhang.wei`` who has an admin account
of that name). With neither, the repair is refused before anything is read.
"""

import getpass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from tqdm import tqdm

from campaigns.models import Stage
from staff.audit import clean_reason
from staff.exceptions import DomainError
from staff.selectors import command_actor
from voting.counting.recount import RECOUNTED_STATUSES, recount_stage

STEPS = 3  # count, chain, store: the progress callbacks of recount_stage


def _repair_actor(username: str) -> AbstractBaseUser:
    """The active staff user who makes a repair: ``--actor``, else the OS login's name."""
    user = command_actor(username)
    if user is None:
        raise CommandError(
            _("No active admin user %(name)s: name the admin making the repair with --actor.")
            % {"name": username or getpass.getuser()}
        )
    return user


class Command(BaseCommand):
    help = "Recount stages from the vote ledger and compare with tallies and published boards."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stage", type=int, help="Only this stage (id).")
        parser.add_argument(
            "--repair",
            action="store_true",
            help="Rewrite differing tallies from the ledger (recorded in the audit log).",
        )
        parser.add_argument("--reason", default="", help="Why the repair is made (required).")
        parser.add_argument(
            "--actor",
            default="",
            help="Username of the admin making the repair (default: the OS user's name).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor, reason = None, ""
        if options["repair"]:
            try:
                reason = clean_reason(options["reason"])
            except DomainError as exc:
                raise CommandError(
                    _("--repair needs --reason: %(error)s") % {"error": exc.message}
                ) from exc
            actor = _repair_actor(options["actor"])
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
                    stage,
                    repair=options["repair"],
                    actor=actor,
                    reason=reason,
                    progress=lambda _step: bar.update(1),
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
