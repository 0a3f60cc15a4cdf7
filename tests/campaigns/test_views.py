"""Public campaign pages: list, campaign, stage contestants, candidate, winners."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.choices import (
    CampaignStatus,
    ComponentKey,
    ContestantStatus,
    ResultOutcome,
    StageKind,
    StageStatus,
    Visibility,
)
from campaigns.services.stages import close_stage, finalize_stage, preview_stage
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

UTC = dt.UTC
OPENS = dt.datetime(2026, 3, 1, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
CLOSES = dt.datetime(2026, 3, 31, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def names(response) -> list[str]:
    """The contestant names of a gallery or winners page, in page order."""
    return re.findall(r'class="person-name"[^>]*>([^<]+)<', response.text)


@pytest.fixture
def directory():
    """Two branches (东城, 西城) with a store and a call-centre team, two positions."""
    company = staff_services.create_unit(code="HX", name="华信", kind=UnitKind.COMPANY, parent=None)
    east = staff_services.create_unit(
        code="E", name="东城分公司", kind=UnitKind.BRANCH, parent=company
    )
    west = staff_services.create_unit(
        code="W", name="西城分公司", kind=UnitKind.BRANCH, parent=company
    )
    store = staff_services.create_unit(
        code="E-S1", name="东城人民路营业厅", kind=UnitKind.STORE, parent=east
    )
    team = staff_services.create_unit(
        code="W-C1", name="西城客服一组", kind=UnitKind.CALL_CENTRE_TEAM, parent=west
    )
    clerk = PositionFactory(code="store_clerk", name="营业员")
    agent = PositionFactory(code="call_centre_agent", name="客服代表")
    return {
        "east": east,
        "west": west,
        "store": store,
        "team": team,
        "clerk": clerk,
        "agent": agent,
    }


@pytest.fixture
def campaign(directory):
    """A running campaign: stage 1 open with three contestants, stage 2 a draft."""
    campaign = CampaignFactory(
        name="满意100服务明星",
        description="客户、评委和观众共同选出服务明星。",
        status=CampaignStatus.RUNNING,
    )
    first = StageFactory(
        campaign=campaign,
        order=1,
        name="第一阶段",
        kind=StageKind.EVALUATION,
        quota=3,
        opens_at=OPENS,
        closes_at=CLOSES,
        open=True,
    )
    second = StageFactory(campaign=campaign, order=2, name="第二阶段", kind=StageKind.LIVE_CONTEST)
    people = [
        ("李娜", "20001", directory["store"], directory["clerk"]),
        ("王强", "30001", directory["team"], directory["agent"]),
        ("张伟", "20002", directory["store"], directory["clerk"]),
    ]
    for name, number, unit, position in people:
        ContestantFactory(
            stage=first,
            staff_member=StaffMemberFactory(
                name=name,
                employee_no=number,
                unit=unit,
                position=position,
                phone=f"1380000{number[:4]}",
                story=f"{name}的服务故事。",
            ),
        )
    campaign.first, campaign.second = first, second
    return campaign


# Campaign list and home -----------------------------------------------------------------


def test_campaign_list_shows_public_campaigns_with_stage_states(client, campaign):
    CampaignFactory(name="筹备中的活动", status=CampaignStatus.DRAFT)
    CampaignFactory(name="上届活动", status=CampaignStatus.FINISHED, starts_on=dt.date(2025, 3, 1))

    response = client.get(reverse("campaigns:campaign-list"))

    assert response.status_code == 200
    titles = re.findall(r'<h3><a href="/campaigns/\d+/">([^<]+)</a></h3>', response.text)
    assert titles == ["满意100服务明星", "上届活动"]
    assert '<span class="state state-open">已开启</span>' in response.text
    assert "进行中" in response.text  # "Running"
    assert "筹备中的活动" not in response.text


def test_home_page_links_running_campaigns_and_the_list(client, campaign):
    CampaignFactory(name="上届活动", status=CampaignStatus.FINISHED)

    response = client.get(reverse("campaigns:home"))

    assert response.status_code == 200
    assert f'<a href="/campaigns/{campaign.pk}/">满意100服务明星</a>' in response.text
    assert "上届活动" not in response.text
    assert 'href="/campaigns/"' in response.text


# Campaign page -----------------------------------------------------------------------------


def test_campaign_page_lists_stages_in_order_with_state_dates_and_quota(client, campaign):
    response = client.get(reverse("campaigns:campaign-detail", args=[campaign.pk]))

    assert response.status_code == 200
    text = response.text
    assert "<h1>满意100服务明星</h1>" in text
    # The second stage is a draft: HR's work in progress, not shown to customers.
    assert re.findall(r"<h3>([^<]+)</h3>", text) == ["第一阶段"]
    assert re.findall(r'class="state state-(\w+)">([^<]+)<', text) == [("open", "已开启")]
    assert "草稿" not in text
    assert "服务评价" in text
    assert "现场比赛" not in text  # the draft live contest stage
    assert '<time datetime="2026-03-01T09:30:00+08:00">2026年3月1日 09:30</time>' in text
    assert '<time datetime="2026-03-31T22:00:00+08:00">2026年3月31日 22:00</time>' in text
    contestants_url = reverse("campaigns:stage-contestants", args=[campaign.first.pk])
    assert f'href="{contestants_url}"' in text
    assert "/winners/" not in text  # nothing is finalised yet


def test_campaign_page_in_english(client, campaign):
    response = client.get(reverse("campaigns:campaign-detail", args=[campaign.pk]), **EN)

    text = response.text
    assert re.findall(r'class="state state-(\w+)">([^<]+)<', text) == [("open", "Open")]
    assert "March 1, 2026, 9:30 a.m." in text
    assert "Top 3 go through" in text
    assert "See the contestants" in text


def test_campaign_page_shows_a_previewed_stage_as_closed_and_links_winners_when_final(
    client, campaign
):
    campaign.first.status = StageStatus.PREVIEWED
    campaign.first.save()
    previewed = client.get(reverse("campaigns:campaign-detail", args=[campaign.pk]), **EN)
    StageFactory(campaign=campaign, order=3, name="第三阶段", finalized=True)

    finalised = client.get(reverse("campaigns:campaign-detail", args=[campaign.pk]), **EN)

    assert re.findall(r'class="state state-(\w+)">([^<]+)<', previewed.text) == [
        ("closed", "Closed")
    ]
    assert "previewed" not in previewed.text.lower()
    third = campaign.stages.get(order=3)
    assert re.findall(r'href="(/stages/\d+/winners/)"', finalised.text) == [
        f"/stages/{third.pk}/winners/"
    ]


@pytest.mark.parametrize("campaign_id", ["draft", 987654, 99999999999999999999])
def test_campaign_page_is_404_for_unknown_and_draft_campaigns(client, campaign_id):
    if campaign_id == "draft":
        campaign_id = CampaignFactory(status=CampaignStatus.DRAFT).pk

    response = client.get(f"/campaigns/{campaign_id}/")

    assert response.status_code == 404


# Stage contestants -------------------------------------------------------------------------


def contestants_url(stage) -> str:
    return reverse("campaigns:stage-contestants", args=[stage.pk])


def test_contestants_page_shows_the_gallery(client, campaign):
    response = client.get(contestants_url(campaign.first))

    assert response.status_code == 200
    assert names(response) == ["李娜", "张伟", "王强"]  # by employee number
    text = response.text
    assert '<span class="avatar avatar-placeholder" aria-hidden="true">李</span>' in text
    assert "东城人民路营业厅" in text
    assert "西城客服一组" in text
    assert "客服代表" in text
    assert "20001" in text
    assert f'href="/campaigns/{campaign.pk}/candidates/30001/"' in text
    assert '<span class="state state-open">已开启</span>' in text
    assert "138****" not in text
    assert "1380000" not in text


def test_contestants_page_in_english(client, campaign):
    response = client.get(contestants_url(campaign.first), **EN)

    assert "3 contestants" in response.text
    assert "All branches" in response.text
    assert '<span class="state state-open">Open</span>' in response.text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "李"}, ["李娜"]),
        ({"q": "2000"}, ["李娜", "张伟"]),  # employee-number prefix
        ({"q": "0001"}, []),  # a prefix, not any substring
        ({"q": "客服"}, ["王强"]),  # unit name
        ({"q": "  张伟  "}, ["张伟"]),
        ({"branch": "E"}, ["李娜", "张伟"]),
        ({"branch": "W"}, ["王强"]),
        ({"position": "call_centre_agent"}, ["王强"]),
        ({"branch": "E", "position": "call_centre_agent"}, []),
        ({"q": "张", "branch": "E", "position": "store_clerk"}, ["张伟"]),
    ],
)
def test_contestants_page_search_and_filters(client, campaign, params, expected):
    response = client.get(contestants_url(campaign.first), params)

    assert response.status_code == 200
    assert names(response) == expected


@pytest.mark.parametrize(
    ("params", "error_field"),
    [
        ({"branch": "x"}, "branch"),
        ({"position": "nope"}, "position"),
        ({"q": "a\x00b"}, "q"),
        ({"q": "x" * 65}, "q"),
        ({"page": "abc"}, None),
        ({"page": "-1"}, None),
        ({"page": "99999999999999999999"}, None),
    ],
)
def test_contestants_page_ignores_bad_params(client, campaign, params, error_field):
    response = client.get(contestants_url(campaign.first), params, **EN)

    assert response.status_code == 200
    assert names(response) == ["李娜", "张伟", "王强"]
    errors = re.findall(r'<ul class="form-errors" role="alert">(.*?)</ul>', response.text)
    if error_field is None:
        assert errors == []
    else:
        assert len(errors) == 1
        label = {"branch": "Branch", "position": "Position", "q": "Search"}[error_field]
        assert f"<li>{label}: " in errors[0]


def test_contestants_page_paginates_by_24(client, campaign, directory):
    for n in range(22):
        ContestantFactory(
            stage=campaign.first,
            staff_member=StaffMemberFactory(
                name=f"员工{n:02d}", employee_no=f"4{n:04d}", unit=directory["store"]
            ),
        )

    first = client.get(contestants_url(campaign.first), **EN)
    second = client.get(contestants_url(campaign.first), {"page": 2}, **EN)
    beyond = client.get(contestants_url(campaign.first), {"page": 7}, **EN)
    filtered = client.get(contestants_url(campaign.first), {"q": "员工", "page": 1}, **EN)

    assert len(names(first)) == 24
    assert names(first)[:3] == ["李娜", "张伟", "王强"]
    assert names(second) == ["员工21"]
    assert names(beyond) == names(second)
    assert "Page 1 of 2" in first.text
    assert "Page 2 of 2" in second.text
    assert 'href="?page=2"' in first.text
    assert "25 contestants" in first.text
    assert "22 contestants" in filtered.text
    assert "Page" not in filtered.text  # 22 fit on one page


def test_contestants_page_leaves_out_withdrawn_contestants(client, campaign):
    campaign.first.contestants.filter(staff_member__name="王强").update(
        status=ContestantStatus.WITHDRAWN
    )

    response = client.get(contestants_url(campaign.first))

    assert names(response) == ["李娜", "张伟"]


def test_contestants_page_of_an_empty_stage_says_so(client, campaign):
    campaign.second.status = StageStatus.OPEN
    campaign.second.save()

    response = client.get(contestants_url(campaign.second), **EN)

    assert response.status_code == 200
    assert names(response) == []
    assert "This stage has no contestants yet." in response.text


@pytest.mark.parametrize("status", [StageStatus.DRAFT, StageStatus.SCHEDULED])
def test_draft_and_scheduled_stages_do_not_exist_for_customers(client, campaign, status):
    campaign.second.status = status
    campaign.second.save()

    page = client.get(reverse("campaigns:campaign-detail", args=[campaign.pk]))
    api = client.get(f"/api/campaigns/{campaign.pk}/")

    assert "第二阶段" not in page.text
    assert [stage["id"] for stage in api.json()["stages"]] == [campaign.first.pk]
    assert client.get(contestants_url(campaign.second)).status_code == 404
    assert client.get(f"/api/stages/{campaign.second.pk}/contestants/").status_code == 404


def test_contestants_page_is_404_for_unknown_stages_and_draft_campaigns(client):
    draft_stage = StageFactory(campaign=CampaignFactory(status=CampaignStatus.DRAFT))

    assert client.get(contestants_url(draft_stage)).status_code == 404
    assert client.get("/stages/987654/contestants/").status_code == 404
    assert client.get("/stages/99999999999999999999/contestants/").status_code == 404


@pytest.mark.parametrize("count", [1, 3])
def test_contestants_page_query_count(client, count, django_assert_num_queries):
    stage = StageFactory(campaign=CampaignFactory(status=CampaignStatus.RUNNING), open=True)
    for _ in range(count):
        ContestantFactory(stage=stage)

    # stage + campaign, branch choices, position choices, count, page of contestants
    with django_assert_num_queries(5):
        response = client.get(contestants_url(stage), {"q": "员工"})

    assert len(names(response)) == count


# Candidate page ----------------------------------------------------------------------------


def candidate_url(campaign, employee_no: str) -> str:
    return reverse("campaigns:candidate-detail", args=[campaign.pk, employee_no])


def test_candidate_page_shows_the_person_and_their_stages(client, campaign):
    member = campaign.first.contestants.get(staff_member__name="王强").staff_member
    member.video_url = "https://video.example.org/wangqiang"
    member.save()

    response = client.get(candidate_url(campaign, "30001"))

    assert response.status_code == 200
    text = response.text
    assert "<h1>王强</h1>" in text
    assert "<strong>30001</strong>" in text
    assert re.findall(r"<dd>([^<]+)</dd>", text) == ["西城客服一组", "西城分公司", "客服代表"]
    assert "王强的服务故事。" in text
    assert 'href="https://video.example.org/wangqiang"' in text
    assert f'<a href="/stages/{campaign.first.pk}/contestants/">第一阶段</a>' in text
    assert "参赛中" in text  # "In the running"
    assert "138****" not in text


def test_candidate_page_in_english(client, campaign):
    response = client.get(candidate_url(campaign, "20001"), **EN)

    assert "Employee number" in response.text
    assert "In the running" in response.text
    assert "Watch the video" not in response.text  # no video link


def test_candidate_page_lists_every_stage_the_person_is_in(client, campaign):
    li = campaign.first.contestants.get(staff_member__name="李娜")
    li.status = ContestantStatus.ADVANCED
    li.save()
    ContestantFactory(stage=campaign.second, staff_member=li.staff_member)

    response = client.get(candidate_url(campaign, "20001"), **EN)

    assert re.findall(r'<a href="/stages/\d+/contestants/">([^<]+)</a>', response.text) == [
        "第一阶段",
        "第二阶段",
    ]
    assert "Advanced" in response.text


@pytest.mark.parametrize("employee_no", ["99999", "abc", "2000"])
def test_candidate_page_is_404_for_someone_not_in_the_campaign(client, campaign, employee_no):
    StaffMemberFactory(employee_no="99999")

    assert client.get(candidate_url(campaign, employee_no)).status_code == 404


def test_candidate_page_is_404_when_withdrawn_or_in_another_campaign(client, campaign):
    campaign.first.contestants.filter(staff_member__employee_no="20001").update(
        status=ContestantStatus.WITHDRAWN
    )
    other = CampaignFactory(status=CampaignStatus.RUNNING)
    draft = CampaignFactory(status=CampaignStatus.DRAFT)

    assert client.get(candidate_url(campaign, "20001")).status_code == 404
    assert client.get(candidate_url(other, "30001")).status_code == 404
    assert client.get(candidate_url(draft, "30001")).status_code == 404
    assert client.get("/campaigns/987654/candidates/30001/").status_code == 404


# Winners -----------------------------------------------------------------------------------


def test_winners_page_before_finalising_says_results_are_not_final(client, campaign):
    response = client.get(reverse("campaigns:stage-winners", args=[campaign.first.pk]), **EN)

    assert response.status_code == 200
    assert "The results of this stage are not final yet." in response.text
    assert names(response) == []


def test_winners_page_after_finalising_ranks_the_qualifiers(
    client, campaign, admin_user, fake_components
):
    first = campaign.first
    first.visibility = Visibility.COUNTS
    first.quota = 2
    first.save()
    ids = {c.staff_member.name: c.pk for c in first.contestants.select_related("staff_member")}
    fake_components.set(ComponentKey.WEB_VOTES, {ids["李娜"]: 10, ids["王强"]: 40, ids["张伟"]: 20})
    fake_components.set(ComponentKey.SMS_VOTES, {ids["李娜"]: 0, ids["王强"]: 40, ids["张伟"]: 10})
    close_stage(first, actor=admin_user)
    preview_stage(first, actor=admin_user)
    before = client.get(reverse("campaigns:stage-winners", args=[first.pk]), **EN)
    finalize_stage(first, actor=admin_user)

    response = client.get(reverse("campaigns:stage-winners", args=[first.pk]))

    assert "The results of this stage are not final yet." in before.text
    assert names(before) == []
    assert response.status_code == 200
    assert names(response) == ["王强", "张伟"]
    assert re.findall(r'class="winner-rank"[^>]*>.*?</span>(\d+)</span>', response.text) == [
        "1",
        "2",
    ]
    assert "<strong>100.00</strong>" in response.text
    assert "<strong>37.50</strong>" in response.text  # 0.5 × 20/40 × 100 + 0.5 × 10/40 × 100
    assert "晋级" in response.text  # "Qualified"
    assert '<span class="state state-finalized">已定案</span>' in response.text


def test_winners_page_hides_totals_for_ranks_only_and_marks_promoted_reserves(client, campaign):
    stage = StageFactory(
        campaign=campaign, order=3, name="决赛", finalized=True, visibility=Visibility.RANKS_ONLY
    )
    members = {c.staff_member.name: c.staff_member for c in campaign.first.contestants.all()}
    for rank, (name, outcome, status) in enumerate(
        [
            ("王强", ResultOutcome.QUALIFIED, ContestantStatus.ADVANCED),
            ("李娜", ResultOutcome.QUALIFIED, ContestantStatus.WITHDRAWN),
            ("张伟", ResultOutcome.RESERVE, ContestantStatus.ADVANCED),
        ],
        start=1,
    ):
        StageResultFactory(
            stage=stage,
            contestant=ContestantFactory(stage=stage, staff_member=members[name], status=status),
            rank=rank,
            position_rank=rank,
            outcome=outcome,
            total=Decimal("42.1234"),
            is_frozen=True,
            frozen_at=stage.finalized_at,
        )

    response = client.get(reverse("campaigns:stage-winners", args=[stage.pk]), **EN)

    assert names(response) == ["王强", "张伟"]
    assert "Promoted from the reserves" in response.text
    assert "Weighted total" not in response.text
    assert "42.12" not in response.text


def test_winners_page_is_404_for_unknown_stages_and_draft_campaigns(client):
    draft_stage = StageFactory(campaign=CampaignFactory(status=CampaignStatus.DRAFT))

    assert client.get(f"/stages/{draft_stage.pk}/winners/").status_code == 404
    assert client.get("/stages/987654/winners/").status_code == 404


def test_public_pages_show_the_vote_code_of_a_letter_employee_number(client, campaign, settings):
    settings.SMS_VOTE_NUMBER = "1069088"
    member = StaffMemberFactory(
        name="赵敏",
        employee_no="BJ010086",
        vote_code="800001",
        unit=campaign.first.contestants.first().staff_member.unit,
    )
    ContestantFactory(stage=campaign.first, staff_member=member)

    detail = client.get(candidate_url(campaign, "bj010086"), **EN)
    gallery = client.get(
        reverse("campaigns:stage-contestants", args=[campaign.first.pk]), {"q": "8000"}, **EN
    )

    assert detail.status_code == 200
    assert "Vote code <strong>800001</strong> · Employee number BJ010086" in detail.text
    assert "Text <strong>TP 800001</strong> to <strong>1069088</strong> to vote." in detail.text
    assert names(gallery) == ["赵敏"]
    assert "Vote code 800001" in gallery.text


def test_the_candidate_page_gives_no_sms_hint_when_no_stage_is_open(client, campaign):
    close_stage(campaign.first, actor=None)

    response = client.get(candidate_url(campaign, "20001"), **EN)

    assert response.status_code == 200
    assert "to vote." not in response.text
    assert "Vote code <strong>20001</strong>" in response.text
