"""Public vote pages: phone → code → vote → result, voter sessions, receipts, short links,
posters and the audience host screen, through the Django test client (no mocks: codes are
read from the SMS outbox as a phone would receive them)."""

import datetime as dt
import uuid
from pathlib import Path

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.db import connection
from django.db.models import F
from django.test import Client
from django.utils import translation

from campaigns.choices import CampaignStatus, StageStatus
from campaigns.messaging.models import OutboundSms
from campaigns.messaging.templates import render_sms
from campaigns.models import Campaign, Stage
from staff.phones import parse_phone
from tests.factories.staff import StaffMemberFactory, UserFactory
from tests.factories.voting import VoteFactory
from tests.voting.conftest import VotingSetup, set_limits
from voting.choices import OTP_TTL_SECONDS, SmsTemplate, VoteChannel, VoteStatus
from voting.models import OtpChallenge, RateEvent, Vote, Voter
from voting.sms_templates import votes_left_text
from voting.views.votes import VOTER_SESSION_KEY

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def setup(voting: VotingSetup) -> VotingSetup:
    """The open stage of ``voting``, in a running (public) campaign."""
    Campaign.objects.filter(pk=voting.stage.campaign_id).update(status=CampaignStatus.RUNNING)
    return voting


def url(stage: Stage, employee_no: str = "1234", step: str = "", *, live: bool = False) -> str:
    prefix = "/vote/live" if live else "/vote"
    return f"{prefix}/{stage.pk}/{employee_no}/{step + '/' if step else ''}"


def latest_code(phone: str = PHONE) -> str:
    return (
        OutboundSms.objects.filter(phone_hash=parse_phone(phone).hash).latest("pk").params["code"]
    )


def ask_for_code(client: Client, stage: Stage, phone: str = PHONE, **kwargs):
    return client.post(url(stage, kwargs.pop("employee_no", "1234")), {"phone": phone}, **kwargs)


def enter_code(client: Client, stage: Stage, code: str, key: str | None = None, **kwargs):
    employee_no = kwargs.pop("employee_no", "1234")
    live = kwargs.pop("live", False)
    data = {"code": code, "idempotency_key": str(uuid.uuid4()) if key is None else key}
    return client.post(url(stage, employee_no, "code", live=live), data, **{**EN, **kwargs})


def cast(client: Client, stage: Stage, employee_no: str, key: str | None = None):
    data = {"idempotency_key": str(uuid.uuid4()) if key is None else key}
    return client.post(url(stage, employee_no, "cast"), data, **EN)


def verified_vote(client: Client, stage: Stage, phone: str = PHONE):
    """The whole first vote (for 1234): number, code, vote. Returns the result page."""
    ask_for_code(client, stage, phone)
    return enter_code(client, stage, latest_code(phone))


def text(response) -> str:
    return response.content.decode()


def nothing_written() -> bool:
    return [
        Vote.objects.count(),
        OtpChallenge.objects.count(),
        OutboundSms.objects.count(),
        RateEvent.objects.count(),
        Voter.objects.count(),
    ] == [0, 0, 0, 0, 0]


# The vote page ------------------------------------------------------------------------------


def test_vote_page_shows_the_candidate_the_sms_instruction_and_the_phone_form(client, setup):
    member = setup.alice.staff_member

    response = client.get(url(setup.stage), **EN)

    page = text(response)
    assert response.status_code == 200
    assert f'<h1 id="candidate-name">{member.name}</h1>' in page
    assert "<strong>1234</strong>" in page
    assert f"{member.unit.name} · {member.position.name}" in page
    assert "Or text <strong>TP 1234</strong> to <strong>10690000</strong>" in page
    assert 'type="tel"' in page
    assert 'autocomplete="tel"' in page
    assert "Send me a code" in page


def test_vote_page_uses_the_sms_number_setting(client, setup, settings):
    settings.SMS_VOTE_NUMBER = "1069088"

    response = client.get(url(setup.stage), **EN)

    assert "to <strong>1069088</strong>" in text(response)


def test_vote_page_is_chinese_by_default_and_english_on_request(client, setup):
    chinese = text(client.get(url(setup.stage)))
    english = text(client.get(url(setup.stage), **EN))

    assert '<html lang="zh-hans">' in chinese
    assert "<title>投票 · " in chinese
    assert '<html lang="en">' in english
    assert "<title>Vote · " in english
    assert "Vote with your mobile number" in english


@pytest.mark.parametrize("employee_no", ["9999", "1" * 40, "12ab"])
def test_unknown_candidate_is_404(client, setup, employee_no):
    response = client.get(url(setup.stage, employee_no))

    assert response.status_code == 404


def test_a_stage_id_too_big_for_the_database_is_404(client, setup):
    response = client.get(f"/vote/{'9' * 40}/1234/")

    assert response.status_code == 404


def test_draft_campaign_candidates_are_404(client, voting):
    response = client.get(url(voting.stage))

    assert response.status_code == 404


@pytest.mark.parametrize("with_session", [False, True])
def test_vote_page_query_count(client, setup, django_assert_num_queries, with_session):
    if with_session:
        verified_vote(client, setup.stage)

    # The candidate with unit, position, stage and campaign is one query; a voter session
    # adds the session row.
    with django_assert_num_queries(2 if with_session else 1):
        response = client.get(url(setup.stage, "5678"), **EN)

    assert response.status_code == 200
    assert ("You are verified as 138****5678." in text(response)) is with_session


def test_vote_page_and_stylesheets_are_small(client, setup):
    page = client.get(url(setup.stage), **EN).content
    css = sum(
        Path(finders.find(path)).stat().st_size for path in ("css/site.css", "voting/css/vote.css")
    )

    assert len(page) + css < 30 * 1024


def test_closed_stage_shows_no_phone_form_and_sends_no_code(client, setup):
    Stage.objects.filter(pk=setup.stage.pk).update(status=StageStatus.CLOSED)

    page = text(client.get(url(setup.stage), **EN))
    response = ask_for_code(client, setup.stage, **EN)

    assert "Voting for this candidate is not open at the moment." in page
    assert 'name="phone"' not in page
    assert response.status_code == 200
    assert OutboundSms.objects.count() == 0


# The whole flow -----------------------------------------------------------------------------


def test_whole_flow_counts_the_vote_and_shows_remaining_votes_and_receipt(client, setup):
    set_limits(setup.stage, day=3)

    asked = ask_for_code(client, setup.stage, "+86 138 1234 5678", **EN)
    code_page = client.get(asked["Location"], **EN)
    code = latest_code()
    result = enter_code(client, setup.stage, code)

    vote = Vote.objects.get()
    assert asked.status_code == 303
    assert asked["Location"] == url(setup.stage, step="code")
    assert "If this number can receive SMS, a code is on its way." in text(code_page)
    assert "Number: 138****5678" in text(code_page)
    assert 'inputmode="numeric"' in text(code_page)
    assert 'autocomplete="one-time-code"' in text(code_page)
    assert result.status_code == 200
    assert "Your vote counted" in text(result)
    assert "2 votes left today." in text(result)
    assert f'<p class="receipt-code">{vote.receipt_code}</p>' in text(result)
    assert f'href="/vote/receipts/{vote.receipt_code}/"' in text(result)
    assert (vote.contestant, vote.channel, vote.phone_masked) == (
        setup.alice,
        VoteChannel.WEB,
        "138****5678",
    )
    assert client.session[VOTER_SESSION_KEY]
    assert PHONE not in text(result)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize(("day", "remaining"), [(3, 2), (0, None)])
def test_result_page_and_sms_receipt_say_the_same_votes_left(
    client, setup, language, day, remaining
):
    set_limits(setup.stage, day=day)
    ask_for_code(client, setup.stage)

    result = enter_code(client, setup.stage, latest_code(), HTTP_ACCEPT_LANGUAGE=language)

    vote = Vote.objects.get()
    receipt = render_sms(
        SmsTemplate.VOTE_RECEIPT,
        {
            "name": "-",
            "employee_no": "1234",
            "receipt": vote.receipt_code,
            "remaining_today": remaining,
        },
        language,
    )
    with translation.override(language):
        sentence = votes_left_text(remaining)
    assert sentence in text(result)
    assert sentence in receipt


def test_unlimited_stage_says_there_is_no_daily_limit(client, setup):
    result = verified_vote(client, setup.stage)

    assert "There is no daily limit: you may vote again." in text(result)


def test_second_vote_uses_the_voter_session_without_a_new_code(client, setup):
    set_limits(setup.stage, day=3)
    verified_vote(client, setup.stage)

    page = client.get(url(setup.stage, "5678"), **EN)
    result = cast(client, setup.stage, "5678")

    assert "You are verified as 138****5678." in text(page)
    assert 'name="phone"' not in text(page)
    assert "Your vote counted" in text(result)
    assert "1 vote left today." in text(result)
    assert OtpChallenge.objects.count() == 1
    assert sorted(Vote.objects.values_list("contestant__staff_member__employee_no", flat=True)) == [
        "1234",
        "5678",
    ]


def test_another_number_can_be_used_while_a_session_is_open(client, setup):
    verified_vote(client, setup.stage)

    page = client.get(url(setup.stage, "5678") + "?another=1", **EN)

    assert 'name="phone"' in text(page)


def test_expired_voter_session_asks_for_a_new_code(client, setup, frozen_now):
    verified_vote(client, setup.stage)

    with time_machine.travel(frozen_now + dt.timedelta(minutes=31), tick=False):
        page = client.get(url(setup.stage, "5678"), **EN)
        result = cast(client, setup.stage, "5678")

    assert "Your verification has expired. Ask for a new code." in text(page)
    assert 'name="phone"' in text(page)
    assert 'name="phone"' in text(result)
    assert Vote.objects.count() == 1


def test_code_page_without_a_pending_number_goes_back_to_the_vote_page(client, setup):
    response = client.get(url(setup.stage, step="code"))

    assert response.status_code == 302
    assert response["Location"] == url(setup.stage)


def test_tampered_pending_number_cookie_is_ignored(client, setup):
    client.cookies["vote_phone"] = "13900000000:forged:signature"

    response = enter_code(client, setup.stage, "123456")

    assert response.status_code == 303
    assert Vote.objects.count() == 0


def test_resend_within_60_seconds_says_how_long_to_wait_and_sends_nothing_new(client, setup):
    ask_for_code(client, setup.stage)
    RateEvent.objects.update(created_at=F("created_at") - dt.timedelta(seconds=18))

    response = client.post(url(setup.stage, step="resend"))

    assert response.status_code == 200
    assert "请 42 秒后再试。" in text(response)
    assert OtpChallenge.objects.count() == 1
    assert OutboundSms.objects.count() == 1


def test_asking_again_from_the_start_page_within_60_seconds_shows_the_code_page_with_the_wait(
    client, setup
):
    ask_for_code(client, setup.stage)
    RateEvent.objects.update(created_at=F("created_at") - dt.timedelta(seconds=50))

    response = ask_for_code(client, setup.stage, **EN)

    assert response.status_code == 200
    assert "Please try again in 10 seconds." in text(response)
    assert 'name="code"' in response.content.decode()
    assert OutboundSms.objects.count() == 1


def test_resend_after_60_seconds_sends_a_new_code_that_works(client, setup):
    ask_for_code(client, setup.stage)
    RateEvent.objects.update(created_at=F("created_at") - dt.timedelta(seconds=61))

    client.post(url(setup.stage, step="resend"))
    result = enter_code(client, setup.stage, latest_code())

    assert OutboundSms.objects.count() == 2
    assert "Your vote counted" in text(result)


# Refusals -----------------------------------------------------------------------------------


def test_stage_closed_after_the_code_was_sent_is_explained(client, setup):
    ask_for_code(client, setup.stage)
    Stage.objects.filter(pk=setup.stage.pk).update(status=StageStatus.CLOSED)

    result = enter_code(client, setup.stage, latest_code())

    assert "Your vote was not counted" in text(result)
    assert "Voting in this stage is not open." in text(result)
    assert f'href="{url(setup.stage)}"' in text(result)
    assert Vote.objects.count() == 0


def test_limit_reached_is_explained(client, setup):
    set_limits(setup.stage, day=1)
    verified_vote(client, setup.stage)

    result = cast(client, setup.stage, "5678")

    assert "Your vote was not counted" in text(result)
    assert "You have used all 1 of your votes for today. New votes from midnight." in text(result)
    assert Vote.objects.count() == 1


def test_staff_cannot_vote_is_explained_and_opens_no_session(client, setup):
    StaffMemberFactory(phone=PHONE)

    result = verified_vote(client, setup.stage)

    assert "Staff members cannot vote." in text(result)
    assert Vote.objects.count() == 0
    assert VOTER_SESSION_KEY not in client.session


def test_bad_code_is_a_form_error_and_counts_a_try(client, setup):
    ask_for_code(client, setup.stage)
    wrong = "000000" if latest_code() != "000000" else "111111"

    response = enter_code(client, setup.stage, wrong)

    assert response.status_code == 200
    assert "This code is not valid. Check it, or ask for a new code." in text(response)
    assert OtpChallenge.objects.get().attempts == 1
    assert Vote.objects.count() == 0


def test_expired_code_is_a_form_error(client, setup, frozen_now):
    ask_for_code(client, setup.stage)
    code = latest_code()

    with time_machine.travel(frozen_now + dt.timedelta(seconds=OTP_TTL_SECONDS + 1), tick=False):
        if connection.vendor == "postgresql":
            # PostgreSQL's now() is fixed for the test's transaction: age the code instead.
            OtpChallenge.objects.update(expires_at=F("expires_at") - dt.timedelta(seconds=301))
        response = enter_code(client, setup.stage, code)

    assert "This code has expired. Ask for a new code." in text(response)
    assert Vote.objects.count() == 0


def test_code_is_blocked_after_five_wrong_tries_and_a_new_one_comes_at_once(client, setup):
    ask_for_code(client, setup.stage)
    code = latest_code()
    wrong = "000000" if code != "000000" else "111111"

    for _ in range(5):
        enter_code(client, setup.stage, wrong)
    blocked = enter_code(client, setup.stage, code)
    # The database clock stands still: this resend is within the 60 seconds, which a
    # blocked code does not have to wait.
    client.post(url(setup.stage, step="resend"))
    counted = enter_code(client, setup.stage, latest_code())

    assert "This code is not valid. Check it, or ask for a new code." in text(blocked)
    assert OtpChallenge.objects.count() == 2
    assert "Your vote counted" in text(counted)
    assert Vote.objects.count() == 1


def test_refused_vote_leaves_the_code_usable_for_another_candidate(client, setup):
    set_limits(setup.stage, candidate=1)
    VoteFactory(stage=setup.stage, contestant=setup.alice, phone=PHONE)
    ask_for_code(client, setup.stage)
    code = latest_code()

    refused = enter_code(client, setup.stage, code)
    counted = enter_code(client, setup.stage, code, employee_no="5678")

    assert "You have given this candidate all 1 of your votes for them." in text(refused)
    assert "Your vote counted" in text(counted)


# No enumeration, no double votes -----------------------------------------------------------


def test_phone_step_answers_identically_for_known_unknown_and_staff_numbers(client, setup):
    known, unknown, staff = "13812345678", "13900001111", "13700002222"
    VoteFactory(stage=setup.stage, contestant=setup.alice, phone=known)
    StaffMemberFactory(phone=staff)

    answers = [ask_for_code(Client(), setup.stage, phone) for phone in (known, unknown, staff)]

    assert {(r.status_code, r.content, r["Location"]) for r in answers} == {
        (303, b"", url(setup.stage, step="code"))
    }


def test_double_submit_of_the_code_form_votes_once(client, setup):
    ask_for_code(client, setup.stage)
    code, key = latest_code(), str(uuid.uuid4())

    first = enter_code(client, setup.stage, code, key)
    second = enter_code(client, setup.stage, code, key)

    receipt = Vote.objects.get().receipt_code
    assert OtpChallenge.objects.get().attempts == 1
    assert f'<p class="receipt-code">{receipt}</p>' in text(first)
    assert f'<p class="receipt-code">{receipt}</p>' in text(second)


def test_double_submit_of_the_vote_button_votes_once(client, setup):
    verified_vote(client, setup.stage)
    key = str(uuid.uuid4())

    first = cast(client, setup.stage, "5678", key)
    second = cast(client, setup.stage, "5678", key)

    receipt = Vote.objects.get(contestant=setup.bob).receipt_code
    assert Vote.objects.count() == 2
    assert f'<p class="receipt-code">{receipt}</p>' in text(first)
    assert f'<p class="receipt-code">{receipt}</p>' in text(second)


def test_forms_are_csrf_protected(setup):
    client = Client(enforce_csrf_checks=True)

    response = ask_for_code(client, setup.stage)

    assert response.status_code == 403
    assert nothing_written()


# Bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("abc", "Phone number may only contain digits, spaces, + and -."),
        ("1" * 40, "Ensure this value has at most 32 characters (it has 40)."),
        ("13812345678901234567", "This is not a phone number."),
        ("", "Enter your mobile number."),
        ("138\x0012345678", "Null characters are not allowed."),
    ],
)
def test_bad_phone_is_a_form_error_and_writes_nothing(client, setup, phone, message):
    response = ask_for_code(client, setup.stage, phone, **EN)

    assert response.status_code == 200
    assert f'role="alert">{message}</p>' in text(response)
    assert nothing_written()


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("abcdef", "Enter the 6-digit code from the SMS."),
        ("1" * 40, "Ensure this value has at most 32 characters (it has 40)."),
        ("12345", "Enter the 6-digit code from the SMS."),
        ("", "Enter the 6-digit code from the SMS."),
        ("12\x003456", "Null characters are not allowed."),
    ],
)
def test_bad_code_input_is_a_form_error_and_counts_no_try(client, setup, code, message):
    ask_for_code(client, setup.stage)

    response = enter_code(client, setup.stage, code)

    assert response.status_code == 200
    assert f'role="alert">{message}</p>' in text(response)
    assert OtpChallenge.objects.get().attempts == 0
    assert Vote.objects.count() == 0


def test_code_with_spaces_and_full_width_digits_is_read(client, setup):
    ask_for_code(client, setup.stage)
    code = latest_code()
    typed = code[:3] + " " + code[3:].translate(str.maketrans("0123456789", "０１２３４５６７８９"))

    response = enter_code(client, setup.stage, typed)

    assert "Your vote counted" in text(response)


@pytest.mark.parametrize("key", ["not-a-uuid", "", "x" * 100, "\x00"])
def test_bad_idempotency_key_is_a_form_error(client, setup, key):
    verified_vote(client, setup.stage)

    response = cast(client, setup.stage, "5678", key)

    assert response.status_code == 200
    assert "This form is out of date. Please try again." in text(response)
    assert Vote.objects.count() == 1


def test_get_on_post_only_steps_is_405(client, setup):
    assert client.get(url(setup.stage, step="cast")).status_code == 405
    assert client.get(url(setup.stage, step="resend")).status_code == 405


# Receipts -----------------------------------------------------------------------------------


def test_receipt_page_shows_a_counted_vote_without_the_phone(client, setup):
    vote = VoteFactory(
        stage=setup.stage,
        contestant=setup.alice,
        phone=PHONE,
        cast_at=dt.datetime(2026, 5, 1, 4, 30, 15, tzinfo=dt.UTC),
    )

    response = client.get(f"/vote/receipts/{vote.receipt_code}/", **EN)

    page = text(response)
    assert response.status_code == 200
    assert f'<h1 class="receipt-code">{vote.receipt_code}</h1>' in page
    assert ">Counted</span>" in page
    assert f"<dd>{setup.alice.staff_member.name}</dd>" in page
    assert "<dd>1234</dd>" in page
    assert f"<dd>{setup.stage.name}</dd>" in page
    assert "2026-05-01 12:30:15" in page  # Asia/Shanghai
    assert "138****5678" not in page
    assert PHONE not in page


def test_receipt_page_shows_an_invalidated_vote(client, setup):
    vote = VoteFactory(stage=setup.stage, contestant=setup.alice, invalidated=True)

    response = client.get(f"/vote/receipts/{vote.receipt_code.lower()}/", **EN)

    assert vote.status == VoteStatus.INVALIDATED
    assert ">Invalidated</span>" in text(response)
    assert "Same IP block" not in text(response)


@pytest.mark.parametrize("code", ["ABCDEFGHJK", "nope", "x" * 200, "%00"])
def test_unknown_receipt_is_a_friendly_404(client, setup, code):
    response = client.get(f"/vote/receipts/{code}/", **EN)

    assert response.status_code == 404
    assert "There is no vote with this receipt code." in text(response)
    assert 'name="code"' in text(response)


def test_receipt_lookup_goes_to_the_canonical_code(client, setup):
    vote = VoteFactory(stage=setup.stage, contestant=setup.alice, receipt_code="7K3M9Q2XHD")

    response = client.get("/vote/receipts/", {"code": " 7k3m-9q2x-hd "})

    assert response.status_code == 302
    assert response["Location"] == f"/vote/receipts/{vote.receipt_code}/"


@pytest.mark.parametrize("code", ["", "abc", "\x00" * 3])
def test_receipt_lookup_with_a_malformed_code_is_a_form_error(client, setup, code):
    response = client.get("/vote/receipts/", {"code": code}, **EN)

    assert response.status_code == 200
    assert 'class="field-error"' in text(response)


# Short link, poster, candidate page ---------------------------------------------------------


def test_short_link_redirects_to_the_vote_page(client, setup):
    response = client.get(f"/v/{setup.stage.pk}/1234/")

    assert response.status_code == 302
    assert response["Location"] == url(setup.stage)


def test_poster_has_an_inline_svg_qr_code_of_the_short_link(client, setup):
    response = client.get(url(setup.stage, step="poster"), **EN)

    page = text(response)
    assert response.status_code == 200
    assert '<div class="poster-qr"><svg' in page
    assert f"<title>http://testserver/v/{setup.stage.pk}/1234/</title>" in page
    assert setup.alice.staff_member.name in page
    assert "TP 1234" in page


def test_candidate_page_shows_the_vote_button_only_while_the_stage_is_open(client, setup):
    candidate_url = f"/campaigns/{setup.stage.campaign_id}/candidates/1234/"

    open_page = text(client.get(candidate_url))
    Stage.objects.filter(pk=setup.stage.pk).update(status=StageStatus.CLOSED)
    closed_page = text(client.get(candidate_url))

    assert f'href="{url(setup.stage)}">投票</a>' in open_page
    assert url(setup.stage) not in closed_page


# Audience voting ----------------------------------------------------------------------------


def test_audience_host_screen_is_for_staff_only(client, setup):
    response = client.get(f"/vote/live/{setup.stage.pk}/host/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_audience_host_screen_shows_a_qr_code_for_the_chosen_contestant(client, setup):
    client.force_login(UserFactory(is_staff=True))

    first = text(client.get(f"/vote/live/{setup.stage.pk}/host/", **EN))
    chosen = text(client.get(f"/vote/live/{setup.stage.pk}/host/?contestant=5678", **EN))

    assert '<div class="host-qr"><svg' in first
    assert f"<title>http://testserver/vote/live/{setup.stage.pk}/1234/</title>" in first
    assert f"<title>http://testserver/vote/live/{setup.stage.pk}/5678/</title>" in chosen
    assert f"{setup.bob.staff_member.name}</h1>" in chosen


def test_audience_vote_is_cast_with_channel_audience(client, setup):
    client.post(url(setup.stage, live=True), {"phone": PHONE})

    result = enter_code(client, setup.stage, latest_code(), live=True)

    assert "Your vote counted" in text(result)
    assert Vote.objects.get().channel == VoteChannel.AUDIENCE


def test_code_page_is_chinese_by_default(client, setup):
    ask_for_code(client, setup.stage)

    page = text(client.get(url(setup.stage, step="code")))

    assert "如果该号码可以接收短信，验证码正在发送中。" in page
