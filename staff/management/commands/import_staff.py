"""``manage.py import_staff FILE [--dry-run] [--skip-bad]``: the staff import without a browser.

Checks every row (progress bar on stderr), prints each bad row with its reasons, then
writes in one transaction. Exits non-zero when a row is bad, unless ``--skip-bad``.
``--dry-run`` writes nothing at all, not even a ``StaffImport`` preview row.
"""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from tqdm import tqdm

from staff.exceptions import DomainError
from staff.importing.checking import check_staff_rows
from staff.importing.reading import read_staff_file
from staff.importing.services import import_staff, plan_staff_import


class Command(BaseCommand):
    help = "Import staff from a CSV or XLSX file (English or Chinese headers)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV or XLSX file to import")
        parser.add_argument(
            "--dry-run", action="store_true", help="check the file and report; write nothing"
        )
        parser.add_argument(
            "--skip-bad", action="store_true", help="skip bad rows and import the rest"
        )

    def _bar(self, total: int, label: str) -> tqdm:
        # The raw stream: Django's OutputWrapper would add a newline to every redraw.
        return tqdm(total=total, desc=label, unit="rows", file=self.stderr._out, leave=False)

    def handle(self, *args: Any, file: Path, dry_run: bool, skip_bad: bool, **options: Any) -> None:
        try:
            with file.open("rb") as handle:
                # One byte over the limit is enough for the reader to refuse the file.
                data = handle.read(settings.STAFF_IMPORT_MAX_BYTES + 1)
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": file, "error": exc.strerror}
            ) from exc
        # Over 60 lines: argument handling, progress bars and the report of a command;
        # every rule is in ``staff.importing``.

        try:
            parsed = read_staff_file(data, filename=file.name)
            with self._bar(len(parsed.rows), _("Checking")) as bar:
                checked = check_staff_rows(parsed, progress=bar.update)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc

        for error in checked.errors:
            self.stdout.write(
                _("Line %(line)s (employee %(employee_no)s): %(messages)s")
                % {
                    "line": error["line"],
                    "employee_no": error["employee_no"] or "-",
                    "messages": " ".join(error["messages"]),
                },
                self.style.ERROR,
            )
        bad = len(checked.errors)
        if bad and not skip_bad:
            raise CommandError(
                _(
                    "%(bad)s of %(total)s rows are bad; nothing was imported. Fix them or use --skip-bad."
                )
                % {"bad": bad, "total": checked.row_count}
            )

        if dry_run:
            plan = plan_staff_import(checked.rows)
            self._summary(
                _(
                    "Dry run, nothing written. Would create %(created)s, update %(updated)s, leave %(unchanged)s unchanged, skip %(skipped)s."
                ),
                created=plan.created,
                updated=plan.updated,
                unchanged=plan.unchanged,
                skipped=bad,
            )
            return

        try:
            with self._bar(len(checked.rows), _("Writing")) as bar:
                staff_import = import_staff(
                    checked, actor=None, skip_bad=skip_bad, progress=bar.update
                )
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        self._summary(
            _(
                "Imported. Created %(created)s, updated %(updated)s, unchanged %(unchanged)s, skipped %(skipped)s."
            ),
            **staff_import.result,
        )

    def _summary(self, template: str, **counts: int) -> None:
        self.stdout.write(template % counts, self.style.SUCCESS)
