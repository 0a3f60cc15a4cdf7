"""The stage admin: list, rules form, every move through its confirmation page, enrolment."""

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.admin.moves import MOVES, moves_from
from campaigns.choices import (
    STAGE_TRANSITIONS,
    AuditAction,
    ComponentKey,
    ContestantStatus,
    StageStatus,
)
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
    # (+ 2: an HR admin's own and group permissions, read once per request)
    with django_assert_num_queries(8):
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


def test_a_move_reason_over_the_one_limit_is_refused_on_the_page_and_changes_nothing(hr):
    stage = StageFactory(status=StageStatus.OPEN)

    response = hr.post(move_url(stage, "close"), {"reason": "x" * 1001})

    stage.refresh_from_db()
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["reason"]
    assert stage.status == StageStatus.OPEN
    assert events(AuditAction.STAGE_CLOSED) == []


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
    """The stage form as posted: weights 50/50 web/SMS, tie-break SMS, no position quotas.

    Weights are ``weights_<component>`` percentages, tie-breaks ``tie_break_order_1``..``_5``
    and places ``position_quotas_<code>``; a sub-input left out posts as empty.
    """
    data = {
        "name": stage.name,
        "kind": stage.kind,
        "opens_at_0": "",
        "opens_at_1": "",
        "closes_at_0": "",
        "closes_at_1": "",
        "quota": stage.quota,
        **{f"weights_{key}": "" for key in ComponentKey.values},
        "weights_web_votes": "50",
        "weights_sms_votes": "50",
        **{f"tie_break_order_{i}": "" for i in range(1, 6)},
        "tie_break_order_1": "sms_votes",
        "reserve_count": stage.reserve_count,
        "votes_per_day": 0,
        "votes_per_stage": 0,
        "votes_per_candidate": 0,
        # The served-customer rule as the form shows it by default: weight 1, all votes.
        "served_vote_weight": "1.00",
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


# The rules form: percentages, places per position and tie-break drop-downs ----------------

NO_WEIGHTS = {f"weights_{key}": "" for key in ComponentKey.values}


@pytest.fixture
def positions():
    """Two active positions (in sort order) and an inactive one the form leaves out."""
    PositionFactory(code="retired", name="旧岗位", is_active=False)
    return (
        PositionFactory(code="clerk", name="营业员", sort_order=1),
        PositionFactory(code="agent", name="装维经理", sort_order=2),
    )


def subinputs(response, name: str) -> list[tuple[str, object]]:
    """``(name, value)`` of each input of a rules field, in order, as rendered."""
    (group,) = response.context["adminform"].form[name].subwidgets
    return [(sub["name"], sub["value"]) for sub in group.data["subwidgets"]]


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


def test_rules_form_has_an_input_per_component_and_position_with_stored_values(hr, positions):
    stage = StageFactory(
        quota=3,
        weights={"satisfaction": "0.6", "sms_votes": "0.4"},
        position_quotas={"clerk": 2, "agent": 1},
        tie_break_order=["satisfaction", "sms_votes"],
    )

    response = hr.get(change_url(stage))
    chinese = hr.get(change_url(stage), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert subinputs(response, "weights") == [
        ("weights_web_votes", None),
        ("weights_sms_votes", "40"),
        ("weights_audience_votes", None),
        ("weights_judge_score", None),
        ("weights_satisfaction", "60"),
        ("weights_kpi_score", None),
        ("weights_inspection_score", None),
    ]
    assert subinputs(response, "position_quotas") == [
        ("position_quotas_clerk", "2"),
        ("position_quotas_agent", "1"),
    ]
    assert subinputs(response, "tie_break_order") == [
        ("tie_break_order_1", ["satisfaction"]),
        ("tie_break_order_2", ["sms_votes"]),
        ("tie_break_order_3", [""]),
        ("tie_break_order_4", [""]),
        ("tie_break_order_5", [""]),
    ]
    assert '<label for="id_weights_4">Customer satisfaction %</label>' in response.text
    assert (
        '<input type="number" name="weights_satisfaction" value="60" min="0" max="100"'
        in response.text
    )
    assert '<option value="sms_votes" selected>SMS votes</option>' in response.text
    assert '<label for="id_position_quotas_0">营业员</label>' in response.text
    assert '<label for="id_tie_break_order_0">1st tie-break</label>' in response.text
    assert '<label for="id_weights_4">客户满意度 %</label>' in chinese.text
    assert "旧岗位" not in response.text
    assert 'name="weights"' not in response.text


def test_rules_form_keeps_a_quota_of_an_inactive_position(hr, positions):
    stage = StageFactory(quota=3, position_quotas={"clerk": 2, "retired": 1})

    response = hr.get(change_url(stage))

    assert subinputs(response, "position_quotas") == [
        ("position_quotas_retired", "1"),
        ("position_quotas_clerk", "2"),
        ("position_quotas_agent", None),
    ]


@pytest.mark.parametrize(
    ("percents", "weights"),
    [
        ({"satisfaction": "60", "sms_votes": "40"}, {"satisfaction": "0.6", "sms_votes": "0.4"}),
        (
            {"web_votes": "33.33", "sms_votes": "33.33", "judge_score": "33.34"},
            {"web_votes": "0.3333", "sms_votes": "0.3333", "judge_score": "0.3334"},
        ),
        ({"audience_votes": "100", "web_votes": "0"}, {"audience_votes": "1"}),
    ],
)
def test_percentages_are_stored_as_decimal_weights(hr, percents, weights):
    stage = StageFactory()
    post = {**NO_WEIGHTS, **{f"weights_{key}": p for key, p in percents.items()}}

    response = hr.post(change_url(stage), rules_post(stage, **post))

    stage.refresh_from_db()
    assert response.status_code == 302
    assert stage.weights == weights
    assert events(AuditAction.RULES_CHANGED) == [
        (
            "hr",
            "",
            {
                "status": "draft",
                "before": {"weights": {"web_votes": "0.5", "sms_votes": "0.5"}},
                "after": {"weights": weights},
            },
        )
    ]


@pytest.mark.parametrize(
    ("percents", "errors"),
    [
        (
            {"satisfaction": "60", "sms_votes": "30"},
            ["The percentages add up to 90; they must add up to exactly 100."],
        ),
        ({}, ["The percentages add up to 0; they must add up to exactly 100."]),
        (
            {"satisfaction": "66.67", "sms_votes": "33.34"},
            ["The percentages add up to 100.01; they must add up to exactly 100."],
        ),
        (
            {"satisfaction": "66.667", "sms_votes": "33.333"},
            ["Ensure that there are no more than 2 decimal places."] * 2,
        ),
        (
            {"satisfaction": "120", "sms_votes": "-20"},
            [
                "Ensure this value is greater than or equal to 0.",
                "Ensure this value is less than or equal to 100.",
            ],
        ),
    ],
)
def test_percentages_not_adding_up_to_100_are_refused(hr, percents, errors):
    stage = StageFactory()
    post = {**NO_WEIGHTS, **{f"weights_{key}": p for key, p in percents.items()}}

    response = hr.post(change_url(stage), rules_post(stage, **post))

    stage.refresh_from_db()
    assert response.status_code == 200
    assert form_errors(response) == {"weights": errors}
    assert stage.weights == {"web_votes": "0.5", "sms_votes": "0.5"}
    assert events(AuditAction.RULES_CHANGED) == []


@pytest.mark.parametrize(
    ("places", "stored"),
    [
        ({"clerk": "", "agent": ""}, {}),
        ({"clerk": "2", "agent": "1"}, {"clerk": 2, "agent": 1}),
        ({"clerk": "3", "agent": "0"}, {"clerk": 3}),
    ],
)
def test_position_quotas_are_stored_without_blanks(hr, positions, places, stored):
    stage = StageFactory(quota=3, position_quotas={"clerk": 1, "agent": 2})
    post = {f"position_quotas_{code}": n for code, n in places.items()}

    response = hr.post(change_url(stage), rules_post(stage, **post))

    stage.refresh_from_db()
    assert response.status_code == 302
    assert stage.position_quotas == stored


def test_position_quotas_not_adding_up_to_the_quota_are_refused(hr, positions):
    stage = StageFactory(quota=3)
    post = {"position_quotas_clerk": "2", "position_quotas_agent": "2"}

    response = hr.post(change_url(stage), rules_post(stage, **post))

    stage.refresh_from_db()
    assert response.status_code == 200
    assert form_errors(response) == {
        "position_quotas": ["Per-position quotas add up to 4 but the stage quota is 3."]
    }
    assert stage.position_quotas == {}
    assert events(AuditAction.RULES_CHANGED) == []


def test_tie_break_order_is_stored_in_order_without_blanks(hr):
    stage = StageFactory()
    post = {
        "tie_break_order_1": "satisfaction",
        "tie_break_order_2": "",
        "tie_break_order_3": "web_votes",
    }

    response = hr.post(change_url(stage), rules_post(stage, **post))

    stage.refresh_from_db()
    assert response.status_code == 302
    assert stage.tie_break_order == ["satisfaction", "web_votes"]


@pytest.mark.parametrize(
    ("post", "error"),
    [
        (
            {"tie_break_order_1": "web_votes", "tie_break_order_4": "web_votes"},
            "A component appears twice in the tie-break order.",
        ),
        (
            {"tie_break_order_1": "charm"},
            "Select a valid choice. charm is not one of the available choices.",
        ),
    ],
)
def test_bad_tie_break_order_is_refused(hr, post, error):
    stage = StageFactory()

    response = hr.post(change_url(stage), rules_post(stage, **post))

    stage.refresh_from_db()
    assert response.status_code == 200
    assert form_errors(response) == {"tie_break_order": [error]}
    assert stage.tie_break_order == ["sms_votes"]


def test_weights_change_of_a_started_stage_still_needs_a_reason(hr):
    stage = StageFactory(status=StageStatus.OPEN)
    post = {"weights_web_votes": "70", "weights_sms_votes": "30"}

    refused = hr.post(change_url(stage), rules_post(stage, **post))
    accepted = hr.post(change_url(stage), rules_post(stage, **post, reason="Judges asked"))

    stage.refresh_from_db()
    assert form_errors(refused) == {
        "reason": ["The stage has started: its rules change only with a reason, which is recorded."]
    }
    assert accepted.status_code == 302
    assert stage.weights == {"web_votes": "0.7", "sms_votes": "0.3"}
    assert [reason for _actor, reason, _data in events(AuditAction.RULES_CHANGED)] == [
        "Judges asked"
    ]


def test_the_same_rules_written_differently_are_no_change(hr):
    stage = StageFactory(status=StageStatus.OPEN)
    post = {"weights_web_votes": "50.00", "weights_sms_votes": "50", "weights_judge_score": "0"}

    response = hr.post(change_url(stage), rules_post(stage, **post))

    stage.refresh_from_db()
    assert response.status_code == 302
    assert stage.weights == {"web_votes": "0.5", "sms_votes": "0.5"}
    assert events(AuditAction.RULES_CHANGED) == []


def test_rules_of_a_finalised_stage_show_in_words(hr, positions):
    stage = StageFactory(
        status=StageStatus.FINALIZED,
        finalized_at=timezone.now(),
        quota=3,
        weights={"satisfaction": "0.6", "sms_votes": "0.4"},
        position_quotas={"clerk": 2, "agent": 1},
        tie_break_order=["satisfaction", "sms_votes"],
    )

    response = hr.get(change_url(stage))

    form = response.context["adminform"].form
    assert {"weights", "position_quotas", "tie_break_order"} & set(form.fields) == set()
    assert "SMS votes 40 % · Customer satisfaction 60 %" in response.text
    assert "营业员 2 · 装维经理 1" in response.text
    assert "Customer satisfaction → SMS votes" in response.text


def test_change_page_links_to_the_stage_dashboard(hr):
    stage = StageFactory(status=StageStatus.OPEN)

    response = hr.get(change_url(stage))

    dashboard = f"{reverse('admin:voting_stage_dashboard')}?stage={stage.pk}"
    assert ("Stage dashboard", dashboard) in response.context["stage_links"]
    assert f'href="{dashboard}"' in response.text


def test_change_page_shows_the_dashboard_only_to_who_may_open_it(client):
    from django.contrib.auth.models import Permission

    from tests.factories.staff import UserFactory

    stage = StageFactory(status=StageStatus.OPEN)
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_stage"))
    client.force_login(user)

    response = client.get(change_url(stage), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response.context["stage_links"] == []
    assert reverse("admin:voting_stage_dashboard") not in response.text


def test_rules_form_warns_of_votes_cast_by_a_channel_weighted_zero(hr, fake_components):
    stage = StageFactory(
        open=True, weights={ComponentKey.SATISFACTION: "0.6", ComponentKey.SMS_VOTES: "0.4"}
    )
    member = ContestantFactory(stage=stage)
    fake_components.set(ComponentKey.WEB_VOTES, {member.pk: 7352})
    fake_components.set(ComponentKey.SMS_VOTES, {member.pk: 12})

    response = hr.get(change_url(stage))

    assert messages_of(response) == [
        "Web votes are weighted 0: the 7352 already cast count for nothing, and new ones are "
        "refused. Give them a weight if they should count."
    ]
    assert (
        "Votes are taken by: SMS votes. A channel weighted 0 is refused: Web votes, "
        "Audience votes." in response.content.decode()
    )


def test_rules_form_of_a_stage_weighting_web_and_sms_warns_of_nothing(hr, fake_components):
    stage = StageFactory(open=True)
    member = ContestantFactory(stage=stage)
    fake_components.set(ComponentKey.WEB_VOTES, {member.pk: 3})

    response = hr.get(change_url(stage))

    assert messages_of(response) == []
    assert (
        "Votes are taken by: Web votes, SMS votes. A channel weighted 0 is refused: "
        "Audience votes." in response.content.decode()
    )
