"""The result engine: properties of ``rank_contestants`` (no database) and, with the
database, ``compute_stage_results`` over fake providers."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.choices import ComponentKey, ResultOutcome
from campaigns.components import score_range
from campaigns.results import RankEntry, Ranking, compute_stage_results, rank_contestants
from tests.factories.campaigns import ContestantFactory, StageFactory
from tests.factories.staff import PositionFactory, StaffMemberFactory

POSITIONS = ("clerk", "agent", "manager")
TIE_KEYS = (ComponentKey.SMS_VOTES, ComponentKey.WEB_VOTES)
Q, R, T, E = (
    ResultOutcome.QUALIFIED,
    ResultOutcome.RESERVE,
    ResultOutcome.TIED_AT_CUT,
    ResultOutcome.ELIMINATED,
)

# Small value ranges on purpose: they make ties, the interesting case, frequent.
small = st.integers(min_value=0, max_value=4).map(Decimal)


@st.composite
def entry_lists(draw, min_size=0, max_size=25, positions=POSITIONS):
    ids = draw(st.lists(st.integers(1, 10_000), min_size=min_size, max_size=max_size, unique=True))
    return [
        RankEntry(
            contestant_id=cid,
            position_code=draw(st.sampled_from(positions)),
            components={key: draw(small) for key in TIE_KEYS},
            total=draw(small),
        )
        for cid in ids
    ]


def key_of(entry: RankEntry, order=TIE_KEYS):
    return (entry.total, *(entry.components[k] for k in order))


def rank(entries, quota, *, position_quotas=None, overflow=False, reserves=3) -> Ranking:
    return rank_contestants(
        entries,
        quota=quota,
        position_quotas=position_quotas,
        tie_break_order=TIE_KEYS,
        allow_tie_overflow=overflow,
        reserve_count=reserves,
    )


def outcome_by_id(ranking: Ranking) -> dict[int, str]:
    return {row.entry.contestant_id: row.outcome for row in ranking.rows}


@given(entries=entry_lists(), quota=st.integers(1, 12))
def test_quota_is_met_exactly_unless_a_tie_is_reported(entries, quota):
    ranking = rank(entries, quota)

    places_in_ties = sum(group.places for group in ranking.tie_groups)
    assert len(ranking.qualified_ids) + places_in_ties == min(quota, len(entries))
    if not ranking.tie_groups:
        assert len(ranking.qualified_ids) == min(quota, len(entries))
    assert ranking.overflow_groups == ()


@given(entries=entry_lists(), quota=st.integers(1, 12))
def test_overflow_admits_a_tied_group_whole_and_reports_no_tie(entries, quota):
    ranking = rank(entries, quota, overflow=True)

    outcomes = outcome_by_id(ranking)
    assert ranking.tie_groups == ()
    extra = sum(len(g.contestant_ids) - g.places for g in ranking.overflow_groups)
    assert len(ranking.qualified_ids) == min(quota, len(entries)) + extra
    for group in ranking.overflow_groups:
        assert {outcomes[cid] for cid in group.contestant_ids} == {Q}


@given(entries=entry_lists(), quota=st.integers(1, 12), overflow=st.booleans())
def test_a_tie_is_never_split_every_equal_entry_gets_the_same_rank_and_outcome(
    entries, quota, overflow
):
    ranking = rank(entries, quota, overflow=overflow)

    seen: dict[tuple, tuple[int, str]] = {}
    for row in ranking.rows:
        key = key_of(row.entry)
        assert seen.setdefault(key, (row.rank, row.outcome)) == (row.rank, row.outcome)
    tied_reported = {cid for g in ranking.tie_groups for cid in g.contestant_ids}
    assert tied_reported == ranking.tied_ids


@given(entries=entry_lists(), quota=st.integers(1, 12))
def test_a_tie_group_straddles_the_cut(entries, quota):
    ranking = rank(entries, quota)

    for group in ranking.tie_groups:
        assert 1 <= group.places < len(group.contestant_ids)
        keys = {
            key_of(r.entry) for r in ranking.rows if r.entry.contestant_id in group.contestant_ids
        }
        assert len(keys) == 1


@given(entries=entry_lists(), quota=st.integers(1, 12), data=st.data())
def test_the_outcome_is_deterministic_under_any_input_order(entries, quota, data):
    shuffled = data.draw(st.permutations(entries))

    assert rank(shuffled, quota) == rank(entries, quota)
    assert rank(shuffled, quota, overflow=True) == rank(entries, quota, overflow=True)


@given(
    entries=entry_lists(min_size=1),
    quota=st.integers(1, 12),
    index=st.integers(0, 100),
    gain=st.integers(1, 5).map(Decimal),
)
def test_gaining_never_lowers_a_rank_nor_loses_a_qualification(entries, quota, index, gain):
    chosen = entries[index % len(entries)]
    boosted = [
        RankEntry(e.contestant_id, e.position_code, e.components, e.total + gain)
        if e is chosen
        else e
        for e in entries
    ]

    before = {r.entry.contestant_id: r for r in rank(entries, quota).rows}[chosen.contestant_id]
    after = {r.entry.contestant_id: r for r in rank(boosted, quota).rows}[chosen.contestant_id]

    assert after.rank <= before.rank
    if before.outcome == Q:
        assert after.outcome == Q


@given(entries=entry_lists(), quota=st.integers(1, 12))
def test_every_qualifier_ranks_above_everyone_else(entries, quota):
    ranking = rank(entries, quota)

    qualified = [r.rank for r in ranking.rows if r.outcome == Q]
    others = [r.rank for r in ranking.rows if r.outcome != Q]
    if qualified and others:
        assert max(qualified) < min(others)


@st.composite
def positioned(draw):
    quotas = {code: draw(st.integers(1, 4)) for code in POSITIONS}
    entries = draw(entry_lists(min_size=0, max_size=30))
    return entries, quotas


@given(case=positioned())
@settings(max_examples=200)
def test_per_position_quotas_are_met_per_position(case):
    entries, quotas = case

    ranking = rank(entries, sum(quotas.values()), position_quotas=quotas)

    for code, quota in quotas.items():
        members = [r for r in ranking.rows if r.entry.position_code == code]
        qualified = sum(r.outcome == Q for r in members)
        places = sum(g.places for g in ranking.tie_groups if g.position_code == code)
        assert qualified + places == min(quota, len(members))
        assert ranking.shortfall.get(code, 0) == max(0, quota - len(members))


def entry(cid, total, sms=0, web=0, position="clerk"):
    return RankEntry(
        cid,
        position,
        {ComponentKey.SMS_VOTES: Decimal(sms), ComponentKey.WEB_VOTES: Decimal(web)},
        Decimal(total),
    )


def test_tie_break_order_separates_equal_totals_then_reports_the_rest():
    entries = [
        entry(1, 90),
        entry(2, 80, sms=5),
        entry(3, 80, sms=7),
        entry(4, 70, sms=1, web=2),
        entry(5, 70, sms=1, web=2),
        entry(6, 70, sms=1, web=1),
        entry(7, 10),
    ]

    ranking = rank(entries, 4, reserves=1)

    assert [(r.entry.contestant_id, r.rank, r.outcome) for r in ranking.rows] == [
        (1, 1, Q),
        (3, 2, Q),
        (2, 3, Q),
        (4, 4, T),
        (5, 4, T),
        (6, 6, R),
        (7, 7, E),
    ]
    assert [(g.contestant_ids, g.places, g.position_rank) for g in ranking.tie_groups] == [
        ((4, 5), 1, 4)
    ]


def test_overflow_admits_both_tied_at_the_cut():
    entries = [entry(1, 90), entry(2, 50), entry(3, 50), entry(4, 10)]

    ranking = rank(entries, 2, overflow=True, reserves=1)

    assert ranking.qualified_ids == {1, 2, 3}
    assert ranking.reserve_ids == (4,)
    assert [(g.contestant_ids, g.places) for g in ranking.overflow_groups] == [((2, 3), 1)]


def test_positions_without_a_quota_cannot_qualify_and_short_positions_are_reported():
    entries = [
        entry(1, 90, position="clerk"),
        entry(2, 80, position="clerk"),
        entry(3, 99, position="intern"),
        entry(4, 70, position="agent"),
    ]

    ranking = rank(entries, 4, position_quotas={"clerk": 1, "agent": 3}, reserves=1)

    assert outcome_by_id(ranking) == {1: Q, 2: R, 3: E, 4: Q}
    assert dict(ranking.shortfall) == {"agent": 2}
    assert {r.entry.contestant_id: (r.rank, r.position_rank) for r in ranking.rows} == {
        3: (1, 1),
        1: (2, 1),
        2: (3, 2),
        4: (4, 1),
    }


def test_a_contestant_may_appear_only_once():
    with pytest.raises(ValueError, match="only once"):
        rank([entry(1, 5), entry(1, 6)], 1)


# With the database --------------------------------------------------------------------------


@pytest.mark.django_db
def test_compute_normalises_weights_and_breaks_the_equal_total_by_sms(fake_components):
    stage = StageFactory(
        quota=1,
        weights={ComponentKey.WEB_VOTES: "0.5", ComponentKey.SMS_VOTES: "0.5"},
        tie_break_order=[ComponentKey.SMS_VOTES],
        reserve_count=1,
    )
    a, b, c = ContestantFactory.create_batch(3, stage=stage)
    fake_components.set(ComponentKey.WEB_VOTES, {a.id: 100, b.id: 50})
    fake_components.set(ComponentKey.SMS_VOTES, {a.id: 10, b.id: 20, c.id: 0})

    results = compute_stage_results(stage)

    assert {cid: line.total for cid, line in results.lines.items()} == {
        a.id: Decimal("75.0000"),
        b.id: Decimal("75.0000"),
        c.id: Decimal("0.0000"),
    }
    assert results.lines[a.id].channels == {"web": 100, "sms": 10, "audience": 0}
    assert results.lines[a.id].components[ComponentKey.SMS_VOTES].normalised == Decimal("50.0000")
    assert [(r.entry.contestant_id, r.rank, r.outcome) for r in results.ranking.rows] == [
        (b.id, 1, Q),
        (a.id, 2, R),
        (c.id, 3, E),
    ]
    assert results.unavailable == ()


@pytest.mark.django_db
def test_compute_lists_missing_providers_as_unavailable_and_scores_them_zero(fake_components):
    stage = StageFactory(
        quota=1,
        weights={ComponentKey.JUDGE_SCORE: "0.7", ComponentKey.AUDIENCE_VOTES: "0.3"},
        tie_break_order=[ComponentKey.JUDGE_SCORE],
    )
    a, b = ContestantFactory.create_batch(2, stage=stage)
    fake_components.set(ComponentKey.AUDIENCE_VOTES, {a.id: 3, b.id: 1})

    results = compute_stage_results(stage)

    assert results.unavailable == (ComponentKey.JUDGE_SCORE,)
    assert results.lines[a.id].components[ComponentKey.JUDGE_SCORE].as_json() == {
        "raw": None,
        "normalised": "0.0000",
        "weight": "0.7",
        "weighted": "0.0000",
        "available": False,
    }
    assert results.lines[b.id].total == Decimal("10.0000")  # 1/3 of the top, x 0.3


@pytest.mark.django_db
def test_compute_places_scores_on_their_own_scale_and_ranks_only_contestants_in(fake_components):
    stage = StageFactory(quota=1, weights={ComponentKey.JUDGE_SCORE: "1"}, tie_break_order=[])
    clerk = PositionFactory(code="clerk")
    a = ContestantFactory(stage=stage, staff_member=StaffMemberFactory(position=clerk))
    gone = ContestantFactory(stage=stage, status="withdrawn")
    fake_components.set(
        ComponentKey.JUDGE_SCORE, {a.id: "8.5", gone.id: 10}, scale=score_range(0, 10)
    )

    results = compute_stage_results(stage)

    assert list(results.lines) == [a.id]
    assert results.lines[a.id].total == Decimal("85.0000")
    assert results.lines[a.id].position_code == "clerk"
