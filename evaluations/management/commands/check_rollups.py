"""``manage.py check_rollups 2026-05 [...]``: compare stored rollups with the ratings.

Exits with status 1 when a month's rollup disagrees with its rows (each difference is
printed); ``compute_rollups`` repairs it.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evaluations.management.commands._months import parse_month
from evaluations.measurement.rollups import check_month_rollup


class Command(BaseCommand):
    help = "Check the monthly rollups of the given months against the ratings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("months", nargs="+", help="Months as YYYY-MM.")

    def handle(self, *args, months: list[str], **options) -> None:
        bad = 0
        for month in sorted(parse_month(text) for text in months):
            problems = check_month_rollup(month)
            for problem in problems:
                self.stdout.write(f"{month:%Y-%m} {problem}")
            self.stdout.write(f"{month:%Y-%m}: {'OK' if not problems else 'MISMATCH'}")
            bad += bool(problems)
        if bad:
            raise CommandError(f"{bad} month(s) disagree with their ratings.")
