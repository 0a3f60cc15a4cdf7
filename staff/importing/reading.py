"""Reading an uploaded staff file: bytes in, header-mapped non-empty rows out.

Detects the format by content (an XLSX is a zip; the extension alone decides nothing),
refuses oversized files, macro-enabled workbooks and zip bombs *before* openpyxl opens
them, decodes CSV text (UTF-8 with or without BOM, else GB18030) and maps English or
Chinese headers onto canonical field names. Touches no database.
"""

import csv
import io
from collections.abc import Generator, Iterable
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from staff.exceptions import StaffImportError
from staff.importing.schema import (
    COLUMNS,
    HEADER_ALIASES,
    ParsedFile,
    RawRow,
    column_by_field,
    header_key,
)
from staff.spreadsheets import OLE_MAGIC, ZIP_MAGIC, XlsxProblem, decode_csv, xlsx_problem

# Zip bomb guards, checked on the zip directory before any member is inflated. A real
# 10,000-row staff workbook unpacks to a few MB; 100 MB is far beyond any honest file.
XLSX_MAX_UNPACKED_BYTES = 100 * 1024 * 1024
# Sheet XML compresses 5-20x; a member above 1 MB that claims more than 200x is made up.


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
    text = decode_csv(data)
    if text is None:
        raise StaffImportError(
            "bad_encoding",
            _("Unsupported text encoding. Save the file as CSV (UTF-8) or as .xlsx and try again."),
        )
    return text


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
    problem = xlsx_problem(data, max_unpacked_bytes=XLSX_MAX_UNPACKED_BYTES)
    if problem == XlsxProblem.DAMAGED:
        raise StaffImportError("bad_file", _("The file is damaged or not a real .xlsx workbook."))
    if problem == XlsxProblem.MACROS:
        raise StaffImportError("macros", _macro_message())
    if problem == XlsxProblem.NOT_A_WORKBOOK:
        raise StaffImportError(
            "bad_file", _("The file is a zip archive but not an Excel (.xlsx) workbook.")
        )
    if problem == XlsxProblem.TOO_LARGE:
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
        name = HEADER_ALIASES.get(header_key(cell))
        if name is None:
            continue  # extra columns are ignored
        if name in positions:
            raise StaffImportError(
                "duplicate_columns",
                _("The column “%(column)s” appears more than once.")
                % {"column": column_by_field(name).label},
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
