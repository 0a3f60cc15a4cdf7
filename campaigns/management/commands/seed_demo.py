"""``manage.py seed_demo``: load the demo operator and campaign, and print how to log in.

Each step is one service call; later issues add steps (votes, scores) to ``Command.steps()``.
Every step is idempotent, so the command can be run again at any time. The command lives in
``campaigns`` because it seeds a campaign: ``staff`` must never import ``campaigns``.
"""

import unicodedata
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.urls import reverse
from django.utils.translation import gettext as _
from tqdm import tqdm

from campaigns import selectors
from campaigns.demo import seed_demo_campaign
from campaigns.models import Campaign
from campaigns.signals import demo_campaign_seeded, demo_data_seeded
from staff.demo import DemoAccount, ensure_demo_accounts, seed_demo_directory


def _width(text: str) -> int:
    """Terminal columns of ``text``: CJK characters (translated labels) take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class _BarStream:
    """Lets tqdm draw on a command's stderr: no added newline, no error colouring."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self._wrapper = wrapper

    def write(self, text: str) -> None:
        self._wrapper.write(text, style_func=str, ending="")

    def __getattr__(self, name: str) -> Any:
        # flush, fileno, isatty… come from the real stream (tqdm sizes the bar with them).
        return getattr(self._wrapper, name)


class ProgressBars:
    """A ``progress(step, done, total)`` callback drawing one tqdm bar per step."""

    def __init__(self, stream: OutputWrapper, *, disable: bool) -> None:
        self._stream = _BarStream(stream)
        self._disable = disable
        self._step = ""
        self._bar: tqdm | None = None

    def __call__(self, step: str, done: int, total: int) -> None:
        if self._bar is None or step != self._step:
            self.close()
            labels = {"units": _("Organisation units"), "staff": _("Staff members")}
            self._step = step
            self._bar = tqdm(
                total=total,
                desc=labels.get(step, step),
                file=self._stream,
                disable=self._disable,
                leave=True,
            )
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


# Demo votes in stage 1.
DEFAULT_VOTES = 1_000_000


class Command(BaseCommand):
    help = (
        "Load a realistic demo operator (7,000 staff), the demo campaign with stage 1 open "
        "and a million demo votes in it, and the demo logins. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--staff", type=int, default=7000, help="Number of demo staff (default 7000)."
        )
        parser.add_argument(
            "--votes",
            type=int,
            default=DEFAULT_VOTES,
            help=f"Demo votes in stage 1 in all (default {DEFAULT_VOTES:_}); 0 adds none.",
        )
        parser.add_argument("--quiet", action="store_true", help="No progress bars.")
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the site is served, for the printed links.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even though DEBUG is off. The demo passwords are public: never in production.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["staff"] < 0:
            raise CommandError(_("--staff must be zero or more."))
        if options["votes"] < 0:
            raise CommandError(_("--votes must be zero or more."))
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                _(
                    "DEBUG is off, so this may be a production database. The demo creates a "
                    "superuser whose password is public; pass --force if this is really a demo."
                )
            )
        self.options = options
        self.accounts: list[DemoAccount] = []
        self.campaign: Campaign | None = None
        quiet = options["quiet"] or options["verbosity"] == 0
        with ProgressBars(self.stderr, disable=quiet) as progress:
            for step in self.steps():
                step(progress)
        self.print_ready()

    def steps(self) -> list[Callable[[ProgressBars], None]]:
        """The seeding steps in order; each calls one idempotent service and reports."""
        return [self.seed_directory, self.seed_campaign, self.seed_votes, self.seed_accounts]

    def seed_directory(self, progress: ProgressBars) -> None:
        summary = seed_demo_directory(staff_count=self.options["staff"], progress=progress)
        progress.close()
        self.stdout.write(
            _(
                "Directory: %(units)d units (%(units_created)d new): 1 company, %(branches)d "
                "branches, %(frontline)d frontline units; %(positions)d positions; "
                "%(staff)d staff (%(staff_created)d new)."
            )
            % {
                "units": summary.units,
                "frontline": summary.frontline_units,
                "branches": summary.branches,
                "units_created": summary.units_created,
                "positions": summary.positions,
                "staff": summary.staff,
                "staff_created": summary.staff_created,
            }
        )

    def seed_campaign(self, progress: ProgressBars) -> None:
        self.campaign = seed_demo_campaign()
        first = selectors.stages_for_campaign(self.campaign).first()
        self.stdout.write(
            _("Campaign: %(name)s; stage 1 %(status)s with %(contestants)d contestants.")
            % {
                "name": self.campaign.name,
                "status": first.get_status_display() if first else "-",
                "contestants": first.contestant_count if first else 0,
            }
        )

    def seed_votes(self, progress: ProgressBars) -> None:
        """Ask the apps above for their demo data, through ``demo_campaign_seeded``, then
        for what builds on each other's (``demo_data_seeded``: served customers' votes)."""
        if self.campaign is None or not self.options["votes"]:
            return
        responses = demo_campaign_seeded.send(
            sender=Campaign,
            campaign=self.campaign,
            votes=self.options["votes"],
            progress=progress,
            base_url=self.options["base_url"],
        )
        responses += demo_data_seeded.send(sender=Campaign, campaign=self.campaign)
        progress.close()
        for _receiver, summary in responses:
            if summary is not None:
                self.stdout.write(str(summary))

    def seed_accounts(self, progress: ProgressBars) -> None:
        self.accounts = ensure_demo_accounts()
        self.stdout.write(_("Demo logins: %(count)d accounts.") % {"count": len(self.accounts)})

    def print_ready(self) -> None:
        base = self.options["base_url"].rstrip("/")
        links = [
            (_("Public site:"), f"{base}/"),
            (_("Admin:"), f"{base}{reverse('admin:index')}"),
            (_("API docs:"), f"{base}{reverse('api-docs')}"),
        ]
        if self.campaign is not None:
            url = reverse("campaigns:campaign-detail", args=[self.campaign.pk])
            links.insert(1, (_("Campaign:"), f"{base}{url}"))
        label_width = max(_width(label) for label, _url in links) + 2
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(_("Service Star demo is ready.")))
        for label, url in links:
            self.stdout.write(f"  {_pad(label, label_width)}{url}")

        rows = [(_("Username"), _("Password"), _("Role"))] + [
            (a.username, a.password, a.role_label) for a in self.accounts
        ]
        user_width = max(_width(row[0]) for row in rows) + 2
        password_width = max(_width(row[1]) for row in rows) + 2
        self.stdout.write("")
        for username, password, role in rows:
            self.stdout.write(
                f"  {_pad(username, user_width)}{_pad(password, password_width)}{role}"
            )
