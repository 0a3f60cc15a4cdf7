"""Monthly rollups and shrunk means, checked against direct SQL on generated data."""

import datetime as dt
import random
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from evaluations.measurement.choices import UnitLevel
from evaluations.measurement.rollups import (
    check_month_rollup,
    compute_month_rollup,
    month_bounds,
    shrunk_mean,
)
from evaluations.measurement.selectors import score_distribution, staff_ranking
from evaluations.models import Rating, StaffMonth, UnitMonth
from staff.choices import UnitKind
from tests.factories.measurement import RatingFactory
from tests.factories.staff import OrgUnitFactory, PositionFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db
MAY = dt.date(2026, 5, 1)
UTC = dt.UTC


def test_month_bounds_are_local_midnights():
    start, end = month_bounds(MAY)

    assert (start.astimezone(UTC), end.astimezone(UTC)) == (
        dt.datetime(2026, 4, 30, 16, 0, tzinfo=UTC),
        dt.datetime(2026, 5, 31, 16, 0, tzinfo=UTC),
    )


def test_shrunk_mean_volume_beats_three_tens():
    prior = Decimal("9.5")

    few = shrunk_mean(30, 3, prior=prior)
    many = shrunk_mean(28_800, 3_000, prior=prior)

    assert (few, many) == (Decimal("9.565"), Decimal("9.599"))
    assert shrunk_mean(0, 0, prior=prior) is None


@given(
    total_and_count=st.integers(1, 5000).flatmap(
        lambda n: st.tuples(st.integers(n, 10 * n), st.just(n))
    ),
    prior=st.decimals(1, 10, places=2),
)
@hsettings(max_examples=60, deadline=None)
def test_shrunk_mean_lies_between_prior_and_raw_mean(total_and_count, prior):
    total, count = total_and_count
    raw = Decimal(total) / count

    value = shrunk_mean(total, count, prior=prior)

    assert min(raw, prior) - Decimal("0.001") <= value <= max(raw, prior) + Decimal("0.001")


@pytest.fixture
def generated(db):
    """Two branches, three stores, eight staff in two positions; ~400 ratings around May,
    including the hours either side of the local month boundaries."""
    rng = random.Random(20260512)
    branch_a, branch_b = OrgUnitFactory(kind=UnitKind.BRANCH), OrgUnitFactory(kind=UnitKind.BRANCH)
    stores = [
        OrgUnitFactory(kind=UnitKind.STORE, parent=branch_a),
        OrgUnitFactory(kind=UnitKind.STORE, parent=branch_a),
        OrgUnitFactory(kind=UnitKind.STORE, parent=branch_b),
    ]
    positions = [PositionFactory(code="clerk"), PositionFactory(code="agent")]
    staff = [StaffMemberFactory(unit=stores[n % 3], position=positions[n % 2]) for n in range(8)]
    start = dt.datetime(2026, 4, 30, 12, 0, tzinfo=UTC)
    ratings = []
    for _ in range(400):
        member = rng.choice(staff)
        ratings.append(
            Rating(
                staff_member=member,
                unit=member.unit,
                phone_hash=f"{rng.getrandbits(64):064x}",
                score=rng.choice([10, 10, 10, 9, 9, 8, 7, 5, 3, 1]),
                rated_at=start + dt.timedelta(minutes=rng.randrange(0, 33 * 24 * 60)),
            )
        )
    Rating.objects.bulk_create(ratings)
    return staff, stores, (branch_a, branch_b)


def _params(*moments):
    return [connection.ops.adapt_datetimefield_value(moment) for moment in moments]


def _sql_figures(month):
    start, end = month_bounds(month)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT staff_member_id, COUNT(*), SUM(score), "
            "SUM(CASE WHEN score >= 9 THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN score <= 6 THEN 1 ELSE 0 END) "
            "FROM evaluations_rating WHERE rated_at >= %s AND rated_at < %s "
            "GROUP BY staff_member_id",
            _params(start, end),
        )
        return {row[0]: tuple(int(v) for v in row[1:]) for row in cursor.fetchall()}


def _sql_position_means(month):
    start, end = month_bounds(month)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.position_id, SUM(r.score), COUNT(*) FROM evaluations_rating r "
            "JOIN staff_staffmember s ON s.id = r.staff_member_id "
            "WHERE r.rated_at >= %s AND r.rated_at < %s GROUP BY s.position_id",
            _params(start, end),
        )
        return {row[0]: (int(row[1]), int(row[2])) for row in cursor.fetchall()}


def test_rollup_matches_direct_sql(generated):
    _staff, stores, branches = generated

    summary = compute_month_rollup(MAY)

    expected = _sql_figures(MAY)
    got = {
        row.staff_member_id: (row.rating_count, row.rating_sum, row.top_box_count, row.low_count)
        for row in StaffMonth.objects.filter(month=MAY)
    }
    assert got == expected
    assert summary.ratings == sum(v[0] for v in expected.values())
    positions = _sql_position_means(MAY)
    for row in StaffMonth.objects.filter(month=MAY).select_related("staff_member"):
        total, count = positions[row.position_id]
        prior = (Decimal(total) / count).quantize(Decimal("0.001"))
        assert row.shrunk_mean == shrunk_mean(row.rating_sum, row.rating_count, prior=prior)
        assert row.mean == (Decimal(row.rating_sum) / row.rating_count).quantize(Decimal("0.001"))
        assert row.branch_id == row.staff_member.unit.parent_id
    store_rows = dict(
        UnitMonth.objects.filter(month=MAY, level=UnitLevel.STORE).values_list(
            "unit_id", "rating_count"
        )
    )
    branch_rows = dict(
        UnitMonth.objects.filter(month=MAY, level=UnitLevel.BRANCH).values_list(
            "unit_id", "rating_count"
        )
    )
    assert sum(store_rows.values()) == sum(branch_rows.values()) == summary.ratings
    assert branch_rows[branches[0].pk] == store_rows[stores[0].pk] + store_rows[stores[1].pk]
    assert check_month_rollup(MAY) == []


def test_rollup_is_recomputable_and_check_finds_drift(generated):
    compute_month_rollup(MAY)
    first = set(StaffMonth.objects.values_list("staff_member_id", "rating_count", "shrunk_mean"))
    member = generated[0][0]
    RatingFactory(staff_member=member, score=1, rated_at=dt.datetime(2026, 5, 20, tzinfo=UTC))

    problems = check_month_rollup(MAY)

    assert len(problems) == 1
    assert problems[0].startswith(f"staff {member.pk}: rollup count/sum/9-10/1-6")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("check_rollups", "2026-05", stdout=out)
    call_command("compute_rollups", "2026-05", stdout=out)
    call_command("check_rollups", "2026-05", stdout=out)
    assert out.getvalue().rstrip().endswith("2026-05: OK")
    Rating.objects.filter(score=1, rated_at=dt.datetime(2026, 5, 20, tzinfo=UTC)).delete()
    compute_month_rollup(MAY)
    assert (
        set(StaffMonth.objects.values_list("staff_member_id", "rating_count", "shrunk_mean"))
        == first
    )


def test_ranking_uses_shrunk_mean_with_raw_mean_beside(db):
    """Three 10s rank below 3,000 ratings averaging 9.6 when the position's month mean is
    an ordinary 9.3 (a third clerk: 3,000 ratings averaging 9.0)."""
    clerk = PositionFactory(code="clerk")
    few, many, usual = (StaffMemberFactory(position=clerk) for _ in range(3))
    when = dt.datetime(2026, 5, 10, 3, 0, tzinfo=UTC)

    def rating(member, score):
        return Rating(
            staff_member=member, unit=member.unit, phone_hash="h", score=score, rated_at=when
        )

    rows = [rating(few, 10) for _ in range(3)]
    rows += [rating(many, 10 if n % 10 < 6 else 9) for n in range(3000)]
    rows += [rating(usual, 9) for _ in range(3000)]
    Rating.objects.bulk_create(rows)

    compute_month_rollup(MAY)

    ranking = list(staff_ranking(MAY, position_id=clerk.pk))
    assert [(r.staff_member_id, r.rank, r.mean) for r in ranking] == [
        (many.pk, 1, Decimal("9.600")),
        (few.pk, 2, Decimal("10.000")),
        (usual.pk, 3, Decimal("9.000")),
    ]
    assert ranking[1].shrunk_mean < ranking[0].shrunk_mean


def test_score_distribution_has_every_score(generated):
    distribution = score_distribution(MAY)

    assert list(distribution) == list(range(1, 11))
    assert sum(distribution.values()) == sum(v[0] for v in _sql_figures(MAY).values())
    assert distribution[2] == 0


def test_compute_rollups_command_refuses_bad_month(db):
    with pytest.raises(CommandError):
        call_command("compute_rollups", "May")
