"""Demo measurement data and the components an evaluation-based stage reads from it."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Avg, Count, Q
from django.utils import timezone

from campaigns.choices import ComponentKey, StageKind
from campaigns.components import get_provider
from campaigns.demo import seed_demo_campaign
from campaigns.results import compute_stage_results
from evaluations.measurement import components
from evaluations.measurement.demo import (
    DEMO_MIN_RATINGS,
    demo_months,
    seed_demo_measurement,
)
from evaluations.measurement.rollups import check_month_rollup, compute_month_rollup
from evaluations.models import (
    EvaluationStageRule,
    Inspection,
    KpiRecord,
    Rating,
    ServiceTransaction,
    StaffMonth,
    StoreMonthScore,
)
from staff.demo import seed_demo_directory
from tests.factories.campaigns import ContestantFactory, StageFactory
from tests.factories.measurement import RatingFactory
from tests.factories.staff import StaffMemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    seed_demo_directory(staff_count=200)
    stage = seed_demo_campaign().stages.get(order=1)
    return stage, seed_demo_measurement(stage=stage)


def test_demo_measurement_is_realistic_and_consistent(demo):
    stage, summary = demo

    assert summary.created
    assert ServiceTransaction.objects.count() == summary.transactions > 200 * 3 * 2
    assert Rating.objects.count() == summary.ratings
    top_share = Rating.objects.filter(score__gte=9).count() / summary.ratings
    assert 0.7 < top_share < 0.95
    assert KpiRecord.objects.count() == summary.kpi_records > 0
    assert Inspection.objects.count() == summary.inspections > 0
    for month in demo_months(timezone.now()):
        assert check_month_rollup(month) == []
    last = demo_months(timezone.now())[-2]
    means = StaffMonth.objects.filter(month=last, rating_count__gt=0).aggregate(
        low=Count("id", filter=Q(mean__lt=Decimal("8.5"))), avg=Avg("mean")
    )
    assert means["low"] > 0
    assert StoreMonthScore.objects.filter(month=last).exists()
    assert EvaluationStageRule.objects.get(stage=stage).min_ratings == DEMO_MIN_RATINGS
    # Stage 1 of the demo campaign ranks on it.
    results = compute_stage_results(stage)
    assert ComponentKey.SATISFACTION not in results.unavailable
    rated = [
        line
        for line in results.lines.values()
        if line.components[ComponentKey.SATISFACTION].normalised > 0
    ]
    assert len(rated) > 100
    # A second run adds nothing.
    again = seed_demo_measurement(stage=stage)
    assert not again.created
    assert ServiceTransaction.objects.count() == summary.transactions


@pytest.fixture
def evaluation_stage(db):
    stage = StageFactory(
        kind=StageKind.EVALUATION,
        opens_at=dt.datetime(2026, 4, 10, tzinfo=dt.UTC),
        closes_at=dt.datetime(2026, 5, 31, 16, 0, tzinfo=dt.UTC),  # June 1st, 00:00 local
        weights={ComponentKey.SATISFACTION: "1"},
        tie_break_order=[],
    )
    EvaluationStageRule.objects.create(stage=stage, min_ratings=3)
    return stage


def test_stage_months_follow_local_window(evaluation_stage):
    assert components.stage_months(evaluation_stage) == [dt.date(2026, 4, 1), dt.date(2026, 5, 1)]


def test_satisfaction_needs_minimum_ratings(evaluation_stage):
    enough, few = StaffMemberFactory(), StaffMemberFactory()
    outside = StaffMemberFactory()
    c_enough = ContestantFactory(stage=evaluation_stage, staff_member=enough)
    ContestantFactory(stage=evaluation_stage, staff_member=few)
    c_outside = ContestantFactory(stage=evaluation_stage, staff_member=outside)
    april = dt.datetime(2026, 4, 20, tzinfo=dt.UTC)
    may = dt.datetime(2026, 5, 20, tzinfo=dt.UTC)
    for when, score in ((april, 10), (may, 9), (may, 8)):
        RatingFactory(staff_member=enough, score=score, rated_at=when)
    RatingFactory(staff_member=few, score=10, rated_at=may)
    for _n in range(3):
        RatingFactory(
            staff_member=outside, score=10, rated_at=dt.datetime(2026, 6, 2, tzinfo=dt.UTC)
        )
    for month in (dt.date(2026, 4, 1), dt.date(2026, 5, 1), dt.date(2026, 6, 1)):
        compute_month_rollup(month)

    assert components.satisfaction(evaluation_stage) == {c_enough.pk: Decimal("9.000")}
    assert c_outside.pk not in components.satisfaction(evaluation_stage)


def test_components_ignore_other_stage_kinds(db):
    stage = StageFactory(kind=StageKind.CUSTOMER_VOTE)
    member = StaffMemberFactory()
    ContestantFactory(stage=stage, staff_member=member)

    assert components.satisfaction(stage) == {}
    assert components.kpi_score(stage) == {}


def test_providers_are_registered():
    assert get_provider(ComponentKey.SATISFACTION).fetch is components.satisfaction
    assert get_provider(ComponentKey.KPI_SCORE).fetch is components.kpi_score
    assert get_provider(ComponentKey.INSPECTION_SCORE).fetch is components.inspection_score
