"""Reading call-centre KPI files (CSV or XLSX, English or Chinese headers).

The same behaviour as the staff import (``staff.importing``), built apart because that
module is private to ``staff``: UTF-8 (with or without BOM) or GB18030 text, the delimiter
sniffed from the header line, XLSX checked from its zip directory before anything is
inflated (no macros, no zip bombs), size and row bounds, headers mapped case- and
width-insensitively. Pure: touches no database.

Columns: ``employee_no/工号``, ``calls_handled/接听量``, ``satisfaction_rate/满意率``,
``quality_score/质检得分``, ``first_call_resolution/一次解决率``. Extra columns are ignored.
"""

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from evaluations.measurement.exceptions import KpiImportError
from staff.spreadsheets import OLE_MAGIC, ZIP_MAGIC, XlsxProblem, decode_csv, xlsx_problem

# A real KPI workbook of 10,000 agents unpacks to a few MB.
XLSX_MAX_UNPACKED_BYTES = 50 * 1024 * 1024

COLUMNS: dict[str, tuple[str, ...]] = {
    "employee_no": ("employee_no", "工号"),
    "calls_handled": ("calls_handled", "接听量", "话务量"),
    "satisfaction_rate": ("satisfaction_rate", "满意率"),
    "quality_score": ("quality_score", "质检得分", "质检分"),
    "first_call_resolution": ("first_call_resolution", "一次解决率", "首问解决率"),
}


def header_key(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).strip().casefold()
    return re.sub(r"[\s\-]+", "_", folded)


_ALIASES = {header_key(alias): field for field, aliases in COLUMNS.items() for alias in aliases}


def column_label(field: str) -> str:
    return " / ".join(COLUMNS[field][:2])


@dataclass(frozen=True)
class KpiRow:
    line: int
    cells: dict[str, Any]


def _bad_workbook() -> KpiImportError:
    return KpiImportError("bad_file", _("The file is damaged or not a real .xlsx workbook."))


def _decode(data: bytes) -> str:
    text = decode_csv(data)
    if text is None:
        raise KpiImportError(
            "bad_encoding",
            _("Unsupported text encoding. Save the file as CSV (UTF-8) or as .xlsx and try again."),
        )
    return text


def _csv_rows(data: bytes) -> Iterator[tuple[Any, ...]]:
    text = _decode(data)
    try:
        delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",\t;").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            yield tuple(row)
    except csv.Error as exc:
        raise KpiImportError(
            "bad_file",
            _("The CSV file is malformed near line %(line)s.") % {"line": reader.line_num},
        ) from exc


def _check_zip(data: bytes) -> None:
    problem = xlsx_problem(data, max_unpacked_bytes=XLSX_MAX_UNPACKED_BYTES)
    if problem in {XlsxProblem.DAMAGED, XlsxProblem.NOT_A_WORKBOOK}:
        raise _bad_workbook()
    if problem == XlsxProblem.MACROS:
        raise KpiImportError("macros", _("Workbooks with macros are not accepted."))
    if problem == XlsxProblem.TOO_LARGE:
        raise KpiImportError(
            "unpacked_too_large",
            _("The workbook unpacks to far more data than a KPI list holds; it was not opened."),
        )


def _xlsx_rows(data: bytes) -> Iterator[tuple[Any, ...]]:
    from openpyxl import load_workbook  # noqa: PLC0415 -- heavy import, only for XLSX uploads

    _check_zip(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise _bad_workbook() from exc
    try:
        if workbook.worksheets:
            yield from workbook.worksheets[0].iter_rows(values_only=True)
    except KpiImportError:
        raise
    except Exception as exc:
        raise _bad_workbook() from exc
    finally:
        workbook.close()


def _table(data: bytes, filename: str) -> Iterator[tuple[Any, ...]]:
    lowered = filename.casefold()
    if lowered.endswith((".xlsm", ".xltm")):
        raise KpiImportError("macros", _("Workbooks with macros are not accepted."))
    if data.startswith(ZIP_MAGIC):
        return _xlsx_rows(data)
    if data.startswith(OLE_MAGIC) or lowered.endswith((".xlsx", ".xls")):
        raise KpiImportError(
            "bad_file", _("This is not a readable .xlsx workbook. Save it as .xlsx or as CSV.")
        )
    return _csv_rows(data)


def _header_positions(header: tuple[Any, ...]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        field = _ALIASES.get(header_key(cell)) if isinstance(cell, str) else None
        if field is None:
            continue
        if field in positions:
            raise KpiImportError(
                "duplicate_columns",
                _("The column “%(column)s” appears more than once.")
                % {"column": column_label(field)},
            )
        positions[field] = index
    missing = [column_label(field) for field in COLUMNS if field not in positions]
    if missing:
        raise KpiImportError(
            "missing_columns",
            _("The file is missing these required columns: %(columns)s.")
            % {"columns": ", ".join(missing)},
        )
    return positions


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_kpi_file(data: bytes, *, filename: str) -> list[KpiRow]:
    """The non-empty data rows of a KPI file, cells keyed by field; line 1 is the header.

    Raises ``KpiImportError`` (``file_too_large``, ``too_many_rows``, ``bad_encoding``,
    ``bad_file``, ``macros``, ``unpacked_too_large``, ``missing_columns``,
    ``duplicate_columns``, ``no_rows``).
    """
    if len(data) > settings.EVALUATIONS_KPI_MAX_BYTES:
        raise KpiImportError("file_too_large", _("The file is too large; split it."))
    table = _table(data, filename)
    positions = _header_positions(next(table, ()))
    rows: list[KpiRow] = []
    for line, values in enumerate(table, start=2):
        cells = {f: values[i] if i < len(values) else None for f, i in positions.items()}
        if all(_is_empty(value) for value in cells.values()):
            continue
        if len(rows) >= settings.EVALUATIONS_KPI_MAX_ROWS:
            raise KpiImportError(
                "too_many_rows",
                _("The file has more than %(limit)s rows; split it.")
                % {"limit": settings.EVALUATIONS_KPI_MAX_ROWS},
            )
        rows.append(KpiRow(line=line, cells=cells))
    if not rows:
        raise KpiImportError("no_rows", _("The file has a header but no rows."))
    return rows
