"""Call-centre KPIs: the monthly import (preview, then confirm) and the per-position formula.

A file's rows are checked into a ``KpiImport`` (the preview: valid rows and row errors,
nothing else written). Confirming writes one ``KpiRecord`` per agent and month (a new
import of the same month replaces an agent's figures) with the score of the agent's
position's ``KpiFormula`` (defaults when the position has none). Changing a formula
recomputes the scores of that position's records.

Rates may be written ``95``, ``95%`` or, when a whole column is at most 1 (Excel's
percentage cells), ``0.95``: such a column is read as fractions.
"""

import datetime as dt
import unicodedata
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from evaluations.measurement.choices import AuditAction, KpiImportStatus
from evaluations.measurement.exceptions import MeasurementError
from evaluations.measurement.kpi_files import KpiRow, column_label, read_kpi_file
from evaluations.models import KpiFormula, KpiImport, KpiRecord
from staff.exceptions import ImportAlreadyHandledError
from staff.models import StaffMember
from staff.services import Actor, record_audit_event

RATE_FIELDS = ("satisfaction_rate", "quality_score", "first_call_resolution")
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
MAX_CALLS = 100_000


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _d(value: Decimal | int | str) -> Decimal:
    # An unsaved model keeps its field defaults as given (strings).
    return Decimal(str(value))


def kpi_score(formula: KpiFormula, *, calls: int, rates: dict[str, Decimal]) -> Decimal:
    """The 0-100 KPI score of one agent's month under ``formula`` (see the model)."""
    calls_part = min(Decimal(calls) / Decimal(formula.calls_target), Decimal(1)) * HUNDRED
    score = (
        _d(formula.weight_calls) * calls_part
        + _d(formula.weight_satisfaction) * rates["satisfaction_rate"]
        + _d(formula.weight_quality) * rates["quality_score"]
        + _d(formula.weight_resolution) * rates["first_call_resolution"]
    )
    return min(max(score, Decimal(0)), HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


def _formulas() -> dict[int, KpiFormula]:
    return {formula.position_id: formula for formula in KpiFormula.objects.all()}


def _text(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip() if value is not None else ""


def _number(value: Any) -> Decimal | None:
    text = _text(value).removesuffix("%").strip()
    if not text or text[0] in "=+@" or len(text) > 20:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _fraction_columns(rows: list[KpiRow]) -> set[str]:
    """Rate columns whose every number is at most 1 and not written with ``%``."""
    fractions = set()
    for field in RATE_FIELDS:
        numbers = [_number(row.cells[field]) for row in rows]
        written_percent = any(_text(row.cells[field]).endswith("%") for row in rows)
        valid = [n for n in numbers if n is not None]
        if valid and not written_percent and all(n <= 1 for n in valid):
            fractions.add(field)
    return fractions


def _check_row(
    row: KpiRow, *, staff: dict[str, tuple[int, int, str]], fractions: set[str]
) -> tuple[dict[str, Any] | None, list[str]]:
    problems: list[str] = []
    employee_no = _text(row.cells["employee_no"]).upper()
    if employee_no not in staff:
        problems.append(_("Unknown employee number “%(value)s”.") % {"value": employee_no[:40]})
    calls = _number(row.cells["calls_handled"])
    if calls is None or calls != calls.to_integral_value() or not 0 <= calls <= MAX_CALLS:
        problems.append(
            _("%(column)s must be a whole number from 0 to %(max)s.")
            % {"column": column_label("calls_handled"), "max": MAX_CALLS}
        )
    rates: dict[str, str] = {}
    for field in RATE_FIELDS:
        number = _number(row.cells[field])
        if number is not None and field in fractions:
            number *= HUNDRED
        if number is None or not 0 <= number <= HUNDRED:
            problems.append(
                _("%(column)s must be a percentage from 0 to 100.")
                % {"column": column_label(field)}
            )
        else:
            rates[field] = str(number.quantize(CENT, rounding=ROUND_HALF_UP))
    if problems:
        return None, problems
    staff_id, position_id, name = staff[employee_no]
    return {
        "line": row.line,
        "employee_no": employee_no,
        "name": name,
        "staff_member_id": staff_id,
        "position_id": position_id,
        "calls_handled": int(calls),
        **rates,
    }, []


def check_kpi_rows(rows: list[KpiRow]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Valid rows (normalised, with the score under today's formula) and row errors
    (``{"line", "messages"}``). One staff query; a repeated employee number is an error on
    its later rows."""
    employee_nos = {_text(row.cells["employee_no"]).upper() for row in rows}
    staff = {
        no: (pk, position_id, name)
        for no, pk, position_id, name in StaffMember.objects.filter(
            employee_no__in=employee_nos
        ).values_list("employee_no", "id", "position_id", "name")
    }
    fractions = _fraction_columns(rows)
    formulas, seen = _formulas(), set()
    valid, errors = [], []
    for row in rows:
        checked, problems = _check_row(row, staff=staff, fractions=fractions)
        if checked and checked["employee_no"] in seen:
            checked, problems = None, [_("This employee number appears twice in the file.")]
        if checked is None:
            errors.append({"line": row.line, "messages": problems})
            continue
        seen.add(checked["employee_no"])
        formula = formulas.get(checked["position_id"], KpiFormula())
        rates = {field: Decimal(checked[field]) for field in RATE_FIELDS}
        checked["score"] = str(kpi_score(formula, calls=checked["calls_handled"], rates=rates))
        valid.append(checked)
    return valid, errors


def preview_kpi_import(*, data: bytes, filename: str, month: dt.date, actor: Actor) -> KpiImport:
    """Read and check a KPI file for ``month`` and store the preview; writes no records.

    Raises ``KpiImportError`` for a file that cannot be read as a whole.
    """
    valid, errors = check_kpi_rows(read_kpi_file(data, filename=filename))
    user = actor if getattr(actor, "is_authenticated", False) else None
    return KpiImport.objects.create(
        file_name=filename[:255],
        month=month_start(month),
        rows=valid,
        errors=errors,
        row_count=len(valid) + len(errors),
        error_count=len(errors),
        created_by=user,
    )


def _lock_previewed(kpi_import: KpiImport) -> KpiImport:
    locked = KpiImport.objects.select_for_update().get(pk=kpi_import.pk)
    if locked.status != KpiImportStatus.PREVIEWED:
        raise ImportAlreadyHandledError(_("This import has already been confirmed or discarded."))
    return locked


@transaction.atomic
def confirm_kpi_import(kpi_import: KpiImport, *, actor: Actor, skip_bad: bool = False) -> KpiImport:
    """Write the previewed rows as ``KpiRecord`` rows (replacing the month's figures of
    those agents), scored with the formulas of now.

    Locks the import row (two admins confirming at once: one import, the other gets
    ``already_imported``). Refuses a file with bad rows unless ``skip_bad``
    (``has_errors``). Writes an ``evaluations.kpi.imported`` audit event.
    """
    locked = _lock_previewed(kpi_import)
    if locked.error_count and not skip_bad:
        raise MeasurementError(
            "has_errors", _("The file has bad rows: fix them, or choose to skip them.")
        )
    formulas = _formulas()
    records = []
    for row in locked.rows:
        rates = {field: Decimal(row[field]) for field in RATE_FIELDS}
        formula = formulas.get(row["position_id"], KpiFormula())
        records.append(
            KpiRecord(
                staff_member_id=row["staff_member_id"],
                month=locked.month,
                calls_handled=row["calls_handled"],
                **rates,
                kpi_import=locked,
                score=kpi_score(formula, calls=row["calls_handled"], rates=rates),
            )
        )
    KpiRecord.objects.bulk_create(
        records,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["staff_member", "month"],
        update_fields=["calls_handled", *RATE_FIELDS, "score", "kpi_import"],
    )
    locked.status = KpiImportStatus.CONFIRMED
    locked.handled_at = timezone.now()
    locked.result = {"written": len(records), "skipped": locked.error_count}
    locked.save(update_fields=["status", "handled_at", "result"])
    record_audit_event(
        locked,
        actor=actor,
        action=AuditAction.KPI_IMPORTED,
        data={"month": locked.month.isoformat(), **locked.result},
    )
    return locked


@transaction.atomic
def discard_kpi_import(kpi_import: KpiImport, *, actor: Actor) -> KpiImport:
    """Mark a preview discarded; writes no records."""
    locked = _lock_previewed(kpi_import)
    locked.status = KpiImportStatus.DISCARDED
    locked.handled_at = timezone.now()
    locked.save(update_fields=["status", "handled_at"])
    return locked


def _recompute(formula: KpiFormula, records: Iterable[KpiRecord]) -> int:
    changed = []
    for record in records:
        rates = {field: getattr(record, field) for field in RATE_FIELDS}
        score = kpi_score(formula, calls=record.calls_handled, rates=rates)
        if score != record.score:
            record.score = score
            changed.append(record)
    KpiRecord.objects.bulk_update(changed, ["score"], batch_size=1000)
    return len(changed)


@transaction.atomic
def set_kpi_formula(formula: KpiFormula, *, actor: Actor) -> int:
    """Save ``formula`` (weights adding up to 1) and recompute the scores of its position's
    records; returns how many scores changed.

    Writes the formula, the changed records and an ``evaluations.kpi_formula.changed``
    audit event. Raises ``MeasurementError("bad_weights")``.
    """
    weights = (
        formula.weight_calls,
        formula.weight_satisfaction,
        formula.weight_quality,
        formula.weight_resolution,
    )
    if any(_d(w) < 0 for w in weights) or sum(_d(w) for w in weights) != 1:
        raise MeasurementError("bad_weights", _("The four weights must add up to 1."))
    formula.save()
    records = KpiRecord.objects.filter(staff_member__position_id=formula.position_id)
    changed = _recompute(formula, records.select_for_update())
    record_audit_event(
        formula,
        actor=actor,
        action=AuditAction.KPI_FORMULA_CHANGED,
        data={
            "weights": [str(w) for w in weights],
            "calls_target": formula.calls_target,
            "rescored": changed,
        },
    )
    return changed
