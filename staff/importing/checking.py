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
from staff.identifiers import (
    default_vote_code,
    is_digits,
    is_valid_employee_no,
    is_valid_vote_code,
    normalise_employee_no,
)
from staff.importing.schema import CheckedFile, ParsedFile, Progress, RawRow
from staff.models import OrgUnit, Position, StaffMember
from staff.phones import parse_phone
from staff.selectors import units_by_code, vote_code_holders

NAME_MAX_LENGTH = 64
STORY_MAX_LENGTH = 2000
VIDEO_URL_MAX_LENGTH = 200  # URLField's default max_length
EARLIEST_HIRE_DATE = dt.date(1950, 1, 1)
# Rows per progress callback while checking: often enough for a smooth bar, cheap.
PROGRESS_EVERY = 100
# How much of a bad value an error message quotes.
QUOTE_LENGTH = 40

# A phone as exports show it (``staff.phones.mask_phone``): 138****8000.
_MASKED_PHONE = re.compile(r"1[0-9]{2}\*{4}[0-9]{4}")
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


def _check_phone(
    value: Any, problems: _RowProblems, *, employee_no: str, lookups: "_Lookups"
) -> tuple[str, str] | None:
    if isinstance(value, float):
        # See the package docstring: a float cell may have lost digits; never guess them.
        problems.add(
            _(
                "Phone number is stored as a decimal or scientific number in the "
                "spreadsheet; format the column as text."
            )
        )
        return None
    text = _text(value)
    if _MASKED_PHONE.fullmatch(text):
        # An exported file carries masked phones. For a staff member already stored with
        # that very mask it means "keep the stored number", so an export imports back.
        stored = lookups.stored_phones.get(employee_no)
        if stored is not None and stored[1] == text:
            return stored
        problems.add(
            _("Phone number %(value)s is masked; enter the full number for a new or changed phone.")
            % {"value": text}
        )
        return None
    try:
        phone = parse_phone(text)
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


@dataclass
class _Lookups:
    """What checking needs from the database, loaded once per file (one query each)."""

    units: dict[str, OrgUnit]
    positions: dict[str, Position]
    # vote code -> employee number of the staff member holding it
    code_holders: dict[str, str]
    # employee number -> (phone hash, masked phone), only for rows whose phone is masked
    stored_phones: dict[str, tuple[str, str]]
    url_validator: URLValidator = field(
        default_factory=lambda: URLValidator(schemes=["http", "https"])
    )
    # Within the file: where each employee number and vote code first appeared.
    first_line_of: dict[str, int] = field(default_factory=dict)
    code_first_line: dict[str, int] = field(default_factory=dict)


def _load_lookups(parsed: ParsedFile) -> _Lookups:
    cells = [row.cells for row in parsed.rows]
    unit_codes = {_text(c.get("unit_code")).replace("\x00", "") for c in cells} - {""}
    employee_nos = [
        normalise_employee_no(_text(c.get("employee_no")).replace("\x00", "")) for c in cells
    ]
    codes = {no for no in employee_nos if is_digits(no)}
    codes |= {code for c in cells if is_digits(code := _text(c.get("vote_code")))}
    masked = [no for no, c in zip(employee_nos, cells, strict=True) if _is_masked(c.get("phone"))]
    stored_phones = (
        {
            employee_no: (phone_hash, phone_masked)
            for employee_no, phone_hash, phone_masked in StaffMember.objects.filter(
                employee_no__in=masked
            ).values_list("employee_no", "phone_hash", "phone_masked")
        }
        if masked
        else {}
    )
    return _Lookups(
        units=units_by_code(unit_codes),
        positions=_positions_by_key(),
        code_holders=vote_code_holders(codes) if codes else {},
        stored_phones=stored_phones,
    )


def _is_masked(value: Any) -> bool:
    return isinstance(value, str) and bool(_MASKED_PHONE.fullmatch(_text(value)))


def _check_employee_no(value: Any, line: int, problems: _RowProblems, lookups: _Lookups) -> str:
    """The normalised employee number (upper case); a problem if bad or seen before."""
    employee_no = normalise_employee_no(_text(value))
    if not employee_no:
        problems.add(_("Employee number is missing."))
    elif not is_valid_employee_no(employee_no):
        problems.add(
            _(
                "Employee number “%(value)s” must be 1 to 16 letters, digits or hyphens, "
                "starting with a letter or digit."
            )
            % {"value": _quote(employee_no)}
        )
    elif employee_no in lookups.first_line_of:
        problems.add(
            _("Employee number %(employee_no)s already appears on line %(line)s.")
            % {"employee_no": employee_no, "line": lookups.first_line_of[employee_no]}
        )
    else:
        lookups.first_line_of[employee_no] = line
    return employee_no


def _check_vote_code(
    employee_no: str, cells: dict[str, Any], line: int, problems: _RowProblems, lookups: _Lookups
) -> str:
    """The row's vote code, or "" to keep the stored one (or assign one to a new member).

    A digit employee number is its own vote code; a vote code column may then only repeat
    it. A code must not be held by another staff member nor claimed by another row.
    """
    given = _text(cells.get("vote_code"))
    if given and not is_valid_vote_code(given):
        problems.add(_("Vote code “%(value)s” must be 1 to 16 digits.") % {"value": _quote(given)})
        return ""
    implied = default_vote_code(employee_no) if is_valid_employee_no(employee_no) else None
    if implied is not None and given and given != implied:
        problems.add(
            _("The vote code of employee number %(employee_no)s is the number itself.")
            % {"employee_no": employee_no}
        )
        return ""
    code = implied or given
    if not code:
        return ""
    holder = lookups.code_holders.get(code)
    if holder is not None and holder != employee_no:
        problems.add(
            _("Vote code %(code)s already belongs to staff member %(holder)s.")
            % {"code": code, "holder": holder}
        )
    elif code in lookups.code_first_line:
        problems.add(
            _("Vote code %(code)s already appears on line %(line)s.")
            % {"code": code, "line": lookups.code_first_line[code]}
        )
    else:
        lookups.code_first_line[code] = line
    return code


def _check_unit(value: Any, problems: _RowProblems, lookups: _Lookups) -> OrgUnit | None:
    unit_code = _text(value)
    unit = lookups.units.get(unit_code)
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
    return unit


def _check_position(value: Any, problems: _RowProblems, lookups: _Lookups) -> Position | None:
    position_text = _text(value)
    position = lookups.positions.get(position_text.casefold())
    if not position_text:
        problems.add(_("Position is missing."))
    elif position is None:
        problems.add(_("Unknown position “%(value)s”.") % {"value": _quote(position_text)})
    elif not position.is_active:
        problems.add(_("Position “%(value)s” is no longer in use.") % {"value": position.name})
    return position


def _check_name(value: Any, problems: _RowProblems) -> str:
    name = _text(value)
    if not name:
        problems.add(_("Name is missing."))
    elif len(name) > NAME_MAX_LENGTH:
        problems.add(_("Name is longer than %(limit)s characters.") % {"limit": NAME_MAX_LENGTH})
    return name


def _check_optional(
    cells: dict[str, Any], present: set[str], problems: _RowProblems, lookups: _Lookups
) -> dict[str, Any]:
    """The optional columns the file has (absent ones are left out: stored values stay)."""
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
                lookups.url_validator(video_url)
            except ValidationError:
                problems.add(
                    _(
                        "Video link must be an http:// or https:// address of at most %(limit)s characters."
                    )
                    % {"limit": VIDEO_URL_MAX_LENGTH}
                )
        row["video_url"] = video_url
    return row


def _check_row(
    raw: RawRow, present: set[str], lookups: _Lookups
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """One row -> (valid row, None) or (None, error entry)."""
    problems = _RowProblems()
    cells = raw.cells
    # PostgreSQL text and jsonb cannot hold NUL: the line is refused, and the rest of its
    # checks (and their quotes) see the cells without it.
    if any(isinstance(value, str) and "\x00" in value for value in cells.values()):
        problems.add(_("This line contains a NUL character (is the file really CSV or XLSX?)."))
        cells = {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in cells.items()}
    employee_no = _check_employee_no(cells.get("employee_no"), raw.line, problems, lookups)
    # A bad or repeated employee number already makes the row an error; its vote code
    # would only repeat the complaint.
    vote_code = (
        ""
        if problems.messages
        else _check_vote_code(employee_no, cells, raw.line, problems, lookups)
    )
    name = _check_name(cells.get("name"), problems)
    unit = _check_unit(cells.get("unit_code"), problems, lookups)
    position = _check_position(cells.get("position"), problems, lookups)
    phone = _check_phone(cells.get("phone"), problems, employee_no=employee_no, lookups=lookups)
    optional = _check_optional(cells, present, problems, lookups)
    if problems.messages or unit is None or position is None or phone is None:
        error = {
            "line": raw.line,
            "employee_no": _quote(employee_no),
            "messages": problems.messages,
        }
        return None, error
    valid = {
        "line": raw.line,
        "employee_no": employee_no,
        "vote_code": vote_code,
        "name": name,
        "unit_id": unit.pk,
        "unit_code": unit.code,
        "position_id": position.pk,
        "position": position.name,
        "phone_hash": phone[0],
        "phone_masked": phone[1],
        **optional,
    }
    return valid, None


def check_staff_rows(parsed: ParsedFile, *, progress: Progress | None = None) -> CheckedFile:
    """Check every row of a parsed file; collect every problem of every row.

    Reads units, positions and the holders of the file's vote codes (one query each, and
    one more for stored phones if some phones are masked, as in an exported file); writes
    nothing. ``progress``, when given, is called with the number of rows just checked.
    Valid rows come back normalised and JSON-ready with the phone hashed and masked; the
    full number is not kept. ``vote_code`` is "" where the stored one stays or a new one
    is to be assigned when the import is confirmed.
    """
    present = set(parsed.columns)
    lookups = _load_lookups(parsed)
    valid: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    pending = 0
    for raw in parsed.rows:
        row, error = _check_row(raw, present, lookups)
        if row is not None:
            valid.append(row)
        if error is not None:
            errors.append(error)
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
