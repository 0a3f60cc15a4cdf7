"""Monthly rollups: per staff member, per store (or team) and per branch.

For a month (local calendar, Asia/Shanghai) each rollup row holds the rating count, the
sum of scores, the counts of 9-10 ("top box") and 1-6 ratings, invitations sent, the raw
mean, the *shrunk* mean, the KPI score and the inspection score.

The shrunk mean is a Bayesian average: ``(C x prior + sum) / (C + count)`` where ``prior``
is the month's mean over the peer group (the staff member's position; all ratings for
units) and ``C = EVALUATIONS_SHRINKAGE_RATINGS``. With C = 20 and a prior of 9.5, three
ratings of 10 give 9.565 while 3,000 averaging 9.6 give 9.599: volume earns trust.
Rankings sort by the shrunk mean and show the raw mean beside it.

A month's rollup is derived data: ``compute_month_rollup`` replaces it from the rows
(one ``GROUP BY`` over the month's ratings, however many), and ``check_month_rollup``
compares the stored figures with a fresh count (``manage.py check_rollups``).
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from evaluations.measurement.choices import AuditAction, InvitationStatus, UnitLevel
from evaluations.models import (
    Inspection,
    KpiRecord,
    Rating,
    RatingInvitation,
    StaffMonth,
    UnitMonth,
)
from staff.choices import UnitKind
from staff.models import OrgUnit, StaffMember
from staff.services import Actor, record_audit_event

MILLI = Decimal("0.001")
CENT = Decimal("0.01")


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The aware start (inclusive) and end (exclusive) of a local calendar month."""
    zone = ZoneInfo(settings.TIME_ZONE)
    start = dt.datetime(month.year, month.month, 1, tzinfo=zone)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    return start, following


def shrunk_mean(total: int, count: int, *, prior: Decimal) -> Decimal | None:
    """``(C x prior + total) / (C + count)`` rounded to 3 places; ``None`` without ratings."""
    if not count:
        return None
    weight = Decimal(settings.EVALUATIONS_SHRINKAGE_RATINGS)
    value = (weight * prior + Decimal(total)) / (weight + Decimal(count))
    return value.quantize(MILLI, rounding=ROUND_HALF_UP)


def _mean(total: int, count: int) -> Decimal | None:
    return (Decimal(total) / Decimal(count)).quantize(MILLI, ROUND_HALF_UP) if count else None


@dataclass
class _Figures:
    count: int = 0
    total: int = 0
    top: int = 0
    low: int = 0
    invited: int = 0

    def add(self, other: "_Figures") -> None:
        self.count += other.count
        self.total += other.total
        self.top += other.top
        self.low += other.low
        self.invited += other.invited


@dataclass(frozen=True)
class RollupSummary:
    month: dt.date
    staff_rows: int
    unit_rows: int
    ratings: int
    warnings: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return (
            f"{self.month:%Y-%m}: {self.ratings} ratings, {self.staff_rows} staff rows, "
            f"{self.unit_rows} unit rows"
        )


def rating_figures(month: dt.date) -> dict[tuple[int, int], tuple[int, int, int, int]]:
    """``(staff_member_id, unit_id) -> (count, sum, 9-10 count, 1-6 count)`` for the month:
    one ``GROUP BY`` on the ``(rated_at, staff_member)`` index."""
    start, end = month_bounds(month)
    rows = (
        Rating.objects.filter(rated_at__gte=start, rated_at__lt=end)
        .values_list("staff_member_id", "unit_id")
        .annotate(
            count=Count("id"),
            total=Sum("score"),
            top=Count("id", filter=Q(score__gte=9)),
            low=Count("id", filter=Q(score__lte=6)),
        )
        .order_by()
    )
    return {(staff, unit): (c, t, top, low) for staff, unit, c, t, top, low in rows}


def _invitations(month: dt.date) -> dict[int, int]:
    start, end = month_bounds(month)
    rows = (
        RatingInvitation.objects.filter(
            sent_at__gte=start,
            sent_at__lt=end,
            status__in=(InvitationStatus.SENT, InvitationStatus.ANSWERED),
        )
        .values_list("staff_member_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)


def inspection_scores(month: dt.date) -> dict[int, Decimal]:
    """Mean score of each store's current inspection versions visited in the month."""
    start, end = month_bounds(month)
    rows = (
        Inspection.objects.filter(is_current=True, visited_at__gte=start, visited_at__lt=end)
        .values_list("store_id")
        .annotate(mean=Avg("score"))
        .order_by()
    )
    return {store: Decimal(str(mean)).quantize(CENT, ROUND_HALF_UP) for store, mean in rows}


def _branch_of(units: dict[int, OrgUnit]) -> dict[int, int | None]:
    branches: dict[int, int | None] = {}
    for pk, unit in units.items():
        current: OrgUnit | None = unit
        while current is not None and current.kind != UnitKind.BRANCH:
            current = units.get(current.parent_id) if current.parent_id else None
        branches[pk] = current.pk if current is not None else None
    return branches


def _staff_rows(
    month: dt.date,
    figures: dict[int, _Figures],
    *,
    kpi: dict[int, Decimal],
    inspections: dict[int, Decimal],
    branches: dict[int, int | None],
    now: dt.datetime,
) -> list[StaffMonth]:
    staff = {
        pk: (unit_id, position_id)
        for pk, unit_id, position_id in StaffMember.objects.filter(
            pk__in=set(figures) | set(kpi)
        ).values_list("id", "unit_id", "position_id")
    }
    by_position: dict[int, _Figures] = defaultdict(_Figures)
    for pk, fig in figures.items():
        by_position[staff[pk][1]].add(fig)
    rows = []
    for pk, (unit_id, position_id) in staff.items():
        fig = figures.get(pk, _Figures())
        peers = by_position.get(position_id)
        prior = _mean(peers.total, peers.count) if peers and peers.count else Decimal(0)
        rows.append(
            StaffMonth(
                month=month,
                staff_member_id=pk,
                unit_id=unit_id,
                position_id=position_id,
                branch_id=branches.get(unit_id),
                rating_count=fig.count,
                rating_sum=fig.total,
                top_box_count=fig.top,
                low_count=fig.low,
                invitations_sent=fig.invited,
                mean=_mean(fig.total, fig.count),
                shrunk_mean=shrunk_mean(fig.total, fig.count, prior=prior),
                kpi_score=kpi.get(pk),
                inspection_score=inspections.get(unit_id),
                computed_at=now,
            )
        )
    return rows


def _unit_rows(
    month: dt.date,
    figures: dict[int, _Figures],
    *,
    kpi_by_unit: dict[int, Decimal],
    inspections: dict[int, Decimal],
    branches: dict[int, int | None],
    now: dt.datetime,
) -> list[UnitMonth]:
    branch_figures: dict[int, _Figures] = defaultdict(_Figures)
    for unit_id, fig in figures.items():
        if branches.get(unit_id):
            branch_figures[branches[unit_id]].add(fig)
    overall = _Figures()
    for fig in figures.values():
        overall.add(fig)
    prior = _mean(overall.total, overall.count) or Decimal(0)
    rows = []
    units = set(figures) | set(inspections) | set(kpi_by_unit)
    for level, source in ((UnitLevel.STORE, units), (UnitLevel.BRANCH, set(branch_figures))):
        for unit_id in source:
            fig = (figures if level == UnitLevel.STORE else branch_figures).get(unit_id, _Figures())
            rows.append(
                UnitMonth(
                    month=month,
                    unit_id=unit_id,
                    level=level,
                    rating_count=fig.count,
                    rating_sum=fig.total,
                    top_box_count=fig.top,
                    low_count=fig.low,
                    invitations_sent=fig.invited,
                    mean=_mean(fig.total, fig.count),
                    shrunk_mean=shrunk_mean(fig.total, fig.count, prior=prior),
                    kpi_score=kpi_by_unit.get(unit_id) if level == UnitLevel.STORE else None,
                    inspection_score=inspections.get(unit_id) if level == UnitLevel.STORE else None,
                    computed_at=now,
                )
            )
    return rows


@transaction.atomic
def compute_month_rollup(month: dt.date, *, actor: Actor = None) -> RollupSummary:
    """Replace the month's ``StaffMonth`` and ``UnitMonth`` rows with figures computed from
    the ratings, invitations, KPI records and current inspections of that month.

    Reads each source once (grouped in SQL), deletes and bulk-inserts the month's rows in
    one transaction (readers see the old rollup or the new one), and writes an
    ``evaluations.rollup.computed`` audit event. Idempotent.
    """
    month = month.replace(day=1)
    now = timezone.now()
    staff_figures: dict[int, _Figures] = defaultdict(_Figures)
    unit_figures: dict[int, _Figures] = defaultdict(_Figures)
    for (staff_id, unit_id), (count, total, top, low) in rating_figures(month).items():
        fig = _Figures(count, total, top, low)
        staff_figures[staff_id].add(fig)
        unit_figures[unit_id].add(fig)
    for staff_id, invited in _invitations(month).items():
        staff_figures[staff_id].invited += invited
    kpi_rows = list(
        KpiRecord.objects.filter(month=month).values_list(
            "staff_member_id", "staff_member__unit_id", "score"
        )
    )
    kpi = {staff_id: score for staff_id, _unit, score in kpi_rows}
    unit_scores: dict[int, list[Decimal]] = defaultdict(list)
    for _staff, unit_id, score in kpi_rows:
        unit_scores[unit_id].append(score)
    kpi_by_unit = {
        unit: (sum(scores) / len(scores)).quantize(CENT, ROUND_HALF_UP)
        for unit, scores in unit_scores.items()
    }
    inspections = inspection_scores(month)
    branches = _branch_of(OrgUnit.objects.in_bulk())
    staff_rows = _staff_rows(
        month, staff_figures, kpi=kpi, inspections=inspections, branches=branches, now=now
    )
    unit_rows = _unit_rows(
        month,
        unit_figures,
        kpi_by_unit=kpi_by_unit,
        inspections=inspections,
        branches=branches,
        now=now,
    )
    StaffMonth.objects.filter(month=month).delete()
    UnitMonth.objects.filter(month=month).delete()
    StaffMonth.objects.bulk_create(staff_rows, batch_size=2000)
    UnitMonth.objects.bulk_create(unit_rows, batch_size=2000)
    ratings = sum(fig.count for fig in staff_figures.values())
    summary = RollupSummary(month, len(staff_rows), len(unit_rows), ratings)
    record_audit_event(
        None,
        actor=actor,
        action=AuditAction.ROLLUP_COMPUTED,
        data={"month": month.isoformat(), "ratings": ratings, "staff_rows": len(staff_rows)},
    )
    return summary


def check_month_rollup(month: dt.date) -> list[str]:
    """Differences between the stored rollup of ``month`` and a fresh count of its ratings
    (empty when they agree). Read-only."""
    month = month.replace(day=1)
    fresh: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for (staff_id, _unit), values in rating_figures(month).items():
        fresh[staff_id] = [a + b for a, b in zip(fresh[staff_id], values, strict=True)]
    stored = {
        staff_id: [count, total, top, low]
        for staff_id, count, total, top, low in StaffMonth.objects.filter(month=month).values_list(
            "staff_member_id", "rating_count", "rating_sum", "top_box_count", "low_count"
        )
    }
    problems = []
    for staff_id in sorted(set(fresh) | set(stored)):
        expected = fresh.get(staff_id, [0, 0, 0, 0])
        got = stored.get(staff_id)
        if got is None and expected != [0, 0, 0, 0]:
            problems.append(f"staff {staff_id}: missing from the rollup (ratings {expected[0]})")
        elif got is not None and got != expected:
            problems.append(
                f"staff {staff_id}: rollup count/sum/9-10/1-6 {got}, ratings say {expected}"
            )
    return problems
