"""The staff import's writes: store a preview, confirm it (all or nothing), discard it.

``confirm_staff_import`` writes the staff in one transaction: new employee numbers are
created, changed ones updated, identical ones left untouched, so importing the same file
twice changes nothing. Confirm and discard are transitions of the ``StaffImport`` state
machine and write an audit event.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from staff.choices import AuditAction, StaffImportStatus
from staff.exceptions import DomainError, ImportAlreadyHandledError
from staff.importing.checking import check_staff_rows
from staff.importing.reading import read_staff_file
from staff.importing.schema import OPTIONAL_FIELDS, CheckedFile, ImportPlan, Progress
from staff.models import OrgUnit, Position, StaffImport, StaffMember
from staff.selectors import vote_code_holders
from staff.services import Actor, allocate_vote_codes, lock_vote_codes, record_audit_event

# Rows per INSERT/UPDATE statement and per progress tick; Django lowers it further where
# the backend limits query parameters (SQLite: 999).
WRITE_BATCH_SIZE = 1000
# Employee numbers per ``IN (...)`` lookup: one query on PostgreSQL for a full file.
LOOKUP_CHUNK_SIZE = 10_000


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
    fields = ("pk", "employee_no", "vote_code", *_ALWAYS_WRITTEN, *OPTIONAL_FIELDS)
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(employee_nos), chunk):
        batch = employee_nos[start : start + chunk]
        for values in StaffMember.objects.filter(employee_no__in=batch).values(*fields):
            found[values["employee_no"]] = values
    return found


@dataclass(frozen=True)
class _Split:
    new: list[dict[str, Any]]
    changed: list[dict[str, Any]]
    unchanged: int
    # employee number -> stored vote code, for the changed rows
    stored_codes: dict[str, str]


def _split(rows: Iterable[dict[str, Any]]) -> _Split:
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
        # "" (or a preview stored before vote codes existed) keeps the stored code.
        if row.get("vote_code"):
            values["vote_code"] = row["vote_code"]
        if all(stored[name] == value for name, value in values.items()):
            unchanged += 1
        else:
            changed.append(row)
    stored_codes = {
        row["employee_no"]: existing[row["employee_no"]]["vote_code"] for row in changed
    }
    return _Split(new, changed, unchanged, stored_codes)


def plan_staff_import(rows: Iterable[dict[str, Any]]) -> ImportPlan:
    """How many checked rows would create, update or leave staff unchanged (reads only)."""
    split = _split(rows)
    return ImportPlan(created=len(split.new), updated=len(split.changed), unchanged=split.unchanged)


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


def _check_codes_still_free(rows: list[dict[str, Any]]) -> None:
    """Vote codes the preview found free may have been given to someone else since."""
    wanted = {row["vote_code"]: row["employee_no"] for row in rows if row.get("vote_code")}
    for code, holder in vote_code_holders(wanted).items():
        if holder != wanted[code]:
            raise DomainError(
                "stale_preview",
                _(
                    "Vote code %(code)s was given to staff member %(holder)s after the "
                    "preview; upload the file again."
                )
                % {"code": code, "holder": holder},
            )


def _vote_codes(split: _Split) -> dict[str, str]:
    """employee number -> the vote code to write, for every row to write.

    A row's own code if it has one; else the stored one (changed rows); else a newly
    allocated one (new members whose employee number has letters), in file order so that
    the same file gives the same codes.
    """
    codes = {row["employee_no"]: row.get("vote_code", "") for row in split.new + split.changed}
    for employee_no, stored in split.stored_codes.items():
        codes[employee_no] = codes[employee_no] or stored
    missing = [row["employee_no"] for row in split.new if not codes[row["employee_no"]]]
    reserved = {code for code in codes.values() if code}
    for employee_no, code in zip(
        missing, allocate_vote_codes(len(missing), reserved=reserved), strict=True
    ):
        codes[employee_no] = code
    return codes


def _write_rows(rows: list[dict[str, Any]], *, progress: Progress | None) -> ImportPlan:
    """Create new staff and update changed ones, set-based; return what was done.

    Holds the vote-code lock (``staff.services.lock_vote_codes``) from the first read to
    the commit, so codes checked free stay free and allocated ones are not handed out twice.
    """
    lock_vote_codes()
    _check_codes_still_free(rows)
    split = _split(rows)
    new, changed, unchanged = split.new, split.changed, split.unchanged
    if progress is not None and unchanged:
        progress(unchanged)
    vote_codes = _vote_codes(split)
    now = timezone.now()
    # One INSERT ... ON CONFLICT (employee_no) DO UPDATE per batch writes new and changed
    # rows alike: the unique key referees a concurrent import of the same employee number
    # (no check-then-act), and rows we found unchanged are never written, so their
    # updated_at stays put. The updated fields must be the same for every row of a call;
    # they are, because every row of one file has the same columns.
    to_write = new + changed
    if to_write:
        update_fields = [
            _FIELD_NAMES.get(name, name)
            for name in (*_written_fields(to_write[0]), "vote_code", "updated_at")
        ]
        for start in range(0, len(to_write), WRITE_BATCH_SIZE):
            batch = to_write[start : start + WRITE_BATCH_SIZE]
            StaffMember.objects.bulk_create(
                [
                    StaffMember(
                        employee_no=row["employee_no"],
                        vote_code=vote_codes[row["employee_no"]],
                        updated_at=now,
                        **_row_values(row),
                    )
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
    staff_import: StaffImport,
    *,
    actor: Actor,
    skip_bad: bool = False,
    progress: Progress | None = None,
) -> StaffImport:
    """Write the previewed rows to the staff directory, all or nothing, and audit it.

    In one transaction: locks the ``StaffImport`` row (so two admins confirming at once
    yield one import), creates new employee numbers, updates changed ones and leaves
    identical ones untouched (a second import of the same file changes nothing), stores
    the counts in ``result``, sets status ``imported`` and writes one ``STAFF_IMPORTED``
    audit event (counts only, no phone numbers). ``progress`` is called with the number of
    rows handled. ``skip_bad`` decided at confirm time (the preview's page) does what it
    does at upload: the stored preview is confirmed without the file being sent again.
    Raises ``ImportAlreadyHandledError`` if the import is not ``previewed``,
    ``DomainError("has_bad_rows")`` if it has bad rows and skipping them was asked neither
    at upload nor here, ``DomainError("stale_preview")`` if a unit or position was deleted
    since.
    """
    with transaction.atomic():
        locked = _lock_previewed(staff_import)
        locked.skip_bad = locked.skip_bad or skip_bad
        if locked.error_count and not locked.skip_bad:
            raise DomainError(
                "has_bad_rows",
                _(
                    "%(count)s rows have errors. Fix the file and upload it again, or tick "
                    "“Skip bad rows” to import only the good rows."
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
        locked.save(update_fields=["status", "handled_at", "handled_by", "result", "skip_bad"])
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
