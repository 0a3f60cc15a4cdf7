"""Vote pages and the channels and limits of a stage (issue 14): a stage that does not
count web votes offers none, the limits are stated before a code is asked for, a number
with no votes left is told so before an SMS is spent, and no "vote for another candidate"
is offered when no votes are left."""

import pytest

from campaigns.choices import CampaignStatus, ComponentKey
from campaigns.messaging.models import OutboundSms
from campaigns.models import Campaign, Stage
from tests.factories.voting import VoteFactory
from tests.voting.conftest import VotingSetup, set_limits
from tests.voting.test_views import (
    EN,
    PHONE,
    ask_for_code,
    cast,
    enter_code,
    latest_code,
    nothing_written,
    text,
    url,
    verified_vote,
)
from voting.models import OtpChallenge, RateEvent, Vote

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(voting: VotingSetup) -> VotingSetup:
    """The open stage of ``voting``, in a running (public) campaign."""
    Campaign.objects.filter(pk=voting.stage.campaign_id).update(status=CampaignStatus.RUNNING)
    return voting


SMS_ONLY = {ComponentKey.SATISFACTION: "0.6", ComponentKey.SMS_VOTES: "0.4"}


def weigh(stage: Stage, weights: dict[str, str]) -> None:
    Stage.objects.filter(pk=stage.pk).update(weights=weights)
    stage.refresh_from_db()


def candidate_url(stage: Stage) -> str:
    return f"/campaigns/{stage.campaign_id}/candidates/1234/"


def test_vote_page_of_a_stage_without_web_weight_offers_sms_only(client, setup):
    weigh(setup.stage, SMS_ONLY)

    page = text(client.get(url(setup.stage), **EN))

    assert "This stage does not count web votes." in page
    assert 'type="tel"' not in page
    assert "Send me a code" not in page
    assert "Or text <strong>TP 1234</strong> to <strong>10690000</strong>" in page


def test_phone_post_to_a_stage_without_web_weight_sends_no_code(client, setup):
    weigh(setup.stage, SMS_ONLY)

    response = ask_for_code(client, setup.stage, **EN)

    assert response.status_code == 200
    assert "This stage does not count web votes." in text(response)
    assert nothing_written()


def test_code_entered_after_the_web_weight_went_to_zero_is_refused(client, setup):
    ask_for_code(client, setup.stage)
    weigh(setup.stage, SMS_ONLY)

    result = enter_code(client, setup.stage, latest_code())

    assert "Your vote was not counted" in text(result)
    assert "This stage does not count web votes." in text(result)
    assert Vote.objects.count() == 0
    assert OtpChallenge.objects.get().used_at is None  # the code stays usable


def test_vote_page_of_a_web_and_sms_stage_offers_both(client, setup):
    weigh(setup.stage, {ComponentKey.WEB_VOTES: "0.5", ComponentKey.SMS_VOTES: "0.5"})

    page = text(client.get(url(setup.stage), **EN))

    assert "does not count" not in page
    assert "Send me a code" in page
    assert "Or text <strong>TP 1234</strong>" in page


def test_candidate_page_offers_the_web_vote_only_where_web_votes_count(client, setup):
    weigh(setup.stage, SMS_ONLY)

    page = text(client.get(candidate_url(setup.stage), **EN))

    assert url(setup.stage) not in page
    assert "This stage counts SMS votes only." in page
    assert "Text <strong>TP 1234</strong>" in page


def test_candidate_and_vote_pages_state_the_limit(client, setup):
    set_limits(setup.stage, day=1, candidate=1)

    pages = [text(client.get(candidate_url(setup.stage))), text(client.get(url(setup.stage)))]

    for page in pages:
        assert "每天可投 1 票。 每位候选人最多可投 1 票。" in page


def test_unlimited_stage_says_so(client, setup):
    page = text(client.get(url(setup.stage), **EN))

    assert "There is no limit on the number of votes." in page


def test_number_without_votes_left_is_told_before_a_code_is_sent(client, setup):
    set_limits(setup.stage, day=1)
    VoteFactory(stage=setup.stage, contestant=setup.bob, phone=PHONE)

    response = ask_for_code(client, setup.stage, **EN)

    assert response.status_code == 200
    assert "You have used all 1 of your votes for today. New votes from midnight." in text(response)
    assert (OtpChallenge.objects.count(), OutboundSms.objects.count()) == (0, 0)
    assert RateEvent.objects.count() == 0


def test_numbers_with_votes_left_and_new_numbers_get_the_same_answer(client, setup):
    set_limits(setup.stage, day=2)
    VoteFactory(stage=setup.stage, contestant=setup.bob, phone="13800000001")

    answers = [ask_for_code(client, setup.stage, phone) for phone in ("13800000001", "13800000002")]

    assert [(r.status_code, r["Location"]) for r in answers] == [
        (303, url(setup.stage, step="code")),
        (303, url(setup.stage, step="code")),
    ]
    assert OutboundSms.objects.count() == 2


def test_result_after_the_last_vote_of_the_day_offers_no_other_candidate(client, setup):
    set_limits(setup.stage, day=1)

    result = verified_vote(client, setup.stage)

    assert "Your vote counted" in text(result)
    assert "Vote for another candidate" not in text(result)


def test_refusal_by_the_day_limit_offers_no_other_candidate(client, setup):
    set_limits(setup.stage, day=1)
    verified_vote(client, setup.stage)

    result = cast(client, setup.stage, "5678")

    assert "Your vote was not counted" in text(result)
    assert "Vote for another candidate" not in text(result)


def test_refusal_by_the_candidate_limit_still_offers_another_candidate(client, setup):
    set_limits(setup.stage, candidate=1)
    verified_vote(client, setup.stage)

    result = cast(client, setup.stage, "1234")

    assert "You have given this candidate all 1 of your votes for them." in text(result)
    assert "Vote for another candidate" in text(result)
