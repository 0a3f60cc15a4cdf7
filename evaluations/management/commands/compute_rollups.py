"""``manage.py compute_rollups 2026-05 [2026-06 …] [--grades]``: recompute monthly rollups
(and, with ``--grades``, the store grades) from the rows."""

from django.core.management.base import BaseCommand, CommandParser

from evaluations.management.commands._months import parse_month
from evaluations.measurement.grades import compute_store_grades
from evaluations.measurement.rollups import compute_month_rollup


class Command(BaseCommand):
    help = "Recompute the monthly rollups (and store grades) of the given months, in order."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("months", nargs="+", help="Months as YYYY-MM.")
        parser.add_argument("--grades", action="store_true", help="Also recompute store grades.")

    def handle(self, *args, months: list[str], grades: bool, **options) -> None:
        for month in sorted(parse_month(text) for text in months):
            self.stdout.write(str(compute_month_rollup(month)))
            if grades:
                self.stdout.write(str(compute_store_grades(month)))
