"""Read functions: what they return and how many queries they cost."""

import pytest

from campaigns import selectors
from campaigns.choices import ContestantStatus, ResultOutcome
from campaigns.services.campaign_template import create_campaign_from_template
from staff import services as staff_services
from staff.choices import UnitKind
from tests.factories.campaigns import (
    CampaignFactory,
    ContestantFactory,
    StageFactory,
    StageResultFactory,
)
from tests.factories.staff import PositionFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("count", [1, 3])
def test_campaign_list_is_two_queries(count, django_assert_num_queries):
    for campaign in CampaignFactory.create_batch(count):
        for order in (1, 2, 3):
            StageFactory(campaign=campaign, order=order)

    with django_assert_num_queries(2):
        rows = [(c.name, [s.order for s in c.stages.all()]) for c in selectors.campaign_list()]

    assert [orders for _name, orders in rows] == [[1, 2, 3]] * count


@pytest.mark.parametrize("count", [1, 3])
def test_campaign_detail_and_stages_count_contestants(count, django_assert_num_queries):
    stage = StageFactory(order=1)
    ContestantFactory.create_batch(count, stage=stage)
    ContestantFactory(stage=stage, status=ContestantStatus.WITHDRAWN)

    with django_assert_num_queries(2):
        detail = selectors.campaign_detail(stage.campaign_id)
        counts = [s.contestant_count for s in detail.stages.all()]
    with django_assert_num_queries(1):
        listed = [
            (s.campaign.name, s.contestant_count)
            for s in selectors.stages_for_campaign(stage.campaign)
        ]

    assert counts == [count]
    assert listed == [(stage.campaign.name, count)]


@pytest.mark.parametrize("count", [1, 3])
def test_contestants_for_stage_is_one_query(count, django_assert_num_queries):
    stage = StageFactory(order=1)
    ContestantFactory.create_batch(count, stage=stage)

    with django_assert_num_queries(1):
        rows = [
            (c.staff_member.name, c.staff_member.unit.name, c.staff_member.position.name)
            for c in selectors.contestants_for_stage(stage)
        ]

    assert len(rows) == count


def test_contestants_for_stage_filters_by_name_number_branch_and_position():
    company = staff_services.create_unit(code="HX", name="公司", kind=UnitKind.COMPANY, parent=None)
    east = staff_services.create_unit(code="E", name="东城", kind=UnitKind.BRANCH, parent=company)
    west = staff_services.create_unit(code="W", name="西城", kind=UnitKind.BRANCH, parent=company)
    store = staff_services.create_unit(code="E-S1", name="店1", kind=UnitKind.STORE, parent=east)
    team = staff_services.create_unit(
        code="W-C1", name="客服1", kind=UnitKind.CALL_CENTRE_TEAM, parent=west
    )
    clerk, agent = PositionFactory(code="clerk"), PositionFactory(code="agent")
    stage = StageFactory(order=1)
    li = ContestantFactory(
        stage=stage,
        staff_member=StaffMemberFactory(
            name="李娜", employee_no="20001", unit=store, position=clerk
        ),
    )
    wang = ContestantFactory(
        stage=stage,
        staff_member=StaffMemberFactory(
            name="王强", employee_no="30001", unit=team, position=agent
        ),
    )

    def ids(**filters):
        return [c.pk for c in selectors.contestants_for_stage(stage, **filters)]

    assert ids() == [li.pk, wang.pk]
    assert ids(q="李") == [li.pk]
    assert ids(q="300") == [wang.pk]
    assert ids(branch="E") == [li.pk]
    assert ids(branch=west) == [wang.pk]
    assert ids(branch="HX") == [li.pk, wang.pk]
    assert ids(position="agent") == [wang.pk]
    assert ids(branch="E", position="agent") == []


@pytest.mark.parametrize("count", [1, 3])
def test_results_and_winners_are_one_query(count, django_assert_num_queries, admin_user):
    stage = StageFactory(order=1, finalized=True)
    for rank in range(1, count + 1):
        StageResultFactory(
            stage=stage,
            rank=rank,
            position_rank=rank,
            contestant__status=ContestantStatus.ADVANCED,
            is_frozen=True,
            frozen_at=stage.finalized_at,
        )
    StageResultFactory(stage=stage, rank=9, position_rank=9, outcome=ResultOutcome.RESERVE)

    with django_assert_num_queries(1):
        results = [
            (r.rank, r.contestant.staff_member.unit.name)
            for r in selectors.results_for_stage(stage)
        ]
    with django_assert_num_queries(1):
        winners = [r.contestant.staff_member.name for r in selectors.winners_for_stage(stage)]

    assert [rank for rank, _ in results] == [*range(1, count + 1), 9]
    assert len(winners) == count


def test_winners_are_empty_before_finalising():
    stage = StageFactory(order=1, closed=True)
    StageResultFactory(stage=stage)

    assert list(selectors.winners_for_stage(stage)) == []


def test_audit_events_for_campaign(admin_user):
    campaign = create_campaign_from_template(
        name="c", actor=admin_user, starts_on=CampaignFactory.build().starts_on
    )

    assert [e.action for e in selectors.audit_events_for_campaign(campaign)] == [
        "campaigns.campaign.created"
    ]
