"""The staff import file's vocabulary: its columns and headers, and the shapes a file's rows
take on the way from bytes (``RawRow``/``ParsedFile``) to checked rows (``CheckedFile``) and
to what writing them would do (``ImportPlan``)."""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Progress = Callable[[int], None]


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
    Column("vote_code", "vote_code", "投票编号", required=False),
)
# Optional columns stored as they are, in model fields of the same name. The vote code is
# not one of them: a missing one is kept or assigned (``staff.importing.services``).
OPTIONAL_FIELDS = tuple(
    column.field for column in COLUMNS if not column.required and column.field != "vote_code"
)


def header_key(text: str) -> str:
    """Header cell -> lookup key: NFKC, trimmed, case-folded, spaces and hyphens as ``_``."""
    folded = unicodedata.normalize("NFKC", text).strip().casefold()
    return re.sub(r"[\s\-]+", "_", folded)


HEADER_ALIASES: dict[str, str] = {
    header_key(alias): column.field
    for column in COLUMNS
    for alias in (column.english, column.chinese)
}


def column_by_field(name: str) -> Column:
    """The column of a canonical field name."""
    return next(column for column in COLUMNS if column.field == name)


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
