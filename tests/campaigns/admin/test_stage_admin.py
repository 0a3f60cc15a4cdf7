"""The stage admin: list, rules form, every move through its confirmation page, enrolment."""

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.admin_views import MOVES, moves_from
from campaigns.choices import STAGE_TRANSITIONS, AuditAction, ContestantStatus, StageStatus
from campaigns.models import Contestant, Stage
from staff.models import AuditEvent
from tests.factories.campaigns import CampaignFactory, ContestantFactory, StageFactory
from tests.factories.staff import OrgUnitFactory, PositionFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:campaigns_stage_changelist")


def move_url(stage: Stage, move: str) -> str:
    return reverse("admin:campaigns_stage_move", args=[stage.pk, move])


def change_url(stage: Stage) -> str:
    return reverse("admin:campaigns_stage_change", args=[stage.pk])


def events(action: str) -> list[tuple[str, str, dict]]:
    return list(
        AuditEvent.objects.filter(action=action).values_list("actor_label", "reason", "data")
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_every_allowed_move_has_exactly_one_button():
    for from_status, targets in STAGE_TRANSITIONS.items():
        offered = moves_from(from_status)

        assert sorted(m.to for m in offered) == sorted(targets)
        assert len({m.to for m in offered}) == len(offered)


@pytest.mark.parametrize("count", [1, 3])
def test_changelist_counts_contestants_in_one_query(hr, count, django_assert_num_queries):
    for _ in range(count):
        stage = StageFactory()
        ContestantFactory.create_batch(2, stage=stage)
        ContestantFactory(stage=stage, status=ContestantStatus.WITHDRAWN)

    # session, user, campaign filter lookups, count, full count, page rows (annotated)
    with django_assert_num_queries(6):
        response = hr.get(CHANGELIST)

    assert [s.contestant_count for s in response.context["cl"].result_list] == [2] * count


def test_change_page_offers_the_moves_of_the_status(hr):
    stage = StageFactory(status=StageStatus.DRAFT)

    response = hr.get(change_url(stage))

    assert [m.slug for m in response.context["stage_moves"]] == ["schedule", "open"]
    assert move_url(stage, "schedule") in response.text
    assert move_url(stage, "open") in response.text
    assert move_url(stage, "close") not in response.text
    assert reverse("admin:campaigns_stage_enrol", args=[stage.pk]) in response.text


def test_schedule_page_shows_what_happens_then_post_schedules_with_reason(hr):
    stage = StageFactory(timed=True)

    page = hr.get(move_url(stage, "schedule"))
    response = hr.post(move_url(stage, "schedule"), {"reason": "Dates agreed with HR"})

    stage.refresh_from_db()
    assert page.status_code == 200
    assert str(MOVES["schedule"].explanation) in page.text
    assert response.status_code == 302
    assert response["Location"] == change_url(stage)
    assert stage.status == StageStatus.SCHEDULED
    assert events(AuditAction.STAGE_SCHEDULED) == [
        ("hr", "Dates agreed with HR", {"from": "draft", "to": "scheduled"})
    ]


@pytest.mark.parametrize(
    ("status", "move", "to", "action"),
    [
        (StageStatus.SCHEDULED, "unschedule", StageStatus.DRAFT, AuditAction.STAGE_UNSCHEDULED),
        (StageStatus.DRAFT, "open", StageStatus.OPEN, AuditAction.STAGE_OPENED),
        (StageStatus.OPEN, "close", StageStatus.CLOSED, AuditAction.STAGE_CLOSED),
    ],
)
def test_move_through_its_confirmation_page(hr, status, move, to, action):
    stage = StageFactory(timed=True, status=status)
    ContestantFactory(stage=stage)

    page = hr.get(move_url(stage, move))
    response = hr.post(move_url(stage, move), {"reason": "Venue ready"})

    stage.refresh_from_db()
    assert page.status_code == 200
    assert page.context["move"].slug == move
    assert response.status_code == 302
    assert stage.status == to
    assert events(action) == [("hr", "Venue ready", {"from": status, "to": to})]


def test_move_reason_is_optional_except_for_finalise(hr):
    stage = StageFactory(status=StageStatus.OPEN)

    response = hr.post(move_url(stage, "close"), {"reason": ""})

    stage.refresh_from_db()
    assert response.status_code == 302
    assert stage.status == StageStatus.CLOSED
    assert events(AuditAction.STAGE_CLOSED) == [("hr", "", {"from": "open", "to": "closed"})]


@pytest.mark.parametrize(
    ("status", "move"),
    [
        (StageStatus.DRAFT, "close"),
        (StageStatus.OPEN, "discard"),
        (StageStatus.CLOSED, "finalize"),
        (StageStatus.FINALIZED, "open"),
    ],
)
def test_illegal_move_shows_an_error_and_changes_nothing(hr, status, move):
    stage = StageFactory(status=status, finalized_at=timezone.now())
    before = AuditEvent.objects.count()

    page = hr.get(move_url(stage, move), follow=True)
    posted = hr.post(move_url(stage, move), {"reason": "try"}, follow=True)

    stage.refresh_from_db()
    expected = f"A stage cannot go from “{StageStatus(status).label}” to “{StageStatus(MOVES[move].to).label}”."
    assert messages_of(page) == [expected]
    assert messages_of(posted) == [expected]
    assert posted.redirect_chain == [(change_url(stage), 302)]
    assert stage.status == status
    assert AuditEvent.objects.count() == before


def test_guard_refusal_is_shown_and_changes_nothing(hr):
    stage = StageFactory(status=StageStatus.DRAFT)  # no contestants

    response = hr.post(move_url(stage, "open"), {"reason": ""}, follow=True)

    stage.refresh_from_db()
    assert messages_of(response) == ["A stage without contestants cannot open."]
    assert stage.status == StageStatus.DRAFT
    assert events(AuditAction.STAGE_OPENED) == []


def test_unknown_move_is_404(hr):
    stage = StageFactory()

    assert hr.get(move_url(stage, "explode")).status_code == 404


def rules_post(stage: Stage, **overrides) -> dict:
    data = {
        "name": stage.name,
        "kind": stage.kind,
        "opens_at_0": "",
        "opens_at_1": "",
        "closes_at_0": "",
        "closes_at_1": "",
        "quota": stage.quota,
        "position_quotas": "{}",
        "weights": '{"web_votes": "0.5", "sms_votes": "0.5"}',
        "tie_break_order": '["sms_votes"]',
        "reserve_count": stage.reserve_count,
        "votes_per_day": 0,
        "votes_per_stage": 0,
        "votes_per_candidate": 0,
        "visibility": stage.visibility,
        "hide_final_hours": 0,
        "reason": "",
    }
    data.update(overrides)
    return data


def test_rules_change_on_a_draft_needs_no_reason(hr):
    stage = StageFactory(quota=2)

    response = hr.post(change_url(stage), rules_post(stage, quota=4))

    stage.refresh_from_db()
    assert response.status_code == 302
    assert stage.quota == 4
    assert events(AuditAction.RULES_CHANGED) == [
        ("hr", "", {"status": "draft", "before": {"quota": 2}, "after": {"quota": 4}})
    ]


def test_rules_change_while_open_without_reason_is_refused(hr):
    stage = StageFactory(quota=2, status=StageStatus.OPEN)

    response = hr.post(change_url(stage), rules_post(stage, quota=4))

    stage.refresh_from_db()
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "reason": ["The stage has started: its rules change only with a reason, which is recorded."]
    }
    assert stage.quota == 2
    assert events(AuditAction.RULES_CHANGED) == []


def test_rules_change_while_open_with_reason_is_recorded(hr):
    stage = StageFactory(quota=2, status=StageStatus.OPEN)

    response = hr.post(change_url(stage), rules_post(stage, quota=3, reason="Sponsor adds a place"))

    stage.refresh_from_db()
    assert response.status_code == 302
    assert stage.quota == 3
    assert events(AuditAction.RULES_CHANGED) == [
        (
            "hr",
            "Sponsor adds a place",
            {"status": "open", "before": {"quota": 2}, "after": {"quota": 3}},
        )
    ]


def test_inconsistent_rules_are_form_errors(hr):
    stage = StageFactory(quota=2)

    response = hr.post(
        change_url(stage), rules_post(stage, weights='{"web_votes": "0.5", "sms_votes": "0.2"}')
    )

    stage.refresh_from_db()
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "weights": ["Component weights must add up to exactly 1."]
    }
    assert stage.weights == {"web_votes": "0.5", "sms_votes": "0.5"}


def test_rules_of_a_previewed_or_finalised_stage_are_read_only(hr):
    stage = StageFactory(status=StageStatus.FINALIZED, finalized_at=timezone.now(), quota=2)

    page = hr.get(change_url(stage))
    hr.post(change_url(stage), rules_post(stage, quota=5, reason="late"))

    stage.refresh_from_db()
    assert "quota" not in page.context["adminform"].form.fields
    assert stage.quota == 2
    assert events(AuditAction.RULES_CHANGED) == []


def test_enrol_all_active_staff_into_the_first_stage(hr):
    stage = StageFactory(order=1)
    members = StaffMemberFactory.create_batch(3)
    StaffMemberFactory(is_active=False)
    url = reverse("admin:campaigns_stage_enrol", args=[stage.pk])

    page = hr.get(url)
    response = hr.post(url)

    assert page.context["new_count"] == 3
    assert response.status_code == 302
    assert set(stage.contestants.values_list("staff_member_id", flat=True)) == {
        m.pk for m in members
    }
    assert events(AuditAction.CONTESTANTS_ENROLLED) == [("hr", "", {"added": 3})]


def test_enrol_from_a_filter_adds_only_matching_staff(hr):
    stage = StageFactory()
    east_store = OrgUnitFactory()
    clerk, agent = PositionFactory(code="clerk"), PositionFactory(code="agent")
    wanted = StaffMemberFactory(unit=east_store, position=clerk)
    StaffMemberFactory(unit=east_store, position=agent)
    StaffMemberFactory(position=clerk)
    url = reverse("admin:campaigns_stage_enrol", args=[stage.pk])
    query = f"?branch={east_store.parent_id}&position={clerk.pk}"

    page = hr.get(url + query)
    hr.post(url + query)

    assert page.context["new_count"] == 1
    assert [m.pk for m in page.context["sample"]] == [wanted.pk]
    assert list(stage.contestants.values_list("staff_member_id", flat=True)) == [wanted.pk]


def test_enrol_refused_once_the_stage_is_open(hr):
    stage = StageFactory(status=StageStatus.OPEN)
    StaffMemberFactory()

    response = hr.post(reverse("admin:campaigns_stage_enrol", args=[stage.pk]), follow=True)

    assert messages_of(response) == ["Contestants can be added only before a stage opens."]
    assert Contestant.objects.filter(stage=stage).count() == 0


def test_add_stage_to_a_campaign(hr):
    campaign = CampaignFactory()

    response = hr.post(
        reverse("admin:campaigns_stage_add"),
        {**rules_post(StageFactory.build(quota=2)), "campaign": campaign.pk, "order": 4},
    )

    assert response.status_code == 302
    assert list(campaign.stages.values_list("order", "status", "quota")) == [
        (4, StageStatus.DRAFT, 2)
    ]
