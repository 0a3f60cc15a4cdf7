"""Responses are compressed for phones on slow data: pages, the polled board fragment and
JSON, whenever the client accepts gzip; never for a client that does not."""

import gzip
import json

import pytest

from campaigns.choices import CampaignStatus
from tests.factories.campaigns import CampaignFactory, ContestantFactory, StageFactory
from tests.factories.staff import StaffMemberFactory
from voting.counting.publication import publish_stage_leaderboard

pytestmark = pytest.mark.django_db


@pytest.fixture
def stage():
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    stage = StageFactory(campaign=campaign, order=1, open=True, timed=True)
    for number in range(100001, 100061):
        ContestantFactory(
            stage=stage, staff_member=StaffMemberFactory(employee_no=str(number), name="张晓明")
        )
    publish_stage_leaderboard(stage)
    return stage


@pytest.mark.parametrize(
    "path",
    [
        "/campaigns/{campaign}/",
        "/stages/{stage}/contestants/",
        "/stages/{stage}/leaderboard/",
        "/stages/{stage}/leaderboard/live/",
        "/api/stages/{stage}/contestants/",
    ],
)
def test_pages_and_json_are_gzipped_when_the_client_accepts_it(client, stage, path):
    url = path.format(campaign=stage.campaign_id, stage=stage.pk)

    plain = client.get(url)
    packed = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")

    assert plain.status_code == packed.status_code == 200
    assert plain.get("Content-Encoding") is None
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    unpacked = gzip.decompress(packed.content)
    # Every page here repeats markup (cards, rows); even the smallest halves.
    assert len(packed.content) < len(unpacked) * 0.6
    if url.startswith("/api/"):
        assert json.loads(unpacked) == json.loads(plain.content)
