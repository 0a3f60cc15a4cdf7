"""The judge score's arithmetic, checked with hypothesis against a direct computation in
exact fractions."""

from decimal import Decimal
from fractions import Fraction
from statistics import pstdev

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluations.scoring import JudgeTotal, judge_scores, normalised_totals, trimmed_mean

totals_lists = st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=12)


@given(values=totals_lists, threshold=st.integers(min_value=3, max_value=8))
def test_trimmed_mean_matches_a_direct_computation(values, threshold):
    ordered = sorted(values)
    kept = ordered[1:-1] if len(ordered) >= threshold else ordered
    expected = Fraction(sum(kept), len(kept))

    result = trimmed_mean([Decimal(v) for v in values], threshold=threshold)

    assert abs(Fraction(result) - expected) < Fraction(1, 10**20)


def test_trimmed_mean_drops_one_highest_and_one_lowest_from_the_threshold():
    assert trimmed_mean([Decimal(v) for v in (10, 50, 60, 70, 100)], threshold=5) == Decimal(60)
    assert trimmed_mean([Decimal(v) for v in (10, 50, 60, 100)], threshold=5) == Decimal(55)


judge_matrix = st.dictionaries(
    keys=st.integers(min_value=1, max_value=6),  # judge id
    values=st.dictionaries(
        keys=st.integers(min_value=1, max_value=8),  # contestant id
        values=st.integers(min_value=0, max_value=100),
        min_size=1,
        max_size=8,
    ),
    min_size=1,
    max_size=6,
)


def _items(matrix, types=None):
    return [
        JudgeTotal(j, (types or {}).get(j, "expert"), c, Decimal(v))
        for j, row in matrix.items()
        for c, v in row.items()
    ]


@given(matrix=judge_matrix)
@settings(max_examples=150)
def test_normalised_totals_match_a_direct_computation(matrix):
    everything = [v for row in matrix.values() for v in row.values()]
    pooled_mean, pooled_sd = sum(everything) / len(everything), pstdev(everything)

    result = normalised_totals(_items(matrix), max_total=100)

    for judge_id, row in matrix.items():
        own = list(row.values())
        mean, sd = sum(own) / len(own), pstdev(own)
        for contestant_id, value in row.items():
            z = (value - mean) / sd if sd else 0.0
            expected = min(max(pooled_mean + z * pooled_sd, 0.0), 100.0)
            assert float(result[(judge_id, contestant_id)]) == pytest.approx(expected, abs=1e-9)


@given(matrix=judge_matrix)
def test_normalisation_cancels_a_uniformly_harsh_judge(matrix):
    harsh = {j: {c: max(v - 20, 0) for c, v in row.items()} for j, row in matrix.items()}
    # A judge whose every total is shifted by a constant (without hitting 0) standardises
    # to the same z-scores, so their normalised ranks are unchanged.
    for judge_id, row in matrix.items():
        if all(v >= 20 for v in row.values()):
            a = normalised_totals(_items({judge_id: row}), max_total=100)
            b = normalised_totals(_items({judge_id: harsh[judge_id]}), max_total=100)
            order_a = sorted(row, key=lambda c: (a[(judge_id, c)], c))
            order_b = sorted(row, key=lambda c: (b[(judge_id, c)], c))
            assert order_a == order_b


@given(
    matrix=judge_matrix,
    public_ids=st.sets(st.integers(min_value=1, max_value=6)),
    threshold=st.integers(min_value=3, max_value=6),
)
@settings(max_examples=150)
def test_judge_scores_match_a_direct_computation(matrix, public_ids, threshold):
    types = {j: "public" if j in public_ids else "expert" for j in matrix}
    weights = {"expert": Decimal("0.6"), "public": Decimal("0.4")}

    result = judge_scores(
        _items(matrix, types), max_total=100, weights=weights, threshold=threshold, normalise=False
    )

    contestants = {c for row in matrix.values() for c in row}
    assert set(result) == contestants
    for contestant in contestants:
        means, counts = {}, {}
        for kind in ("expert", "public"):
            values = sorted(
                row[contestant]
                for j, row in matrix.items()
                if types[j] == kind and contestant in row
            )
            counts[kind] = len(values)
            if values:
                kept = values[1:-1] if len(values) >= threshold else values
                means[kind] = Fraction(sum(kept), len(kept))
        weight_sum = sum(Fraction(weights[k]) for k in means)
        expected = sum(Fraction(weights[k]) * m for k, m in means.items()) / weight_sum
        assert abs(Fraction(result[contestant].score) - expected) <= Fraction(1, 20000)
        assert result[contestant].n_scores == sum(counts.values())


def test_judge_scores_scale_to_a_hundred_and_ignore_zero_weights():
    items = [
        JudgeTotal(1, "expert", 7, Decimal(40)),
        JudgeTotal(2, "public", 7, Decimal(10)),
    ]

    result = judge_scores(
        items,
        max_total=50,
        weights={"expert": Decimal(1), "public": Decimal(0)},
        threshold=5,
        normalise=False,
    )

    assert result[7].score == Decimal("80.0000")
    assert dict(result[7].type_counts) == {"expert": 1}
