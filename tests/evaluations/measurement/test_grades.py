"""Store composite scores and grade transitions across four months."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from evaluations.measurement.choices import StoreGrade, UnitLevel
from evaluations.measurement.grades import composite, compute_store_grades, store_dimensions
from evaluations.models import StoreGradeWeights, StoreMonthScore, UnitMonth
from staff.choices import UnitKind
from staff.models import AuditEvent
from tests.factories.staff import OrgUnitFactory

pytestmark = pytest.mark.django_db
MONTHS = [dt.date(2026, m, 1) for m in (3, 4, 5, 6)]


def _month(month, means):
    for store, mean in means.items():
        UnitMonth.objects.create(
            month=month,
            unit=store,
            level=UnitLevel.STORE,
            rating_count=100,
            rating_sum=int(mean * 100),
            shrunk_mean=Decimal(str(mean)),
            computed_at=timezone.now(),
        )


def test_grades_across_four_months(db):
    stores = [OrgUnitFactory(kind=UnitKind.STORE, code=f"S{n:02d}") for n in range(10)]
    best, worst, late = stores[0], stores[9], stores[5]
    plan = []
    for index in range(4):
        means = dict.fromkeys(stores, 9.0)
        means[best] = 9.9 if index < 3 else 9.0
        means[worst] = 7.0 if index < 3 else 9.0
        if index == 3:
            means[late] = 6.0
        plan.append(means)

    for month, means in zip(MONTHS, plan, strict=True):
        _month(month, means)
        compute_store_grades(month)

    def grades(store):
        return list(
            StoreMonthScore.objects.filter(store=store)
            .order_by("month")
            .values_list("grade", flat=True)
        )

    assert grades(best) == ["normal", "exempt", "exempt", "normal"]
    assert grades(worst) == ["supervision", "supervision", "coaching", "normal"]
    assert grades(late) == ["normal", "normal", "normal", "supervision"]
    assert grades(stores[3]) == ["normal"] * 4
    changes = list(
        AuditEvent.objects.filter(action="evaluations.store_grade.changed")
        .order_by("id")
        .values_list("target_id", "data")
    )
    assert changes == [
        (str(worst.pk), {"month": "2026-03-01", "from": "normal", "to": "supervision"}),
        (str(best.pk), {"month": "2026-04-01", "from": "normal", "to": "exempt"}),
        (str(worst.pk), {"month": "2026-05-01", "from": "supervision", "to": "coaching"}),
        (str(best.pk), {"month": "2026-06-01", "from": "exempt", "to": "normal"}),
        (str(worst.pk), {"month": "2026-06-01", "from": "coaching", "to": "normal"}),
        (str(late.pk), {"month": "2026-06-01", "from": "normal", "to": "supervision"}),
    ]
    worst_may = StoreMonthScore.objects.get(store=worst, month=MONTHS[2])
    assert (worst_may.rank, worst_may.store_count, worst_may.supervision_since) == (
        10,
        10,
        MONTHS[0],
    )


def test_recomputing_a_month_audits_nothing_new(db):
    stores = [OrgUnitFactory(kind=UnitKind.STORE) for _ in range(10)]
    _month(MONTHS[0], {store: 9.0 - n / 10 for n, store in enumerate(stores)})
    compute_store_grades(MONTHS[0])
    before = AuditEvent.objects.count()

    summary = compute_store_grades(MONTHS[0])

    assert (summary.stores, summary.changes) == (10, 0)
    assert AuditEvent.objects.count() == before


def test_composite_renormalises_over_available_dimensions():
    weights = StoreGradeWeights()
    dims = {"satisfaction": Decimal(90), "inspection": Decimal(60), "complaints": None, "kpi": None}

    # (0.5 x 90 + 0.3 x 60) / 0.8
    assert composite(dims, weights) == Decimal("78.75")
    assert composite(dict.fromkeys(dims), weights) is None


def test_store_dimensions_from_rollup(db):
    store = OrgUnitFactory(kind=UnitKind.STORE)
    UnitMonth.objects.create(
        month=MONTHS[0],
        unit=store,
        level=UnitLevel.STORE,
        rating_count=200,
        rating_sum=1800,
        low_count=10,
        shrunk_mean=Decimal("9.100"),
        inspection_score=Decimal("80.00"),
        computed_at=timezone.now(),
    )

    dims = store_dimensions(MONTHS[0])

    assert dims == {
        store.pk: {
            "satisfaction": Decimal("90.00"),
            "inspection": Decimal("80.00"),
            "complaints": Decimal("95.00"),
            "kpi": None,
        }
    }
    assert StoreGrade.NORMAL == "normal"
