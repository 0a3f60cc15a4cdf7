"""Store service archive and grades.

Each month every store with data gets four dimension scores on 0-100:

- *satisfaction*: the store's shrunk mean rating mapped from 1-10 (``(m - 1) / 9 x 100``);
- *inspections*: the mean of the month's current inspection scores;
- *complaints and deductions*: ``100 x (1 - share of ratings 1-6)`` minus the deduction
  points ticked on the month's inspections;
- *KPI*: the mean KPI score of the store's staff, where any have one.

The composite is the weighted mean of the dimensions the store has (``StoreGradeWeights``,
renormalised over the available ones). Stores are ranked by composite; the top 10 % and
the bottom 10 % are ``ceil(10 % of the stores ranked)`` each, and a group of equal
composites straddling a band's edge stays out of that band. Grades, decided in month
order from the previous month's grade (see ``choices``):

- top 10 % this month and last month: **exempt** (from inspection);
- bottom 10 %: **supervision**, starting ``supervision_since`` this month unless already
  under supervision; still in the bottom 10 % two months after ``supervision_since``:
  **coaching** (on-site coaching) until it leaves the bottom 10 %;
- otherwise **normal**.

A recomputed month keeps its history: only an effective change of a store's grade writes
an ``evaluations.store_grade.changed`` audit event.
"""

import datetime as dt
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from evaluations.measurement.choices import (
    AuditAction,
    ChecklistItemKind,
    StoreGrade,
    UnitLevel,
)
from evaluations.measurement.exceptions import MeasurementError
from evaluations.measurement.rollups import month_bounds
from evaluations.models import InspectionMark, StoreGradeWeights, StoreMonthScore, UnitMonth
from staff.choices import UnitKind
from staff.models import OrgUnit
from staff.services import Actor, record_audit_event

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
SHARE = Decimal("0.10")
DIMENSIONS = ("satisfaction", "inspection", "complaints", "kpi")


@dataclass(frozen=True)
class GradeSummary:
    month: dt.date
    stores: int
    changes: int

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.stores} stores graded, {self.changes} grade changes"


def grade_weights() -> StoreGradeWeights:
    weights, _created = StoreGradeWeights.objects.get_or_create(pk=1)
    return weights


def _clamp(value: Decimal) -> Decimal:
    return min(max(value, Decimal(0)), HUNDRED).quantize(CENT, ROUND_HALF_UP)


def _deductions(month: dt.date) -> dict[int, Decimal]:
    start, end = month_bounds(month)
    rows = (
        InspectionMark.objects.filter(
            inspection__is_current=True,
            inspection__visited_at__gte=start,
            inspection__visited_at__lt=end,
            item__kind=ChecklistItemKind.DEDUCTION,
            is_ticked=True,
        )
        .values_list("inspection__store_id")
        .annotate(points=Sum("points"))
        .order_by()
    )
    return dict(rows)


def store_dimensions(month: dt.date) -> dict[int, dict[str, Decimal | None]]:
    """The four dimension scores of each store with data in ``month`` (``None`` where the
    store has no data for a dimension). Reads the month's rollup (compute it first)."""
    stores = set(OrgUnit.objects.filter(kind=UnitKind.STORE).values_list("id", flat=True))
    deductions = _deductions(month)
    result = {}
    for row in UnitMonth.objects.filter(month=month, level=UnitLevel.STORE, unit_id__in=stores):
        complaints = None
        if row.rating_count:
            complaints = HUNDRED * (1 - Decimal(row.low_count) / Decimal(row.rating_count))
        if row.unit_id in deductions:
            complaints = (complaints if complaints is not None else HUNDRED) - deductions[
                row.unit_id
            ]
        result[row.unit_id] = {
            "satisfaction": (
                _clamp((row.shrunk_mean - 1) / 9 * HUNDRED) if row.shrunk_mean is not None else None
            ),
            "inspection": row.inspection_score,
            "complaints": _clamp(complaints) if complaints is not None else None,
            "kpi": row.kpi_score,
        }
    return result


def composite(dimensions: dict[str, Decimal | None], weights: StoreGradeWeights) -> Decimal | None:
    """Weighted mean of the available dimensions; ``None`` when none is available or the
    available ones all weigh 0."""
    pairs = [
        (Decimal(str(getattr(weights, name))), value)
        for name, value in dimensions.items()
        if value is not None
    ]
    total_weight = sum((weight for weight, _value in pairs), Decimal(0))
    if not total_weight:
        return None
    return _clamp(sum((w * v for w, v in pairs), Decimal(0)) / total_weight)


def _months_between(earlier: dt.date, later: dt.date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def next_grade(
    *, top: bool, bottom: bool, previous: StoreMonthScore | None, was_top: bool, month: dt.date
) -> tuple[str, dt.date | None]:
    """The grade and ``supervision_since`` of a store this month (see the module docstring)."""
    supervised = previous is not None and previous.grade in (
        StoreGrade.SUPERVISION,
        StoreGrade.COACHING,
    )
    if bottom:
        since = previous.supervision_since if supervised and previous.supervision_since else month
        if _months_between(since, month) >= 2:
            return StoreGrade.COACHING, since
        return StoreGrade.SUPERVISION, since
    if top and was_top:
        return StoreGrade.EXEMPT, None
    return StoreGrade.NORMAL, None


def _ranked(scores: dict[int, Decimal]) -> tuple[dict[int, int], set[int], set[int]]:
    """Competition ranks, and the top and bottom bands. A group of equal scores that
    straddles a band's edge is left out of that band as a whole: neither an exemption
    nor a supervision is decided by the order of ties."""
    order = sorted(scores, key=lambda pk: (-scores[pk], pk))
    ranks: dict[int, int] = {}
    last_position: dict[Decimal, int] = {}
    for index, pk in enumerate(order):
        same = index and scores[order[index - 1]] == scores[pk]
        ranks[pk] = ranks[order[index - 1]] if same else index + 1
        last_position[scores[pk]] = index + 1
    band = math.ceil(len(order) * SHARE) if order else 0
    top = {pk for pk in order if last_position[scores[pk]] <= band}
    bottom = {pk for pk in order if ranks[pk] > len(order) - band}
    return ranks, top, bottom


@transaction.atomic
def compute_store_grades(month: dt.date, *, actor: Actor = None) -> GradeSummary:
    """Score, rank and grade every store for ``month`` from its rollup; replaces the month's
    ``StoreMonthScore`` rows.

    Reads the previous month's archive for the grade history (compute months in order).
    Writes one audit event per store whose grade changed.
    """
    month = month.replace(day=1)
    previous_month = (month - dt.timedelta(days=1)).replace(day=1)
    weights = grade_weights()
    dims = store_dimensions(month)
    scores = {pk: value for pk, d in dims.items() if (value := composite(d, weights)) is not None}
    ranks, top, bottom = _ranked(scores)
    previous = {row.store_id: row for row in StoreMonthScore.objects.filter(month=previous_month)}
    before = dict(StoreMonthScore.objects.filter(month=month).values_list("store_id", "grade"))
    now, rows, changed = timezone.now(), [], []
    for pk, score in scores.items():
        last = previous.get(pk)
        was_top = last is not None and last.in_top_band
        grade, since = next_grade(
            top=pk in top, bottom=pk in bottom, previous=last, was_top=was_top, month=month
        )
        prior_grade = last.grade if last is not None else StoreGrade.NORMAL
        rows.append(
            StoreMonthScore(
                store_id=pk,
                month=month,
                **{name: dims[pk][name] for name in DIMENSIONS},
                composite=score,
                rank=ranks[pk],
                store_count=len(scores),
                grade=grade,
                in_top_band=pk in top,
                in_bottom_band=pk in bottom,
                previous_grade=prior_grade,
                supervision_since=since,
                computed_at=now,
            )
        )
        if grade != before.get(pk, prior_grade):
            changed.append((pk, before.get(pk, prior_grade), grade))
    StoreMonthScore.objects.filter(month=month).delete()
    StoreMonthScore.objects.bulk_create(rows, batch_size=2000)
    stores = OrgUnit.objects.in_bulk([pk for pk, _old, _new in changed])
    for pk, old, new in changed:
        record_audit_event(
            stores[pk],
            actor=actor,
            action=AuditAction.GRADE_CHANGED,
            data={"month": month.isoformat(), "from": old, "to": new},
        )
    return GradeSummary(month, len(rows), len(changed))


@transaction.atomic
def set_grade_weights(weights: StoreGradeWeights, *, actor: Actor) -> StoreGradeWeights:
    """Save the composite's weights (the one row, pk 1); they apply from the next
    ``compute_store_grades``. Writes an ``evaluations.grade_weights.changed`` audit event.
    Raises ``MeasurementError("bad_weights")`` unless the weights are >= 0 and add to 1.
    """
    values = {name: Decimal(str(getattr(weights, name))) for name in DIMENSIONS}
    if any(value < 0 for value in values.values()) or sum(values.values()) != 1:
        raise MeasurementError("bad_weights", _("The four weights must add up to 1."))
    weights.pk = 1
    weights.save()
    record_audit_event(
        weights,
        actor=actor,
        action=AuditAction.GRADE_WEIGHTS_CHANGED,
        data={name: str(value) for name, value in values.items()},
    )
    return weights
