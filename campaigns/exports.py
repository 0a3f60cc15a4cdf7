"""Stage results and winners as spreadsheets (CSV and XLSX) for HR admins.

One row per stored ``StageResult``: rank, employee number, name, branch, unit, position,
each score component (raw value and its 0-100 normalised value), the channel subtotals
(web, SMS, audience), the weighted total, the outcome and the contestant's status now
(a promoted reserve shows outcome "reserve" and status "advanced").

Two promises:

- **No formula injection.** A text cell that starts with ``=``, ``+``, ``-``, ``@`` (or a
  tab / carriage return, which some spreadsheet apps skip before parsing) gets a leading
  apostrophe, so a name like ``=HYPERLINK(...)`` is shown as text, never run. Numbers are
  written as numbers (XLSX) or plain digits (CSV) and need no escaping.
- **Masked data only.** No phone number, hash or other personal datum beyond what the
  public results show (name, employee number, unit) is exported.
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from campaigns import selectors
from campaigns.choices import ComponentKey, ContestantStatus, ResultOutcome
from campaigns.models import Stage, StageResult
from staff.models import OrgUnit

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXPORT_KINDS = ("results", "winners")
EXPORT_FORMATS = ("csv", "xlsx")

Cell = str | int | Decimal | None


@dataclass(frozen=True)
class ExportTable:
    """A sheet: a title (used for the XLSX sheet and the file name), a header and rows;
    ``note``, when set, is a line written above the header (what the figures are)."""

    title: str
    header: list[str]
    rows: list[list[Cell]]
    note: str = ""


def provisional(table: ExportTable, *, stage: Stage, computed_at: datetime) -> ExportTable:
    """``table`` marked as provisional: its sheet title and a first line say so, with the
    moment the figures were computed (in the admin's time zone)."""
    when = date_format(timezone.localtime(computed_at), "DATETIME_FORMAT")
    return replace(
        table,
        title=_("Provisional results"),
        note=_(
            "Provisional results of %(stage)s as of %(when)s: not final, they change until "
            "the stage is finalised."
        )
        % {"stage": stage, "when": when},
    )


def escape_formula(value: str) -> str:
    """Prefix text that a spreadsheet would read as a formula with an apostrophe."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


def stage_component_keys(stage: Stage) -> list[str]:
    """The components a stage's results carry, in ``ComponentKey`` order.

    Not in the order of ``stage.weights``: PostgreSQL's jsonb does not keep key order, so
    that order would differ between databases (and between saves).
    """
    used = {*stage.weights, *stage.tie_break_order}
    known = [key for key in ComponentKey.values if key in used]
    return known + sorted(used - set(known))


def _decimal(value: str | None) -> Decimal | None:
    return None if value in (None, "") else Decimal(value)


def _branch_code(path: str) -> str:
    # Paths are "COMPANY/BRANCH/UNIT/": the second code is the branch (see staff.models).
    codes = path.split("/")
    return codes[1] if len(codes) > 2 else ""


def _label(choices: type, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def build_table(stage: Stage, rows: Iterable[StageResult], *, title: str) -> ExportTable:
    """Turn stored result rows into an export table (one extra query for branch names)."""
    keys = stage_component_keys(stage)
    branches = dict(OrgUnit.objects.branches().values_list("code", "name"))
    header = [
        _("Rank"),
        _("Employee number"),
        _("Name"),
        _("Branch"),
        _("Unit"),
        _("Position"),
    ]
    for key in keys:
        label = _label(ComponentKey, key)
        header += [
            _("%(component)s (raw)") % {"component": label},
            _("%(component)s (0-100)") % {"component": label},
        ]
    header += [
        _("Web votes"),
        _("SMS votes"),
        _("Audience votes"),
        _("Served customers' votes"),
        _("Weighted total"),
        _("Outcome"),
        _("Status"),
    ]
    table_rows: list[list[Cell]] = []
    for row in rows:
        member = row.contestant.staff_member
        line: list[Cell] = [
            row.rank,
            escape_formula(member.employee_no),
            escape_formula(member.name),
            escape_formula(branches.get(_branch_code(member.unit.path), "")),
            escape_formula(member.unit.name),
            escape_formula(member.position.name),
        ]
        for key in keys:
            value = row.components.get(key, {})
            line += [_decimal(value.get("raw")), _decimal(value.get("normalised"))]
        line += [
            row.web_votes,
            row.sms_votes,
            row.audience_votes,
            row.served_votes,
            row.total,
            _label(ResultOutcome, row.outcome),
            _label(ContestantStatus, row.contestant.status),
        ]
        table_rows.append(line)
    return ExportTable(title=title, header=header, rows=table_rows)


def stage_export_table(stage: Stage, kind: str) -> ExportTable:
    """The ``results`` (every stored row) or ``winners`` (who went through) of a stage.

    Winners exist only once the stage is finalised (an empty table before).
    """
    if kind not in EXPORT_KINDS:
        raise ValueError(f"Unknown export {kind!r}.")
    queryset: QuerySet[StageResult]
    if kind == "winners":
        queryset, title = selectors.winners_for_stage(stage), _("Winners")
    else:
        queryset, title = selectors.results_for_stage(stage), _("Results")
    return build_table(stage, queryset, title=title)


def _csv_text(value: Cell) -> str:
    return "" if value is None else str(value)


def table_to_csv(table: ExportTable) -> bytes:
    """UTF-8 with a BOM, so Excel opens Chinese names correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if table.note:
        writer.writerow([table.note])
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow([_csv_text(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def table_to_xlsx(table: ExportTable) -> bytes:
    """One sheet, header row frozen, numbers as numbers."""
    workbook = Workbook()
    sheet = workbook.active
    # Sheet titles may not contain []:*?/\ and are at most 31 characters.
    sheet.title = "".join(c for c in table.title if c not in "[]:*?/\\")[:31] or "Sheet"
    if table.note:
        sheet.append([table.note])
    sheet.append(table.header)
    for row in table.rows:
        sheet.append(row)
    sheet.freeze_panes = "A3" if table.note else "A2"
    for index, heading in enumerate(table.header, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, len(heading) + 2)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
