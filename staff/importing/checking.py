"""Checking the rows of a parsed staff file: every problem of every row, in one pass.

Units and positions are looked up in one query each. Valid rows come out normalised and
JSON-ready, with the phone already hashed and masked: the full number is dropped here and
is never stored, logged or shown. Row errors are translated text in the language of the
person who uploaded the file, who reads the preview.
"""

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.translation import gettext as _

from staff.choices import FRONTLINE_KINDS, UnitKind
from staff.exceptions import InvalidPhoneError
from staff.importing.schema import CheckedFile, ParsedFile, Progress
from staff.models import EMPLOYEE_NO_PATTERN, Position
from staff.phones import parse_phone
from staff.selectors import units_by_code

NAME_MAX_LENGTH = 64
STORY_MAX_LENGTH = 2000
VIDEO_URL_MAX_LENGTH = 200  # URLField's default max_length
EARLIEST_HIRE_DATE = dt.date(1950, 1, 1)
# Rows per progress callback while checking: often enough for a smooth bar, cheap.
PROGRESS_EVERY = 100
# How much of a bad value an error message quotes.
QUOTE_LENGTH = 40

_EMPLOYEE_NO = re.compile(EMPLOYEE_NO_PATTERN)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")


@dataclass
class _RowProblems:
    messages: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.messages.append(message)


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
    codes = {_text(row.cells.get("unit_code")) for row in parsed.rows} - {""}
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
