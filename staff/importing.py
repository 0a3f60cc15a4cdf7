"""Staff bulk import: read a CSV/XLSX file, check every row, preview, then confirm.

The flow follows Helios' preview-then-confirm (TESTPLAN §2.1 D):

1. ``read_staff_file`` turns the uploaded bytes into a ``ParsedFile``: it detects the format
   by content (an XLSX is a zip; the extension alone decides nothing), refuses files that
   are too large, macro-enabled workbooks and zip bombs *before* openpyxl opens them,
   decodes CSV text (UTF-8 with or without BOM, else GB18030, which is what Excel writes in
   China), and maps English or Chinese headers onto the canonical field names. It raises
   ``StaffImportError`` when the file as a whole cannot be used.
2. ``check_staff_rows`` checks every row and collects *every* problem of *every* row (one row
   can have several). Units and positions are looked up in one query each. Valid rows come
   out normalised, with the phone already hashed and masked: the full number is dropped
   here and is never stored, logged or shown.
3. ``preview_staff_import`` stores the checked rows and the row errors in a ``StaffImport``
   (status ``previewed``). Nothing else is written; the HR admin looks at the preview.
4. ``confirm_staff_import`` writes the staff in one transaction (all or nothing): new
   employee numbers are created, changed ones updated, identical ones left untouched, so
   importing the same file twice changes nothing. ``discard_staff_import`` drops a preview.
   Both are transitions of the ``StaffImport`` state machine and write an audit event.

Decisions worth knowing:

* Staff belong to frontline units only (``FRONTLINE_KINDS``: stores, call-centre teams,
  account-manager teams). A row naming a company or branch is an error: branch staff are
  not contestants, and accepting them would put them on every leaderboard of the branch.
* A column absent from the file leaves that field of existing staff as it is; a column
  present but empty in a row clears the field (the file is authoritative for what it has).
* Cells are text. Nothing is evaluated: ``=SUM(A1)`` in a name is stored as those
  characters; exports must escape it (CSV formula injection), not the import.
* XLSX numeric cells: openpyxl returns an ``int`` for ``<v>13800138000</v>``, which holds
  every digit and is accepted; it returns a ``float`` when the stored value has a decimal
  point or an exponent (``1.38001E+10``), whose lost digits cannot be recovered, so a
  float in the phone column is always an error.
* Row errors are stored as translated text in the language of the person who uploaded
  the file, because that person reads the preview.
* Line numbers are the spreadsheet's 1-based row numbers; the header is line 1.
"""

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from staff.choices import FRONTLINE_KINDS, AuditAction, StaffImportStatus, UnitKind
from staff.exceptions import (
    DomainError,
    ImportAlreadyHandledError,
    InvalidPhoneError,
    StaffImportError,
)
from staff.models import EMPLOYEE_NO_PATTERN, OrgUnit, Position, StaffImport, StaffMember
from staff.phones import parse_phone
from staff.selectors import units_by_code
from staff.services import Actor, record_audit_event

Progress = Callable[[int], None]

# Zip bomb guards, checked on the zip directory before any member is inflated. A real
# 10,000-row staff workbook unpacks to a few MB; 100 MB is far beyond any honest file.
XLSX_MAX_UNPACKED_BYTES = 100 * 1024 * 1024
# Sheet XML compresses 5-20x; a member above 1 MB that claims more than 200x is made up.
XLSX_MAX_RATIO = 200
XLSX_RATIO_MIN_BYTES = 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (and encrypted .xlsx)

NAME_MAX_LENGTH = 64
STORY_MAX_LENGTH = 2000
VIDEO_URL_MAX_LENGTH = 200  # URLField's default max_length
EARLIEST_HIRE_DATE = dt.date(1950, 1, 1)
# Rows per INSERT/UPDATE statement and per progress tick; Django lowers it further where
# the backend limits query parameters (SQLite: 999).
WRITE_BATCH_SIZE = 1000
# Employee numbers per ``IN (...)`` lookup: one query on PostgreSQL for a full file.
LOOKUP_CHUNK_SIZE = 10_000
# Rows per progress callback while checking: often enough for a smooth bar, cheap.
PROGRESS_EVERY = 100
# How much of a bad value an error message quotes.
QUOTE_LENGTH = 40

_EMPLOYEE_NO = re.compile(EMPLOYEE_NO_PATTERN)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")


@dataclass(frozen=True)
class Column:
    """A column of the import file: canonical field, its English and Chinese headers."""

    field: str
    english: str
    chinese: str
    required: bool

    @property
    def label(self) -> str:
        return f"{self.english} / {self.chinese}"


COLUMNS: tuple[Column, ...] = (
    Column("employee_no", "employee_no", "工号", required=True),
    Column("name", "name", "姓名", required=True),
    Column("unit_code", "unit_code", "单位编码", required=True),
    Column("position", "position", "岗位", required=True),
    Column("phone", "phone", "手机", required=True),
    Column("hire_date", "hire_date", "入职日期", required=False),
    Column("story", "story", "简介", required=False),
    Column("video_url", "video_url", "视频链接", required=False),
)
# Optional columns map to model fields of the same name.
OPTIONAL_FIELDS = tuple(column.field for column in COLUMNS if not column.required)


def _header_key(text: str) -> str:
    """Header cell -> lookup key: NFKC, trimmed, case-folded, spaces and hyphens as ``_``."""
    folded = unicodedata.normalize("NFKC", text).strip().casefold()
    return re.sub(r"[\s\-]+", "_", folded)


_HEADER_ALIASES: dict[str, str] = {
    _header_key(alias): column.field
    for column in COLUMNS
    for alias in (column.english, column.chinese)
}


@dataclass(frozen=True)
class RawRow:
    """One non-empty data row as read: canonical field -> cell value (str, int, float, date)."""

    line: int
    cells: dict[str, Any]


@dataclass(frozen=True)
class ParsedFile:
    """A readable import file: which known columns it has and its non-empty data rows."""

    file_name: str
    file_format: str  # "csv" or "xlsx"
    columns: tuple[str, ...]
    rows: tuple[RawRow, ...]


@dataclass(frozen=True)
class CheckedFile:
    """The outcome of checking every row; ``rows`` are JSON-ready and hold no full phone."""

    file_name: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    errors: tuple[dict[str, Any], ...]

    @property
    def row_count(self) -> int:
        return len(self.rows) + len(self.errors)


@dataclass(frozen=True)
class ImportPlan:
    """What writing a set of checked rows would do, given the staff stored right now."""

    created: int
    updated: int
    unchanged: int


@dataclass
class _RowProblems:
    messages: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.messages.append(message)


# ------------------------------------------------------------------------------
# Reading the file
# ------------------------------------------------------------------------------


def read_staff_file(data: bytes, *, filename: str) -> ParsedFile:
    """Parse an uploaded staff file (CSV or XLSX) into header-mapped, non-empty rows.

    Pure: touches no database. Reads ``STAFF_IMPORT_MAX_BYTES`` and ``STAFF_IMPORT_MAX_ROWS``
    at call time. Raises ``StaffImportError`` with code ``file_too_large``, ``too_many_rows``,
    ``bad_encoding``, ``bad_file``, ``macros``, ``unpacked_too_large``, ``missing_columns``,
    ``duplicate_columns`` or ``no_rows``.
    """
    max_bytes = settings.STAFF_IMPORT_MAX_BYTES
    if len(data) > max_bytes:
        raise StaffImportError(
            "file_too_large",
            _("The file is larger than %(limit)s MB; split it into smaller files.")
            % {"limit": _format_megabytes(max_bytes)},
        )
    lowered = filename.casefold()
    if lowered.endswith((".xlsm", ".xltm")):
        raise StaffImportError("macros", _macro_message())
    if data.startswith(ZIP_MAGIC):
        file_format = "xlsx"
        table = _read_xlsx(data)
    elif data.startswith(OLE_MAGIC) or lowered.endswith((".xlsx", ".xls")):
        raise StaffImportError(
            "bad_file",
            _("This is not a readable .xlsx workbook. Save it as .xlsx or as CSV (UTF-8)."),
        )
    else:
        file_format = "csv"
        table = _read_csv(data)
    try:
        return _map_table(table, file_name=filename, file_format=file_format)
    finally:
        table.close()  # releases the workbook when reading stopped early


def _format_megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g}"


def _macro_message() -> str:
    return _("Workbooks with macros (.xlsm) are not accepted. Save the file as .xlsx or CSV.")


def _decode(data: bytes) -> str:
    # utf-8-sig strips a BOM when present and reads plain UTF-8 otherwise. GB18030 is the
    # superset of GBK that Chinese Excel writes for "CSV"; it rejects invalid byte
    # sequences (0x80, 0xFF, UTF-16), so the order matters and nothing is guessed.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise StaffImportError(
        "bad_encoding",
        _("Unsupported text encoding. Save the file as CSV (UTF-8) or as .xlsx and try again."),
    )


def _read_csv(data: bytes) -> Generator[tuple[Any, ...], None, None]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(first_line, delimiters=",\t;").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def rows() -> Generator[tuple[Any, ...], None, None]:
        try:
            for row in reader:
                yield tuple(row)
        except csv.Error as exc:
            raise StaffImportError(
                "bad_file",
                _("The CSV file is malformed near line %(line)s.") % {"line": reader.line_num},
            ) from exc

    return rows()


def _check_zip(data: bytes) -> None:
    """Refuse macros and zip bombs from the zip directory alone, before inflating anything."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise StaffImportError(
            "bad_file", _("The file is damaged or not a real .xlsx workbook.")
        ) from exc
    names = {member.filename.casefold() for member in members}
    if any(name.endswith("vbaproject.bin") for name in names):
        raise StaffImportError("macros", _macro_message())
    if "xl/workbook.xml" not in names:
        raise StaffImportError(
            "bad_file", _("The file is a zip archive but not an Excel (.xlsx) workbook.")
        )
    unpacked = sum(member.file_size for member in members)
    bomb = unpacked > XLSX_MAX_UNPACKED_BYTES or any(
        member.file_size > XLSX_RATIO_MIN_BYTES
        and member.file_size > XLSX_MAX_RATIO * max(member.compress_size, 1)
        for member in members
    )
    if bomb:
        raise StaffImportError(
            "unpacked_too_large",
            _(
                "The workbook unpacks to far more data than a staff list holds "
                "(limit %(limit)s MB); it was not opened."
            )
            % {"limit": _format_megabytes(XLSX_MAX_UNPACKED_BYTES)},
        )


def _read_xlsx(data: bytes) -> Generator[tuple[Any, ...], None, None]:
    from openpyxl import load_workbook  # noqa: PLC0415 -- heavy import, only for XLSX uploads

    _check_zip(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises anything on malformed parts
        raise StaffImportError(
            "bad_file", _("The file is damaged or not a real .xlsx workbook.")
        ) from exc

    def rows() -> Generator[tuple[Any, ...], None, None]:
        try:
            if not workbook.worksheets:
                return
            yield from workbook.worksheets[0].iter_rows(values_only=True)
        except StaffImportError:
            raise
        except Exception as exc:  # as above, while streaming the sheet
            raise StaffImportError(
                "bad_file", _("The file is damaged or not a real .xlsx workbook.")
            ) from exc
        finally:
            workbook.close()

    return rows()


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _map_table(table: Iterable[tuple[Any, ...]], *, file_name: str, file_format: str) -> ParsedFile:
    max_rows = settings.STAFF_IMPORT_MAX_ROWS
    iterator = iter(table)
    header = next(iterator, ())
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        if not isinstance(cell, str):
            continue
        name = _HEADER_ALIASES.get(_header_key(cell))
        if name is None:
            continue  # extra columns are ignored
        if name in positions:
            raise StaffImportError(
                "duplicate_columns",
                _("The column “%(column)s” appears more than once.")
                % {"column": _column(name).label},
            )
        positions[name] = index
    missing = [
        column.label for column in COLUMNS if column.required and column.field not in positions
    ]
    if missing:
        raise StaffImportError(
            "missing_columns",
            _("The file is missing these required columns: %(columns)s.")
            % {"columns": ", ".join(missing)},
        )

    rows: list[RawRow] = []
    # Line 1 is the header; data rows are numbered as the spreadsheet numbers them.
    for line, values in enumerate(iterator, start=2):
        cells = {
            name: values[index] if index < len(values) else None
            for name, index in positions.items()
        }
        if all(_is_empty(value) for value in cells.values()):
            continue
        if len(rows) >= max_rows:
            raise StaffImportError(
                "too_many_rows",
                _("The file has more than %(limit)s staff rows; split it into smaller files.")
                % {"limit": max_rows},
            )
        rows.append(RawRow(line=line, cells=cells))
    if not rows:
        raise StaffImportError("no_rows", _("The file has a header but no staff rows."))
    columns = tuple(column.field for column in COLUMNS if column.field in positions)
    return ParsedFile(
        file_name=file_name, file_format=file_format, columns=columns, rows=tuple(rows)
    )


def _column(name: str) -> Column:
    return next(column for column in COLUMNS if column.field == name)


# ------------------------------------------------------------------------------
# Checking the rows
# ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A cell as trimmed NFKC text. Never evaluates anything: ``=1+1`` stays ``=1+1``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def _quote(text: str) -> str:
    return text if len(text) <= QUOTE_LENGTH else f"{text[: QUOTE_LENGTH - 1]}…"


def _parse_hire_date(value: Any, problems: _RowProblems) -> dt.date | None:
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        text = _text(value)
        if not text:
            return None
        day = None
        for date_format in _DATE_FORMATS:
            try:
                day = dt.datetime.strptime(text, date_format).date()  # noqa: DTZ007 -- a date, no time zone
                break
            except ValueError:
                continue
        if day is None:
            problems.add(
                _("Hire date “%(value)s” is not a date; use YYYY-MM-DD.") % {"value": _quote(text)}
            )
            return None
    if day > timezone.localdate():
        problems.add(_("Hire date %(date)s is in the future.") % {"date": day.isoformat()})
        return None
    if day < EARLIEST_HIRE_DATE:
        problems.add(_("Hire date %(date)s is before 1950.") % {"date": day.isoformat()})
        return None
    return day


def _check_phone(value: Any, problems: _RowProblems) -> tuple[str, str] | None:
    if isinstance(value, float):
        # See the module docstring: a float cell may have lost digits; never guess them.
        problems.add(
            _(
                "Phone number is stored as a decimal or scientific number in the "
                "spreadsheet; format the column as text."
            )
        )
        return None
    try:
        phone = parse_phone(_text(value))
    except InvalidPhoneError as exc:
        problems.add(str(exc.message))
        return None
    return phone.hash, phone.masked


def _positions_by_key() -> dict[str, Position]:
    # Positions are a short list (a dozen or so): one query for all of them, matched by
    # code or name case-insensitively in Python, which also avoids SQLite's ASCII-only LOWER.
    found: dict[str, Position] = {}
    for position in Position.objects.all():
        found.setdefault(position.code.casefold(), position)
        found.setdefault(position.name.casefold(), position)
    return found


def check_staff_rows(parsed: ParsedFile, *, progress: Progress | None = None) -> CheckedFile:
    """Check every row of a parsed file; collect every problem of every row.

    Reads units (one query) and positions (one query); writes nothing. ``progress``, when
    given, is called with the number of rows just checked. Valid rows come back normalised
    and JSON-ready with the phone hashed and masked; the full number is not kept.
    """
    present = set(parsed.columns)
    codes = {_text(row.cells.get("unit_code")).replace("\x00", "") for row in parsed.rows} - {""}
    units = units_by_code(codes)
    positions = _positions_by_key()
    url_validator = URLValidator(schemes=["http", "https"])
    first_line_of: dict[str, int] = {}
    valid: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    pending = 0

    for raw in parsed.rows:
        problems = _RowProblems()
        cells = raw.cells
        # PostgreSQL text and jsonb cannot hold NUL: the line is refused, and the rest of
        # its checks (and their quotes) see the cells without it.
        if any(isinstance(value, str) and "\x00" in value for value in cells.values()):
            problems.add(_("This line contains a NUL character (is the file really CSV or XLSX?)."))
            cells = {
                k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in cells.items()
            }
        employee_no = _text(cells.get("employee_no"))
        if not employee_no:
            problems.add(_("Employee number is missing."))
        elif not _EMPLOYEE_NO.match(employee_no):
            problems.add(
                _("Employee number “%(value)s” must be 1 to 16 digits.")
                % {"value": _quote(employee_no)}
            )
        elif employee_no in first_line_of:
            problems.add(
                _("Employee number %(employee_no)s already appears on line %(line)s.")
                % {"employee_no": employee_no, "line": first_line_of[employee_no]}
            )
        else:
            first_line_of[employee_no] = raw.line

        name = _text(cells.get("name"))
        if not name:
            problems.add(_("Name is missing."))
        elif len(name) > NAME_MAX_LENGTH:
            problems.add(
                _("Name is longer than %(limit)s characters.") % {"limit": NAME_MAX_LENGTH}
            )

        unit_code = _text(cells.get("unit_code"))
        unit = units.get(unit_code)
        if not unit_code:
            problems.add(_("Unit code is missing."))
        elif unit is None:
            problems.add(_("Unknown unit code “%(code)s”.") % {"code": _quote(unit_code)})
        elif unit.kind not in FRONTLINE_KINDS:
            problems.add(
                _(
                    "Unit “%(code)s” is a %(kind)s; staff must belong to a store, "
                    "a call-centre team or an account-manager team."
                )
                % {"code": unit_code, "kind": UnitKind(unit.kind).label}
            )

        position_text = _text(cells.get("position"))
        position = positions.get(position_text.casefold())
        if not position_text:
            problems.add(_("Position is missing."))
        elif position is None:
            problems.add(_("Unknown position “%(value)s”.") % {"value": _quote(position_text)})
        elif not position.is_active:
            problems.add(_("Position “%(value)s” is no longer in use.") % {"value": position.name})

        phone = _check_phone(cells.get("phone"), problems)

        row: dict[str, Any] = {}
        if "hire_date" in present:
            hire_date = _parse_hire_date(cells.get("hire_date"), problems)
            row["hire_date"] = hire_date.isoformat() if hire_date else None
        if "story" in present:
            # Multi-line stories keep their line breaks; only the ends are trimmed.
            story = unicodedata.normalize("NFKC", _raw_text(cells.get("story"))).strip()
            if len(story) > STORY_MAX_LENGTH:
                problems.add(
                    _("Story is longer than %(limit)s characters.") % {"limit": STORY_MAX_LENGTH}
                )
            row["story"] = story
        if "video_url" in present:
            video_url = _text(cells.get("video_url"))
            if video_url:
                try:
                    if len(video_url) > VIDEO_URL_MAX_LENGTH:
                        raise ValidationError("too long")
                    url_validator(video_url)
                except ValidationError:
                    problems.add(
                        _(
                            "Video link must be an http:// or https:// address of at most %(limit)s characters."
                        )
                        % {"limit": VIDEO_URL_MAX_LENGTH}
                    )
            row["video_url"] = video_url

        if problems.messages or unit is None or position is None or phone is None:
            errors.append(
                {
                    "line": raw.line,
                    "employee_no": _quote(employee_no),
                    "messages": problems.messages,
                }
            )
        else:
            valid.append(
                {
                    "line": raw.line,
                    "employee_no": employee_no,
                    "name": name,
                    "unit_id": unit.pk,
                    "unit_code": unit.code,
                    "position_id": position.pk,
                    "position": position.name,
                    "phone_hash": phone[0],
                    "phone_masked": phone[1],
                    **row,
                }
            )
        pending += 1
        if progress is not None and pending == PROGRESS_EVERY:
            progress(pending)
            pending = 0
    if progress is not None and pending:
        progress(pending)

    return CheckedFile(
        file_name=parsed.file_name, columns=parsed.columns, rows=tuple(valid), errors=tuple(errors)
    )


def _raw_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


# ------------------------------------------------------------------------------
# Comparing with the stored staff
# ------------------------------------------------------------------------------

# Fields an import sets, as stored on StaffMember; the optional ones only when their
# column is in the file.
_ALWAYS_WRITTEN = ("name", "unit_id", "position_id", "phone_hash", "phone_masked")
_FIELD_NAMES = {"unit_id": "unit", "position_id": "position"}


def _written_fields(row: dict[str, Any]) -> tuple[str, ...]:
    return _ALWAYS_WRITTEN + tuple(name for name in OPTIONAL_FIELDS if name in row)


def _row_values(row: dict[str, Any]) -> dict[str, Any]:
    values = {name: row[name] for name in _written_fields(row)}
    if "hire_date" in values and values["hire_date"] is not None:
        values["hire_date"] = dt.date.fromisoformat(values["hire_date"])
    return values


def _existing_by_employee_no(employee_nos: list[str]) -> dict[str, dict[str, Any]]:
    chunk = min(connection.features.max_query_params or LOOKUP_CHUNK_SIZE, LOOKUP_CHUNK_SIZE)
    fields = ("pk", "employee_no", *_ALWAYS_WRITTEN, *OPTIONAL_FIELDS)
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(employee_nos), chunk):
        batch = employee_nos[start : start + chunk]
        for values in StaffMember.objects.filter(employee_no__in=batch).values(*fields):
            found[values["employee_no"]] = values
    return found


def _split(
    rows: Iterable[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """Rows to create, rows whose stored data differs, and how many are unchanged."""
    rows = list(rows)
    existing = _existing_by_employee_no([row["employee_no"] for row in rows])
    new, changed, unchanged = [], [], 0
    for row in rows:
        stored = existing.get(row["employee_no"])
        if stored is None:
            new.append(row)
            continue
        values = _row_values(row)
        if all(stored[name] == value for name, value in values.items()):
            unchanged += 1
        else:
            changed.append(row)
    return new, changed, unchanged


def plan_staff_import(rows: Iterable[dict[str, Any]]) -> ImportPlan:
    """How many checked rows would create, update or leave staff unchanged (reads only)."""
    new, changed, unchanged = _split(rows)
    return ImportPlan(created=len(new), updated=len(changed), unchanged=unchanged)


# ------------------------------------------------------------------------------
# Services
# ------------------------------------------------------------------------------


def _user(actor: Actor) -> Any:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def save_staff_import(checked: CheckedFile, *, actor: Actor, skip_bad: bool = False) -> StaffImport:
    """Store checked rows as a ``StaffImport`` waiting for confirmation (one INSERT).

    Writes no staff and no audit event: a preview changes nothing anyone else sees.
    """
    return StaffImport.objects.create(
        file_name=checked.file_name[:255],
        created_by=_user(actor),
        rows=list(checked.rows),
        errors=list(checked.errors),
        row_count=checked.row_count,
        error_count=len(checked.errors),
        skip_bad=skip_bad,
    )


def preview_staff_import(
    *,
    data: bytes,
    filename: str,
    actor: Actor,
    skip_bad: bool = False,
    progress: Progress | None = None,
) -> StaffImport:
    """Read and check an uploaded file and store the preview (status ``previewed``).

    Runs three queries whatever the number of rows (units, positions, the insert). Writes
    no staff. Raises ``StaffImportError`` when the file as a whole is unusable; bad rows
    are not an error here, they are listed in ``StaffImport.errors``.
    """
    parsed = read_staff_file(data, filename=filename)
    checked = check_staff_rows(parsed, progress=progress)
    return save_staff_import(checked, actor=actor, skip_bad=skip_bad)


def _lock_previewed(staff_import: StaffImport) -> StaffImport:
    locked = StaffImport.objects.select_for_update().get(pk=staff_import.pk)
    if locked.status == StaffImportStatus.IMPORTED:
        raise ImportAlreadyHandledError(_("This file has already been imported."))
    if locked.status != StaffImportStatus.PREVIEWED:
        raise ImportAlreadyHandledError(_("This import was discarded; upload the file again."))
    return locked


def _check_still_exist(rows: list[dict[str, Any]]) -> None:
    """Units or positions deleted since the preview would break the foreign keys."""
    unit_ids = {row["unit_id"] for row in rows}
    position_ids = {row["position_id"] for row in rows}
    found_units = set(OrgUnit.objects.filter(pk__in=unit_ids).values_list("pk", flat=True))
    found_positions = set(Position.objects.filter(pk__in=position_ids).values_list("pk", flat=True))
    if found_units != unit_ids or found_positions != position_ids:
        raise DomainError(
            "stale_preview",
            _(
                "A unit or position in this file was deleted after the preview; upload the file again."
            ),
        )


def _write_rows(rows: list[dict[str, Any]], *, progress: Progress | None) -> ImportPlan:
    """Create new staff and update changed ones, set-based; return what was done."""
    new, changed, unchanged = _split(rows)
    if progress is not None and unchanged:
        progress(unchanged)
    now = timezone.now()
    # One INSERT ... ON CONFLICT (employee_no) DO UPDATE per batch writes new and changed
    # rows alike: the unique key referees a concurrent import of the same employee number
    # (no check-then-act), and rows we found unchanged are never written, so their
    # updated_at stays put. The updated fields must be the same for every row of a call;
    # they are, because every row of one file has the same columns.
    to_write = new + changed
    if to_write:
        update_fields = [
            _FIELD_NAMES.get(name, name) for name in (*_written_fields(to_write[0]), "updated_at")
        ]
        for start in range(0, len(to_write), WRITE_BATCH_SIZE):
            batch = to_write[start : start + WRITE_BATCH_SIZE]
            StaffMember.objects.bulk_create(
                [
                    StaffMember(employee_no=row["employee_no"], updated_at=now, **_row_values(row))
                    for row in batch
                ],
                update_conflicts=True,
                unique_fields=["employee_no"],
                update_fields=update_fields,
            )
            if progress is not None:
                progress(len(batch))
    return ImportPlan(created=len(new), updated=len(changed), unchanged=unchanged)


def confirm_staff_import(
    staff_import: StaffImport, *, actor: Actor, progress: Progress | None = None
) -> StaffImport:
    """Write the previewed rows to the staff directory, all or nothing, and audit it.

    In one transaction: locks the ``StaffImport`` row (so two admins confirming at once
    yield one import), creates new employee numbers, updates changed ones and leaves
    identical ones untouched (a second import of the same file changes nothing), stores
    the counts in ``result``, sets status ``imported`` and writes one ``STAFF_IMPORTED``
    audit event (counts only, no phone numbers). ``progress`` is called with the number of
    rows handled. Raises ``ImportAlreadyHandledError`` if the import is not ``previewed``,
    ``DomainError("has_bad_rows")`` if it has bad rows and was not uploaded with
    ``skip_bad``, ``DomainError("stale_preview")`` if a unit or position was deleted since.
    """
    with transaction.atomic():
        locked = _lock_previewed(staff_import)
        if locked.error_count and not locked.skip_bad:
            raise DomainError(
                "has_bad_rows",
                _(
                    "%(count)s rows have errors. Fix the file and upload it again, or upload "
                    "it with “skip bad rows”."
                )
                % {"count": locked.error_count},
            )
        rows = list(locked.rows)
        _check_still_exist(rows)
        done = _write_rows(rows, progress=progress)
        locked.status = StaffImportStatus.IMPORTED
        locked.handled_at = timezone.now()
        locked.handled_by = _user(actor)
        locked.result = {
            "created": done.created,
            "updated": done.updated,
            "unchanged": done.unchanged,
            "skipped": locked.error_count,
        }
        locked.save(update_fields=["status", "handled_at", "handled_by", "result"])
        record_audit_event(
            locked,
            actor=actor,
            action=AuditAction.STAFF_IMPORTED,
            data={"file_name": locked.file_name, **locked.result},
        )
    return locked


def import_staff(
    checked: CheckedFile,
    *,
    actor: Actor,
    skip_bad: bool = False,
    progress: Progress | None = None,
) -> StaffImport:
    """Store and confirm checked rows in one transaction (the command line's path).

    Same effects and errors as ``save_staff_import`` followed by ``confirm_staff_import``;
    if confirming fails, the stored preview is rolled back too.
    """
    with transaction.atomic():
        staff_import = save_staff_import(checked, actor=actor, skip_bad=skip_bad)
        return confirm_staff_import(staff_import, actor=actor, progress=progress)


def discard_staff_import(staff_import: StaffImport, *, actor: Actor) -> StaffImport:
    """Drop a preview: status ``discarded`` and one ``STAFF_IMPORT_DISCARDED`` audit event.

    Locks the ``StaffImport`` row. Raises ``ImportAlreadyHandledError`` unless it is
    ``previewed``. Writes no staff.
    """
    with transaction.atomic():
        locked = _lock_previewed(staff_import)
        locked.status = StaffImportStatus.DISCARDED
        locked.handled_at = timezone.now()
        locked.handled_by = _user(actor)
        locked.save(update_fields=["status", "handled_at", "handled_by"])
        record_audit_event(
            locked,
            actor=actor,
            action=AuditAction.STAFF_IMPORT_DISCARDED,
            data={"file_name": locked.file_name, "rows": locked.row_count},
        )
    return locked


def purge_stale_imports(*, max_age_hours: int) -> int:
    """Delete previews nobody confirmed or discarded within ``max_age_hours``.

    Returns how many were deleted. Imported and discarded ones stay: they are history.
    """
    cutoff = timezone.now() - dt.timedelta(hours=max_age_hours)
    deleted, _by_model = StaffImport.objects.filter(
        status=StaffImportStatus.PREVIEWED, created_at__lt=cutoff
    ).delete()
    return deleted
