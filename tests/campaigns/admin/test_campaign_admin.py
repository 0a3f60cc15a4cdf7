"""Campaigns from the template, the contestant list and its actions, read-only admins."""

import datetime as dt

import pytest
from django.urls import reverse

from campaigns.choices import AuditAction, ContestantStatus, StageKind, StageStatus
from campaigns.models import Campaign, Contestant
from staff.models import AuditEvent
from tests.factories.campaigns import (
    CampaignFactory,
    ContestantFactory,
    StageFactory,
    StageResultFactory,
    TieResolutionFactory,
)
from tests.factories.staff import OrgUnitFactory, PositionFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db

FROM_TEMPLATE = reverse("admin:campaigns_campaign_from_template")
CONTESTANTS = reverse("admin:campaigns_contestant_changelist")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_changelist_has_the_template_button(hr):
    response = hr.get(reverse("admin:campaigns_campaign_changelist"))

    assert f'href="{FROM_TEMPLATE}"' in response.text


def test_campaign_from_template_creates_three_draft_stages(hr):
    page = hr.get(FROM_TEMPLATE)
    response = hr.post(
        FROM_TEMPLATE,
        {"name": "满意100服务明星 2026", "starts_on": "2026-03-01", "description": ""},
    )

    campaign = Campaign.objects.get()
    assert page.status_code == 200
    assert response["Location"] == reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    assert (campaign.name, campaign.starts_on, campaign.ends_on) == (
        "满意100服务明星 2026",
        dt.date(2026, 3, 1),
        dt.date(2026, 10, 27),
    )
    assert list(campaign.stages.values_list("order", "kind", "quota", "status")) == [
        (1, StageKind.EVALUATION, 70, StageStatus.DRAFT),
        (2, StageKind.LIVE_CONTEST, 23, StageStatus.DRAFT),
        (3, StageKind.CUSTOMER_VOTE, 10, StageStatus.DRAFT),
    ]
    assert list(
        AuditEvent.objects.filter(action=AuditAction.CAMPAIGN_CREATED).values_list(
            "actor_label", "campaign_id"
        )
    ) == [("hr", campaign.pk)]


def test_campaign_from_template_refuses_missing_date(hr):
    response = hr.post(FROM_TEMPLATE, {"name": "x", "starts_on": ""})

    assert response.status_code == 200
    assert response.context["form"].errors == {"starts_on": ["This field is required."]}
    assert Campaign.objects.count() == 0


def test_campaign_page_lists_its_stages_with_contestant_counts(hr):
    campaign = CampaignFactory()
    first = StageFactory(campaign=campaign, order=1)
    StageFactory(campaign=campaign, order=2)
    ContestantFactory.create_batch(2, stage=first)

    response = hr.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))

    (inline,) = response.context["inline_admin_formsets"]
    assert [f.original.contestant_count for f in inline] == [2, 0]


def test_started_campaign_cannot_be_deleted(hr):
    campaign = CampaignFactory()
    StageFactory(campaign=campaign, status=StageStatus.OPEN)

    response = hr.get(reverse("admin:campaigns_campaign_delete", args=[campaign.pk]))

    assert response.status_code == 403
    assert Campaign.objects.count() == 1


@pytest.mark.parametrize("count", [1, 3])
def test_contestant_changelist_query_count(hr, count, django_assert_num_queries):
    stage = StageFactory()
    ContestantFactory.create_batch(count, stage=stage)

    # session, user, stage filter, position filter, branch filter, count, full count, rows
    # (+ 2: an HR admin's own and group permissions, read once per request)
    with django_assert_num_queries(10):
        response = hr.get(CONTESTANTS)

    assert len(response.context["cl"].result_list) == count


def test_contestant_filters_and_search(hr):
    stage = StageFactory()
    store = OrgUnitFactory()
    clerk = PositionFactory(code="clerk")
    wanted = ContestantFactory(
        stage=stage, staff_member=StaffMemberFactory(employee_no="7001", unit=store, position=clerk)
    )
    ContestantFactory(stage=stage, staff_member=StaffMemberFactory(employee_no="7002"))
    ContestantFactory(stage=StageFactory(), staff_member=StaffMemberFactory(employee_no="7003"))

    by_stage = hr.get(CONTESTANTS, {"stage__id__exact": stage.pk})
    by_branch = hr.get(CONTESTANTS, {"branch": store.parent_id})
    by_position = hr.get(CONTESTANTS, {"staff_member__position__id__exact": clerk.pk})
    by_number = hr.get(CONTESTANTS, {"q": "7001"})

    assert {c.staff_member.employee_no for c in by_stage.context["cl"].result_list} == {
        "7001",
        "7002",
    }
    assert [c.pk for c in by_branch.context["cl"].result_list] == [wanted.pk]
    assert [c.pk for c in by_position.context["cl"].result_list] == [wanted.pk]
    assert [c.pk for c in by_number.context["cl"].result_list] == [wanted.pk]


def test_withdraw_action_asks_for_a_reason_then_withdraws(hr):
    stage = StageFactory(status=StageStatus.OPEN)
    contestant = ContestantFactory(stage=stage)
    selection = {"action": "withdraw_selected", "_selected_action": [contestant.pk]}

    page = hr.post(CONTESTANTS, selection)
    no_reason = hr.post(CONTESTANTS, {**selection, "confirm": "yes", "reason": ""})
    done = hr.post(CONTESTANTS, {**selection, "confirm": "yes", "reason": "Illness"}, follow=True)

    contestant.refresh_from_db()
    assert page.status_code == 200
    assert [c.pk for c in page.context["contestants"]] == [contestant.pk]
    assert no_reason.context["form"].errors == {"reason": ["This field is required."]}
    assert messages_of(done) == ["1 contestants withdrawn."]
    assert contestant.status == ContestantStatus.WITHDRAWN
    event = AuditEvent.objects.get(action=AuditAction.CONTESTANT_WITHDRAWN)
    assert (event.actor_label, event.reason) == ("hr", "Illness")


def test_withdraw_refusal_is_shown_and_changes_nothing(hr):
    stage = StageFactory(status=StageStatus.PREVIEWED)
    contestant = ContestantFactory(stage=stage)

    response = hr.post(
        CONTESTANTS,
        {
            "action": "withdraw_selected",
            "_selected_action": [contestant.pk],
            "confirm": "yes",
            "reason": "Illness",
        },
        follow=True,
    )

    contestant.refresh_from_db()
    assert messages_of(response) == [
        f"{contestant.staff_member}: This contestant cannot withdraw at this point of the stage."
    ]
    assert contestant.status == ContestantStatus.IN


def test_promote_action_leads_to_the_stage_promotion_page(hr):
    contestant = ContestantFactory(status=ContestantStatus.ELIMINATED)

    response = hr.post(
        CONTESTANTS, {"action": "promote_selected_reserve", "_selected_action": [contestant.pk]}
    )

    url = reverse("admin:campaigns_stage_promote", args=[contestant.stage_id])
    assert response["Location"] == f"{url}?contestant={contestant.pk}"


def test_contestants_cannot_be_added_or_deleted_one_by_one(hr):
    contestant = ContestantFactory()

    add = hr.get(reverse("admin:campaigns_contestant_add"))
    delete = hr.post(reverse("admin:campaigns_contestant_delete", args=[contestant.pk]))

    assert (add.status_code, delete.status_code) == (403, 403)
    assert Contestant.objects.count() == 1


@pytest.mark.parametrize(
    ("model", "factory"),
    [("stageresult", StageResultFactory), ("tieresolution", TieResolutionFactory)],
)
def test_read_only_admins_refuse_add_change_delete(hr, model, factory):
    obj = factory()
    base = f"admin:campaigns_{model}"

    listing = hr.get(reverse(f"{base}_changelist"))
    add = hr.get(reverse(f"{base}_add"))
    change = hr.post(reverse(f"{base}_change", args=[obj.pk]), {"reason": "edited"})
    delete = hr.post(reverse(f"{base}_delete", args=[obj.pk]), {"post": "yes"})

    assert listing.status_code == 200
    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    assert type(obj).objects.filter(pk=obj.pk).count() == 1
