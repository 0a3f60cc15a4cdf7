"""Audience votes at a live contest: only for the contestant the host has on stage, and
only while the host keeps their turn open; through the API, the pages and the service."""

import json
import uuid

import pytest

from campaigns.choices import CampaignStatus
from campaigns.live import AudienceWindow, audience_window
from campaigns.messaging.models import OutboundSms
from campaigns.models import Campaign
from evaluations.services import live
from staff.phones import parse_phone
from tests.factories.evaluations import PanelFactory
from tests.factories.staff import UserFactory
from voting.choices import VoteChannel
from voting.exceptions import NotOnStageError
from voting.ledger.services import cast_vote
from voting.models import OtpChallenge, Vote

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def stage(voting):
    Campaign.objects.filter(pk=voting.stage.campaign_id).update(status=CampaignStatus.RUNNING)
    return voting


@pytest.fixture
def contest(stage):
    """The stage runs a live contest (a judge panel); nobody is on stage yet."""
    stage.panel = PanelFactory(stage=stage.stage)
    return stage


def latest_code() -> str:
    message = OutboundSms.objects.filter(phone_hash=parse_phone(PHONE).hash).latest("pk")
    return message.params["code"]


def audience_vote(client, setup, employee_no: str, channel: str = VoteChannel.AUDIENCE):
    client.post("/api/otp/", data={"phone": PHONE}, content_type="application/json")
    body = {
        "stage": setup.stage.pk,
        "employee_no": employee_no,
        "phone": PHONE,
        "code": latest_code(),
        "channel": channel,
    }
    return client.post("/api/votes/", data=json.dumps(body), content_type="application/json", **EN)


def test_without_a_live_contest_the_audience_votes_for_anyone(client, stage):
    response = audience_vote(client, stage, "5678")

    assert audience_window(stage.stage.pk) is None
    assert response.status_code == 201
    assert Vote.objects.get().channel == VoteChannel.AUDIENCE


def test_before_anyone_is_on_stage_audience_votes_are_refused(client, contest):
    response = audience_vote(client, contest, "1234")

    assert audience_window(contest.stage.pk) == AudienceWindow(contestant_id=None, is_open=False)
    assert response.status_code == 409
    assert response.json() == {
        "code": "not_on_stage",
        "detail": "Audience votes go to the contestant on stage: this one is not on stage now.",
    }
    assert Vote.objects.count() == 0
    # The refused vote rolled back with its code: the code is still unused.
    assert OtpChallenge.objects.get().used_at is None


def test_only_the_contestant_on_stage_gets_audience_votes(client, contest):
    live.put_on_stage(contest.panel, contestant_id=contest.alice.pk, actor=None)

    for_bob = audience_vote(client, contest, "5678")
    for_alice = audience_vote(client, contest, "1234")

    assert for_bob.json()["code"] == "not_on_stage"
    assert for_alice.status_code == 201
    assert list(Vote.objects.values_list("contestant_id", flat=True)) == [contest.alice.pk]


@pytest.mark.parametrize("step", [live.close_scoring, live.reveal_score])
def test_once_the_host_closes_the_turn_audience_votes_are_refused(client, contest, step):
    live.put_on_stage(contest.panel, contestant_id=contest.alice.pk, actor=None)
    step(contest.panel, contestant_id=contest.alice.pk, actor=None)

    response = audience_vote(client, contest, "1234")

    assert audience_window(contest.stage.pk) == AudienceWindow(
        contestant_id=contest.alice.pk, is_open=False
    )
    assert response.status_code == 409
    assert response.json() == {
        "code": "audience_window_closed",
        "detail": "Audience voting for this contestant has closed.",
    }
    assert Vote.objects.count() == 0


def test_the_next_contestant_on_stage_takes_the_audience_votes(client, contest):
    live.put_on_stage(contest.panel, contestant_id=contest.alice.pk, actor=None)
    live.put_on_stage(contest.panel, contestant_id=contest.bob.pk, actor=None)

    for_alice = audience_vote(client, contest, "1234")
    for_bob = audience_vote(client, contest, "5678")

    assert for_alice.json()["code"] == "not_on_stage"
    assert for_bob.status_code == 201


def test_web_votes_are_not_held_to_the_stage_turn(client, contest):
    live.put_on_stage(contest.panel, contestant_id=contest.alice.pk, actor=None)

    response = audience_vote(client, contest, "5678", channel=VoteChannel.WEB)

    assert response.status_code == 201
    assert Vote.objects.get().channel == VoteChannel.WEB


def test_a_verified_voter_token_is_held_to_the_turn_too(contest):
    live.put_on_stage(contest.panel, contestant_id=contest.alice.pk, actor=None)

    with pytest.raises(NotOnStageError):
        cast_vote(
            contest.stage,
            contestant=contest.bob,
            voter_hash=contest.voter.hash,
            phone_masked=contest.voter.masked,
            channel=VoteChannel.AUDIENCE,
        )
    assert Vote.objects.count() == 0


# The audience pages ------------------------------------------------------------------------


def test_audience_page_of_a_contestant_off_stage_says_so_and_asks_no_number(client, contest):
    live.put_on_stage(contest.panel, contestant_id=contest.alice.pk, actor=None)

    off = client.get(f"/vote/live/{contest.stage.pk}/5678/", **EN).content.decode()
    on = client.get(f"/vote/live/{contest.stage.pk}/1234/", **EN).content.decode()
    posted = client.post(f"/vote/live/{contest.stage.pk}/5678/", {"phone": PHONE}, **EN)

    message = "Audience votes go to the contestant on stage: this one is not on stage now."
    assert message in off
    assert 'name="phone"' not in off
    assert 'name="phone"' in on
    assert message in posted.content.decode()
    assert OutboundSms.objects.count() == 0


def test_audience_page_refuses_a_vote_after_the_host_closed_the_turn(client, contest):
    live.put_on_stage(contest.panel, contestant_id=contest.alice.pk, actor=None)
    page = f"/vote/live/{contest.stage.pk}/1234/"
    client.post(page, {"phone": PHONE})
    live.close_scoring(contest.panel, contestant_id=contest.alice.pk, actor=None)

    result = client.post(
        f"{page}code/", {"code": latest_code(), "idempotency_key": str(uuid.uuid4())}, **EN
    )

    assert "Audience voting for this contestant has closed." in result.content.decode()
    assert Vote.objects.count() == 0


def test_refusals_are_in_chinese_by_default(client, contest):
    live.put_on_stage(contest.panel, contestant_id=contest.alice.pk, actor=None)
    client.post("/api/otp/", data={"phone": PHONE}, content_type="application/json")
    body = {"stage": contest.stage.pk, "employee_no": "5678", "phone": PHONE}
    body.update(code=latest_code(), channel=VoteChannel.AUDIENCE)

    response = client.post("/api/votes/", data=json.dumps(body), content_type="application/json")

    assert response.json()["code"] == "not_on_stage"
    assert response.json()["detail"] == "现场观众只能为正在台上的选手投票：这位选手现在不在台上。"


def test_host_screen_follows_the_live_contest_and_warns_off_stage(client, contest):
    client.force_login(UserFactory(is_staff=True))
    live.put_on_stage(contest.panel, contestant_id=contest.bob.pk, actor=None)
    host = f"/vote/live/{contest.stage.pk}/host/"

    default = client.get(host, **EN).content.decode()
    chosen = client.get(f"{host}?contestant=1234", **EN).content.decode()

    message = "Audience votes go to the contestant on stage: this one is not on stage now."
    assert f"<title>http://testserver/vote/live/{contest.stage.pk}/5678/</title>" in default
    assert message not in default
    assert message in chosen


def test_venue_screen_hides_the_vote_code_once_the_turn_is_closed(client, contest):
    live.put_on_stage(contest.panel, contestant_id=contest.alice.pk, actor=None)
    state = f"/screen/{contest.stage.pk}/state/"

    open_turn = client.get(state).json()["on_stage"]
    live.close_scoring(contest.panel, contestant_id=contest.alice.pk, actor=None)
    closed_turn = client.get(state).json()["on_stage"]

    assert open_turn["qr"].startswith("<svg")
    assert open_turn["audience_url"].endswith(f"/vote/live/{contest.stage.pk}/1234/")
    assert (closed_turn["audience_url"], "qr" in closed_turn) == ("", False)
