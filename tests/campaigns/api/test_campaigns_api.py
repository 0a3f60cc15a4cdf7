"""The read-only campaign API: /api/campaigns/, /api/campaigns/<id>/, /api/stages/<id>/contestants/."""

import datetime as dt
import json
from decimal import Decimal

import pytest
import yaml

from campaigns.choices import CampaignStatus, ContestantStatus, StageKind, StageStatus
from staff import services as staff_services
from staff.choices import UnitKind
from tests.factories.campaigns import CampaignFactory, ContestantFactory, StageFactory
from tests.factories.staff import PositionFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db

OPENS = dt.datetime(2026, 3, 1, 1, 30, tzinfo=dt.UTC)
CLOSES = dt.datetime(2026, 3, 31, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def campaign():
    """A running campaign: stage 1 open (李娜, 王强, 张伟), stage 2 a draft."""
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
    campaign = CampaignFactory(
        name="满意100服务明星",
        description="客户、评委和观众共同选出服务明星。",
        status=CampaignStatus.RUNNING,
        starts_on=dt.date(2026, 3, 1),
        ends_on=dt.date(2026, 10, 31),
    )
    first = StageFactory(
        campaign=campaign,
        order=1,
        name="第一阶段",
        kind=StageKind.EVALUATION,
        quota=3,
        opens_at=OPENS,
        closes_at=CLOSES,
        votes_per_day=1,
        open=True,
    )
    second = StageFactory(campaign=campaign, order=2, name="第二阶段", kind=StageKind.LIVE_CONTEST)
    for name, number, unit, position in [
        ("李娜", "20001", store, clerk),
        ("王强", "30001", team, agent),
        ("张伟", "20002", store, clerk),
    ]:
        ContestantFactory(
            stage=first,
            staff_member=StaffMemberFactory(
                name=name, employee_no=number, unit=unit, position=position
            ),
        )
    campaign.first, campaign.second = first, second
    campaign.units = {"east": east, "west": west, "store": store, "team": team}
    return campaign


def stage_json(stage, **overrides) -> dict:
    data = {
        "id": stage.pk,
        "order": stage.order,
        "name": stage.name,
        "kind": stage.kind,
        "status": stage.status,
        "opens_at": None,
        "closes_at": None,
        "quota": stage.quota,
        "votes_per_day": 0,
        "votes_per_stage": 0,
        "votes_per_candidate": 0,
        "served_vote_weight": "1.00",
        "served_votes_only": False,
        "visibility": "counts",
        "contestant_count": 0,
    }
    return data | overrides


def campaign_json(campaign) -> dict:
    return {
        "id": campaign.pk,
        "name": "满意100服务明星",
        "description": "客户、评委和观众共同选出服务明星。",
        "banner": None,
        "starts_on": "2026-03-01",
        "ends_on": "2026-10-31",
        "status": "running",
        "stages": [
            stage_json(
                campaign.first,
                opens_at="2026-03-01T09:30:00+08:00",
                closes_at="2026-03-31T22:00:00+08:00",
                votes_per_day=1,
                contestant_count=3,
            ),
            # campaign.second is a draft: HR's work in progress is not shown to customers.
        ],
    }


def contestants(client, stage, **params) -> list[str]:
    response = client.get(f"/api/stages/{stage.pk}/contestants/", params)
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


def test_campaign_list_shape(client, campaign):
    CampaignFactory(name="筹备中", status=CampaignStatus.DRAFT)

    response = client.get("/api/campaigns/")

    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [campaign_json(campaign)],
    }


def test_campaign_detail_shape(client, campaign):
    response = client.get(f"/api/campaigns/{campaign.pk}/")

    assert response.status_code == 200
    assert response.json() == campaign_json(campaign)


def test_campaign_detail_shows_a_previewed_stage_as_closed(client, campaign):
    campaign.first.status = StageStatus.PREVIEWED
    campaign.first.save()

    response = client.get(f"/api/campaigns/{campaign.pk}/")

    assert [s["status"] for s in response.json()["stages"]] == ["closed"]


def test_campaign_detail_tells_how_served_customers_votes_count(client, campaign):
    # The rule is part of how a vote counts, so voters can read it (docs/served-votes.md).
    campaign.first.served_vote_weight = Decimal("2.5")
    campaign.first.served_votes_only = True
    campaign.first.save()

    [stage] = client.get(f"/api/campaigns/{campaign.pk}/").json()["stages"]

    assert (stage["served_vote_weight"], stage["served_votes_only"]) == ("2.50", True)


@pytest.mark.parametrize("path", ["/api/campaigns/987654/", "/api/campaigns/99999999999999999999/"])
def test_campaign_detail_404_shape(client, path):
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_draft_campaign_and_its_stages_are_not_found(client):
    stage = StageFactory(campaign=CampaignFactory(status=CampaignStatus.DRAFT))
    ContestantFactory(stage=stage)

    detail = client.get(f"/api/campaigns/{stage.campaign_id}/")
    listed = client.get(f"/api/stages/{stage.pk}/contestants/")

    assert (detail.status_code, detail.json()["code"]) == (404, "not_found")
    assert (listed.status_code, listed.json()["code"]) == (404, "not_found")


def test_campaign_list_paginates(client):
    for n in range(3):
        CampaignFactory(status=CampaignStatus.RUNNING, starts_on=dt.date(2026, 1, 1 + n))

    response = client.get("/api/campaigns/", {"page_size": 2, "page": 2})

    body = response.json()
    assert body["count"] == 3
    assert body["next"] is None
    assert body["previous"] == "http://testserver/api/campaigns/?page_size=2"
    assert [c["starts_on"] for c in body["results"]] == ["2026-01-01"]


def test_contestant_list_shape(client, campaign):
    response = client.get(f"/api/stages/{campaign.first.pk}/contestants/")

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (3, None, None)
    wang = campaign.first.contestants.get(staff_member__employee_no="30001")
    assert body["results"][2] == {
        "id": wang.pk,
        "employee_no": "30001",
        "vote_code": "30001",
        "name": "王强",
        "unit": {"id": campaign.units["team"].pk, "code": "W-C1", "name": "西城客服一组"},
        "position": {"code": "call_centre_agent", "name": "客服代表"},
        "status": "in",
        "running_order": None,
        "photo": None,
        "thumbnail": None,
    }
    assert [row["employee_no"] for row in body["results"]] == ["20001", "20002", "30001"]


def test_no_phone_anywhere_in_the_api(client, campaign):
    bodies = [
        client.get("/api/campaigns/").content,
        client.get(f"/api/campaigns/{campaign.pk}/").content,
        client.get(f"/api/stages/{campaign.first.pk}/contestants/").content,
    ]

    for body in bodies:
        text = body.decode()
        assert "phone" not in text
        assert "****" not in text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "李"}, ["李娜"]),
        ({"q": "2000"}, ["李娜", "张伟"]),
        ({"q": "客服"}, ["王强"]),
        ({"branch": "E"}, ["李娜", "张伟"]),
        ({"branch": "W"}, ["王强"]),
        ({"position": "call_centre_agent"}, ["王强"]),
        ({"branch": "E", "position": "store_clerk", "q": "张"}, ["张伟"]),
        # Unknown values match nobody, like a search for nobody.
        ({"branch": "x"}, []),
        ({"branch": "E-S1"}, []),  # a store is not a branch
        ({"branch": "99999999999999999999999"}, []),
        ({"position": "nope"}, []),
    ],
)
def test_contestant_list_search_and_filters(client, campaign, params, expected):
    assert contestants(client, campaign.first, **params) == expected


def test_contestant_list_branch_filter_takes_an_id(client, campaign):
    west = campaign.units["west"]

    assert contestants(client, campaign.first, branch=str(west.pk)) == ["王强"]


def test_contestant_list_leaves_out_withdrawn(client, campaign):
    campaign.first.contestants.filter(staff_member__employee_no="20001").update(
        status=ContestantStatus.WITHDRAWN
    )

    assert contestants(client, campaign.first) == ["张伟", "王强"]


def test_contestant_list_paginates(client, campaign):
    first = client.get(f"/api/stages/{campaign.first.pk}/contestants/", {"page_size": 2})
    second = client.get(
        f"/api/stages/{campaign.first.pk}/contestants/", {"page_size": 2, "page": 2}
    )

    assert first.json()["next"] == (
        f"http://testserver/api/stages/{campaign.first.pk}/contestants/?page=2&page_size=2"
    )
    assert [r["name"] for r in first.json()["results"]] == ["李娜", "张伟"]
    assert [r["name"] for r in second.json()["results"]] == ["王强"]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"page": "abc"}, 404, "not_found"),
        ({"page": "9"}, 404, "not_found"),
        ({"q": "a\x00b"}, 400, "invalid"),
        ({"q": "x" * 65}, 400, "invalid"),
    ],
)
def test_contestant_list_bad_params_are_4xx_with_the_error_shape(
    client, campaign, params, status, code
):
    response = client.get(f"/api/stages/{campaign.first.pk}/contestants/", params)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert isinstance(response.json()["detail"], str)


def test_contestant_list_404_shape(client):
    response = client.get("/api/stages/987654/contestants/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


@pytest.mark.parametrize("count", [1, 3])
def test_contestant_list_query_count(client, count, django_assert_num_queries):
    stage = StageFactory(campaign=CampaignFactory(status=CampaignStatus.RUNNING), open=True)
    for _ in range(count):
        ContestantFactory(stage=stage)

    # stage + campaign, count, page of contestants
    with django_assert_num_queries(3):
        response = client.get(f"/api/stages/{stage.pk}/contestants/")

    assert len(response.json()["results"]) == count


@pytest.mark.parametrize("count", [1, 3])
def test_campaign_list_query_count(client, count, django_assert_num_queries):
    for _ in range(count):
        StageFactory(campaign=CampaignFactory(status=CampaignStatus.RUNNING))

    # count, campaigns, their stages
    with django_assert_num_queries(3):
        response = client.get("/api/campaigns/")

    assert len(response.json()["results"]) == count


def test_schema_describes_the_three_paths(client):
    response = client.get("/api/schema/")

    schema = yaml.safe_load(response.content)
    assert {
        "/api/campaigns/",
        "/api/campaigns/{id}/",
        "/api/stages/{stage_id}/contestants/",
    } <= set(schema["paths"])
    parameters = {
        p["name"]
        for p in schema["paths"]["/api/stages/{stage_id}/contestants/"]["get"]["parameters"]
    }
    assert parameters == {"stage_id", "q", "branch", "position", "page", "page_size"}
    stage_status = schema["components"]["schemas"]["Stage"]["properties"]["status"]
    assert json.dumps(stage_status).count("previewed") == 0
