"""Rankings and the store service archive as spreadsheets (CSV and XLSX).

Built on ``campaigns.exports`` (formula escaping, UTF-8 with BOM, numbers as numbers).
No phone number, hash or other personal datum is exported.
"""

from collections.abc import Iterable
from decimal import Decimal

from django.utils.translation import gettext as _

from campaigns.exports import ExportTable, escape_formula
from evaluations.models import StaffMonth, StoreMonthScore, UnitMonth


def _share(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole) * 100).quantize(Decimal("0.1")) if whole else None


def staff_months_table(rows: Iterable[StaffMonth]) -> ExportTable:
    """Staff months (a ranking, in the order given)."""
    header = [
        _("Month"),
        _("Employee number"),
        _("Name"),
        _("Unit"),
        _("Branch"),
        _("Position"),
        _("Ratings"),
        _("Mean"),
        _("Shrunk mean"),
        _("Share of 9-10 (%)"),
        _("Response rate (%)"),
        _("KPI score"),
        _("Inspection score"),
    ]
    body = [
        [
            f"{row.month:%Y-%m}",
            row.staff_member.employee_no,
            escape_formula(row.staff_member.name),
            escape_formula(row.unit.name),
            escape_formula(row.branch.name) if row.branch_id else "",
            row.position.name,
            row.rating_count,
            row.mean,
            row.shrunk_mean,
            _share(row.top_box_count, row.rating_count),
            _share(row.rating_count, row.invitations_sent),
            row.kpi_score,
            row.inspection_score,
        ]
        for row in rows
    ]
    return ExportTable(title=_("Staff months"), header=header, rows=body)


def unit_months_table(rows: Iterable[UnitMonth]) -> ExportTable:
    header = [
        _("Month"),
        _("Unit code"),
        _("Unit"),
        _("Level"),
        _("Ratings"),
        _("Mean"),
        _("Shrunk mean"),
        _("Share of 9-10 (%)"),
        _("KPI score"),
        _("Inspection score"),
    ]
    body = [
        [
            f"{row.month:%Y-%m}",
            row.unit.code,
            escape_formula(row.unit.name),
            row.get_level_display(),
            row.rating_count,
            row.mean,
            row.shrunk_mean,
            _share(row.top_box_count, row.rating_count),
            row.kpi_score,
            row.inspection_score,
        ]
        for row in rows
    ]
    return ExportTable(title=_("Unit months"), header=header, rows=body)


def store_scores_table(rows: Iterable[StoreMonthScore]) -> ExportTable:
    """The store service archive, grade changes included (previous grade beside)."""
    header = [
        _("Month"),
        _("Store code"),
        _("Store"),
        _("Satisfaction"),
        _("Inspections"),
        _("Complaints and deductions"),
        _("KPI"),
        _("Composite score"),
        _("Rank"),
        _("Stores ranked"),
        _("Grade"),
        _("Previous grade"),
    ]
    body = [
        [
            f"{row.month:%Y-%m}",
            row.store.code,
            escape_formula(row.store.name),
            row.satisfaction,
            row.inspection,
            row.complaints,
            row.kpi,
            row.composite,
            row.rank,
            row.store_count,
            row.get_grade_display(),
            row.get_previous_grade_display(),
        ]
        for row in rows
    ]
    return ExportTable(title=_("Store archive"), header=header, rows=body)
