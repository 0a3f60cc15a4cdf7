"""``GET /api/stages/<id>/leaderboard/`` slices: ``?top=N`` and ``?page=``/``?page_size=``
cut a large board for phones; without them the answer is the whole board (the contract)."""

import pytest

from campaigns.choices import CampaignStatus
from campaigns.models import Campaign
from tests.factories.campaigns import ContestantFactory
from tests.factories.staff import StaffMemberFactory
from voting.choices import VoteChannel
from voting.counting.publication import publish_stage_leaderboard

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(voting, monkeypatch):
    """A public stage of 120 contestants with distinct counts (patched in: casting thousands
    of votes would take minutes), published."""
    Campaign.objects.filter(pk=voting.stage.campaign_id).update(status=CampaignStatus.RUNNING)
    contestants = [voting.alice, voting.bob] + [
        ContestantFactory(
            stage=voting.stage, staff_member=StaffMemberFactory(employee_no=f"7{i:04d}")
        )
        for i in range(118)
    ]
    counts = {(c.pk, VoteChannel.WEB.value): 1000 - i for i, c in enumerate(contestants)}
    monkeypatch.setattr("voting.counting.publication.counted_votes", lambda stage: counts)
    publish_stage_leaderboard(voting.stage)
    return voting


def url(stage) -> str:
    return f"/api/stages/{stage.pk}/leaderboard/"


def test_the_whole_board_without_a_slice(crowd, client):
    body = client.get(url(crowd.stage)).json()

    assert set(body) == {"stage", "published_at", "cut", "entries"}
    assert [entry["rank"] for entry in body["entries"]] == list(range(1, 121))


def test_top_gives_the_first_entries_and_its_own_etag(crowd, client):
    whole = client.get(url(crowd.stage))
    top = client.get(url(crowd.stage), {"top": "10"})

    assert top.status_code == 200
    assert top.json()["entries"] == whole.json()["entries"][:10]
    assert set(top.json()) == {"stage", "published_at", "cut", "entries"}
    assert top["ETag"] != whole["ETag"]
    again = client.get(url(crowd.stage), {"top": "10"}, HTTP_IF_NONE_MATCH=top["ETag"])
    assert again.status_code == 304


def test_pages_cover_the_board_once_and_a_page_beyond_is_the_last(crowd, client):
    whole = client.get(url(crowd.stage)).json()["entries"]

    pages = [
        client.get(url(crowd.stage), {"page": str(n), "page_size": "50"}).json() for n in (1, 2, 3)
    ]
    beyond = client.get(url(crowd.stage), {"page": "99", "page_size": "50"}).json()
    default = client.get(url(crowd.stage), {"page": "1"}).json()

    assert [entry for page in pages for entry in page["entries"]] == whole
    assert [(p["page"], p["pages"], p["total"]) for p in pages] == [
        (1, 3, 120),
        (2, 3, 120),
        (3, 3, 120),
    ]
    assert beyond["page"] == 3
    assert beyond["entries"] == pages[2]["entries"]
    assert len(default["entries"]) == 100


@pytest.mark.parametrize(
    "params",
    [
        {"top": "0"},
        {"top": "1001"},
        {"top": "-1"},
        {"top": "ten"},
        {"top": "1e3"},
        {"top": "9" * 40},
        {"page": "0"},
        {"page": "abc"},
        {"page_size": "5000"},
        {"top": "5", "page": "1"},
    ],
)
def test_bad_slices_are_a_clear_400(voting, client, params):
    Campaign.objects.filter(pk=voting.stage.campaign_id).update(status=CampaignStatus.RUNNING)
    publish_stage_leaderboard(voting.stage)

    response = client.get(url(voting.stage), params, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "bad_slice"
    assert body["detail"] in {
        f"{name} must be a whole number from 1 to {maximum}."
        for name, maximum in (("top", 1000), ("page", 9999999), ("page_size", 1000))
    } | {"Use either top or page, not both."}
