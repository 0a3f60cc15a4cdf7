"""Read functions of the staff directory."""

import getpass
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
from django.db.models import QuerySet

from staff.choices import UnitKind
from staff.identifiers import (
    EMPLOYEE_NO_MAX_LENGTH,
    is_digits,
    is_valid_employee_no,
    normalise_employee_no,
)
from staff.models import OrgUnit, StaffMember

# Values per ``IN (...)`` lookup.
LOOKUP_CHUNK_SIZE = 10_000


def command_actor(username: str) -> AbstractBaseUser | None:
    """The admin a management command acts for, to be named in the audit log: the active
    staff user ``username``, else the one named like the operating-system login running
    the command (``getpass.getuser()``); ``None`` when there is no such user."""
    name = username or getpass.getuser()
    return get_user_model().objects.filter(username=name, is_active=True, is_staff=True).first()


def units_in_subtree(unit: OrgUnit, *, kinds: tuple[str, ...] | None = None) -> QuerySet[OrgUnit]:
    """The unit and every unit below it, in one query, ordered by path (tree order)."""
    queryset = OrgUnit.objects.subtree_of(unit)
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    return queryset


def staff_in_subtree(unit: OrgUnit, *, active_only: bool = True) -> QuerySet[StaffMember]:
    """Staff of the unit and all units below it, with unit and position joined in."""
    queryset = StaffMember.objects.in_unit_subtree(unit).select_related("unit", "position")
    return queryset.active() if active_only else queryset


def branch_of(unit: OrgUnit) -> OrgUnit | None:
    """The branch a unit belongs to (itself if it is one), found by path prefix."""
    if unit.kind == UnitKind.BRANCH:
        return unit
    segments = unit.path.rstrip("/").split("/")
    prefixes = ["/".join(segments[:i]) + "/" for i in range(1, len(segments))]
    return OrgUnit.objects.filter(path__in=prefixes, kind=UnitKind.BRANCH).first()


def units_by_code(codes: set[str]) -> dict[str, OrgUnit]:
    """Units keyed by code, for bulk lookups (one query)."""
    return {unit.code: unit for unit in OrgUnit.objects.filter(code__in=codes)}


def staff_by_vote_code_or_employee_no(value: str) -> StaffMember | None:
    """The staff member a customer means by ``value``: a vote code or an employee number.

    ``value`` is normalised like an employee number (NFKC, trimmed, upper case). Digits
    are looked up as a vote code, anything else as an employee number: one probe of a
    unique index either way, and no ambiguity, because a digit employee number always is
    its holder's vote code (constraint ``staffmember_digit_employee_no_is_vote_code``).
    Anything that cannot be either (too long, stray characters) returns ``None`` without
    a query. Inactive staff are returned too; whether they may receive votes is the
    caller's rule.
    """
    text = normalise_employee_no(value or "")
    if not text or len(text) > EMPLOYEE_NO_MAX_LENGTH:
        return None
    if is_digits(text):
        return StaffMember.objects.filter(vote_code=text).first()
    if not is_valid_employee_no(text):
        return None
    return StaffMember.objects.filter(employee_no=text).first()


def vote_code_holders(codes: Iterable[str]) -> dict[str, str]:
    """``{vote code: employee number of its holder}`` for those of ``codes`` that are held.

    One query per ``LOOKUP_CHUNK_SIZE`` codes (fewer where the backend limits parameters):
    one for a whole import file on PostgreSQL.
    """
    wanted = sorted(set(codes))
    chunk = min(connection.features.max_query_params or LOOKUP_CHUNK_SIZE, LOOKUP_CHUNK_SIZE)
    found: dict[str, str] = {}
    for start in range(0, len(wanted), chunk):
        batch = wanted[start : start + chunk]
        found.update(
            StaffMember.objects.filter(vote_code__in=batch).values_list("vote_code", "employee_no")
        )
    return found
