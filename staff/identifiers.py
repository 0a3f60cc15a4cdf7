"""Employee numbers and vote codes: how staff are named by HR and by voting customers.

* An **employee number** is HR's own identifier (``BJ010086``, ``100234``, ``SX-0042``):
  letters, digits and ``-``, at most 16 characters, stored normalised (NFKC, trimmed,
  upper case) so that ``bj010086`` and its full-width form name the same person.
* A **vote code** is what customers type after ``TP``: digits only, unique. It is the
  employee number when that is digits (a database constraint holds it), otherwise it is
  assigned (``staff.services.allocate_vote_codes``). Hence a digit string a customer sends
  names at most one person, whether they meant the vote code or the employee number.

Pure functions; no database.
"""

import re
import unicodedata

from staff.models import DIGITS_PATTERN, EMPLOYEE_NO_PATTERN, VOTE_CODE_PATTERN

EMPLOYEE_NO_MAX_LENGTH = 16

_EMPLOYEE_NO = re.compile(EMPLOYEE_NO_PATTERN)
_VOTE_CODE = re.compile(VOTE_CODE_PATTERN)
_DIGITS = re.compile(DIGITS_PATTERN)


def normalise_employee_no(text: str) -> str:
    """``text`` as an employee number is stored: NFKC, trimmed, upper case. Not validated."""
    return unicodedata.normalize("NFKC", text).strip().upper()


def is_valid_employee_no(value: str) -> bool:
    """Whether a *normalised* value is a valid employee number (letters, digits, ``-``)."""
    return bool(_EMPLOYEE_NO.fullmatch(value))


def is_valid_vote_code(value: str) -> bool:
    """Whether ``value`` is a valid vote code: 1 to 16 ASCII digits."""
    return bool(_VOTE_CODE.fullmatch(value))


def is_digits(value: str) -> bool:
    """ASCII digits only (``str.isdigit`` would also accept ``١٢٣``)."""
    return bool(_DIGITS.fullmatch(value))


def default_vote_code(employee_no: str) -> str | None:
    """The vote code an employee number implies: itself when it is digits, else ``None``
    (one must be assigned)."""
    return employee_no if is_digits(employee_no) else None


def candidate_lookup(value: object) -> tuple[str, str] | None:
    """How a number given by a customer, a page or the API names a staff member:
    ``("vote_code", digits)`` for digits (a vote code, or an employee number that is its
    own vote code), ``("employee_no", number)`` for a valid employee number with letters,
    ``None`` for anything else (which then needs no query). ``value`` is normalised first
    (NFKC, trimmed, upper case); a non-negative integer is read as its digits."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    if isinstance(value, int) and value < 0:
        return None
    text = normalise_employee_no(str(value))
    if len(text) > EMPLOYEE_NO_MAX_LENGTH:
        return None
    if is_valid_vote_code(text):
        return "vote_code", text
    if is_valid_employee_no(text):
        return "employee_no", text
    return None
