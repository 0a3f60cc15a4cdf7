"""The voting API: /api/otp/, /api/otp/verify/, /api/votes/, /api/receipts/<code>/."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.messaging.models import OutboundSms
from campaigns.models import Stage
from staff.phones import parse_phone
from tests.factories.campaigns import ContestantFactory, StageFactory
from tests.factories.staff import StaffMemberFactory
from tests.factories.voting import RateEventFactory, VoteFactory
from tests.voting.conftest import set_limits
from voting.choices import VoteChannel
from voting.ledger.corrections import invalidate_votes
from voting.models import OtpChallenge, RateEvent, Vote, Voter
from voting.otp.services import VoterSession, issue_voter_token, read_voter_token

pytestmark = pytest.mark.django_db

PHONE = "13812345678"


def post(client, url, body, **headers):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **headers)


def latest_code(phone=PHONE):
    return (
        OutboundSms.objects.filter(phone_hash=parse_phone(phone).hash).latest("pk").params["code"]
    )


def nothing_written():
    return [
        Vote.objects.count(),
        OtpChallenge.objects.count(),
        OutboundSms.objects.count(),
        RateEvent.objects.count(),
        Voter.objects.count(),
    ] == [0, 0, 0, 0, 0]


# /api/otp/ ---------------------------------------------------------------------------------


def test_request_otp_answers_202_and_queues_a_code(client, frozen_now):
    response = post(client, "/api/otp/", {"phone": "+86 138 1234 5678"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 202
    assert response.json() == {"detail": "If this number can receive SMS, a code is on its way."}
    assert OutboundSms.objects.get().language == "en"


def test_request_otp_answers_in_chinese_by_default(client, frozen_now):
    response = post(client, "/api/otp/", {"phone": PHONE})

    assert response.status_code == 202
    assert response.json() == {"detail": "如果该号码可以接收短信，验证码正在发送中。"}
    assert OutboundSms.objects.get().language == "zh-hans"


@pytest.mark.parametrize(
    "phone",
    ["abc", "+86", "138123456789", "1381234567", "+86-138-xxxx", "", "1.38001E+10"],
)
def test_request_otp_refuses_malformed_numbers(client, phone):
    response = post(client, "/api/otp/", {"phone": phone}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert response.json()["code"] == "bad_phone"
    assert nothing_written()


@pytest.mark.parametrize(
    "phone", ["0086 138 1234 5678", "8613812345678", "+86-138-1234-5678", "１３８１２３４５６７８"]
)
def test_well_formed_variants_reach_one_voter(client, frozen_now, phone):
    response = post(client, "/api/otp/", {"phone": phone})

    assert response.status_code == 202
    assert OtpChallenge.objects.get().phone_hash == parse_phone(PHONE).hash


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"phone": ["13812345678"]}, "bad_phone"),
        ({"phone": {"n": 1}}, "bad_phone"),
        ({"phone": None}, "bad_phone"),
        ({}, "bad_phone"),
        ({"phone": "1" * 100}, "bad_phone"),
        (["13812345678"], "bad_request"),
        ("13812345678", "bad_request"),
        ("{not json", "parse_error"),
    ],
)
def test_request_otp_bad_shapes_get_a_specific_code(client, body, code):
    response = post(client, "/api/otp/", body)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert set(response.json()) >= {"code", "detail"}
    assert nothing_written()


@pytest.mark.parametrize("with_stage", [False, True])
def test_request_otp_is_enumeration_safe(client, frozen_now, voting, with_stage):
    """Known voter, unknown number, staff number, a voter at their vote limit (without a
    stage: it is told so only when the request names the stage) and a number over its
    hourly code limit: byte-identical answers, same headers, same number of queries."""
    known, unknown, staff, at_limit, code_limited = (
        "13800000001",
        "13800000202",
        "13800000303",
        "13800000404",
        "13800000505",
    )
    # Named in the request, the stage leaves the known voter a vote today.
    set_limits(voting.stage, day=2 if with_stage else 1)
    VoteFactory(stage=voting.stage, contestant=voting.alice, phone=known)
    Voter.objects.create(voter_hash=parse_phone(known).hash)
    StaffMemberFactory(phone=staff)
    VoteFactory(stage=voting.stage, contestant=voting.alice, phone=at_limit)
    for minutes in (5, 10, 20, 30, 40):
        RateEventFactory(phone=code_limited, created_at=frozen_now - dt.timedelta(minutes=minutes))
    phones = (
        (known, unknown, staff, code_limited)
        if with_stage
        else (known, unknown, staff, at_limit, code_limited)
    )
    body = {"stage": voting.stage.pk} if with_stage else {}
    answers = []
    for phone in phones:
        with CaptureQueriesContext(connection) as queries:
            response = post(client, "/api/otp/", {"phone": phone, **body})
        answers.append(
            (
                response.status_code,
                response.content,
                sorted((k, v) for k, v in response.headers.items() if k != "Date"),
                len(queries),
            )
        )

    assert all(answer == answers[0] for answer in answers), answers
    assert answers[0][0] == 202
    assert RateEvent.objects.filter(limit="phone_hour").count() == 1


def test_request_otp_for_a_stage_says_no_votes_left_before_sending(client, frozen_now, voting):
    set_limits(voting.stage, day=1)
    VoteFactory(stage=voting.stage, contestant=voting.alice, phone=PHONE)

    response = post(client, "/api/otp/", {"phone": PHONE, "stage": voting.stage.pk})

    assert response.status_code == 409
    assert response.json() == {
        "code": "limit_reached",
        "detail": "您今天的 1 票已全部投出，零点后可再次投票。",
    }
    assert (
        OtpChallenge.objects.count(),
        OutboundSms.objects.count(),
        RateEvent.objects.count(),
    ) == (
        0,
        0,
        0,
    )


def test_request_otp_for_a_stage_sends_a_code_while_votes_are_left(client, frozen_now, voting):
    set_limits(voting.stage, day=2)
    VoteFactory(stage=voting.stage, contestant=voting.alice, phone=PHONE)

    response = post(client, "/api/otp/", {"phone": PHONE, "stage": voting.stage.pk})

    assert response.status_code == 202
    assert OutboundSms.objects.filter(phone_hash=parse_phone(PHONE).hash).count() == 1


def test_request_otp_for_an_unknown_stage_is_404(client, frozen_now):
    response = post(client, "/api/otp/", {"phone": PHONE, "stage": 987654})

    assert response.status_code == 404
    assert response.json()["code"] == "unknown_stage"
    assert nothing_written()


def test_request_otp_again_within_60_seconds_says_how_long_to_wait(client, frozen_now):
    RateEventFactory(phone=PHONE, created_at=frozen_now - dt.timedelta(seconds=18))

    response = post(client, "/api/otp/", {"phone": PHONE})

    assert response.status_code == 429
    assert response.json() == {
        "code": "resend_too_soon",
        "detail": "请 42 秒后再试。",
        "retry_after": 42,
    }
    assert response.headers["Retry-After"] == "42"
    assert (
        OtpChallenge.objects.count(),
        OutboundSms.objects.count(),
        RateEvent.objects.count(),
    ) == (
        0,
        0,
        1,
    )


def test_twenty_wrong_codes_from_twenty_networks_still_block_the_code(client, frozen_now):
    post(client, "/api/otp/", {"phone": PHONE})
    code = latest_code()
    codes = []
    for n in range(20):
        guess = f"{(int(code) + n + 1) % 1_000_000:06d}"
        response = post(
            client,
            "/api/otp/verify/",
            {"phone": PHONE, "code": guess},
            REMOTE_ADDR=f"198.51.{n}.1",
        )
        codes.append(response.json()["code"])

    right = post(
        client, "/api/otp/verify/", {"phone": PHONE, "code": code}, REMOTE_ADDR="192.0.2.1"
    )

    # No IP or device reached its limit, but the code's own 5 tries are used up; a blocked
    # code answers like any wrong code.
    assert codes == ["bad_code"] * 20
    assert right.status_code == 400
    assert right.json()["code"] == "bad_code"
    assert OtpChallenge.objects.get().attempts == 5


def test_per_ip_cap_trips_for_one_ip_asking_for_many_phones(client, frozen_now):
    for n in range(25):
        post(client, "/api/otp/", {"phone": f"138{n:04d}5678"}, REMOTE_ADDR="203.0.113.9")

    assert OutboundSms.objects.count() == 20
    assert RateEvent.objects.filter(limit="ip_hour").count() == 5


def test_verify_otp_returns_a_voter_token(client, frozen_now, settings):
    post(client, "/api/otp/", {"phone": PHONE})

    response = post(client, "/api/otp/verify/", {"phone": PHONE, "code": latest_code()})

    body = response.json()
    assert response.status_code == 200
    assert (body["phone_masked"], body["expires_in"]) == ("138****5678", 1800)
    assert read_voter_token(body["voter_token"]) == VoterSession(
        voter_hash=parse_phone(PHONE).hash, phone_masked="138****5678"
    )


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", 123456, None, ["123456"]])
def test_verify_otp_refuses_malformed_codes_without_counting_a_try(client, frozen_now, code):
    post(client, "/api/otp/", {"phone": PHONE})

    response = post(client, "/api/otp/verify/", {"phone": PHONE, "code": code})

    assert response.status_code == 400
    assert response.json()["code"] == "bad_code"
    assert OtpChallenge.objects.get().attempts == 0


# /api/votes/ -------------------------------------------------------------------------------


def vote_body(voting, **overrides):
    body = {"stage": voting.stage.pk, "employee_no": "1234", "phone": PHONE}
    body.update(overrides)
    return body


def test_vote_with_phone_and_code(client, voting):
    post(client, "/api/otp/", {"phone": PHONE})
    set_limits(voting.stage, day=3, stage_total=10)

    response = post(client, "/api/votes/", vote_body(voting, code=latest_code()))

    body = response.json()
    vote = Vote.objects.get()
    assert response.status_code == 201
    assert body["vote_id"] == vote.pk
    assert body["receipt_code"] == vote.receipt_code
    assert (body["remaining_today"], body["remaining_stage"], body["phone_masked"]) == (
        2,
        9,
        "138****5678",
    )
    assert vote.channel == VoteChannel.WEB
    assert vote.ip_hash != ""


def test_vote_again_with_the_voter_token(client, voting):
    post(client, "/api/otp/", {"phone": PHONE})
    first = post(client, "/api/votes/", vote_body(voting, code=latest_code())).json()

    response = post(
        client,
        "/api/votes/",
        {"stage": voting.stage.pk, "employee_no": 5678, "voter_token": first["voter_token"]},
    )

    assert response.status_code == 201
    assert sorted(Vote.objects.values_list("contestant__staff_member__employee_no", flat=True)) == [
        "1234",
        "5678",
    ]


def test_idempotency_key_repeats_the_first_answer(client, voting):
    post(client, "/api/otp/", {"phone": PHONE})
    body = vote_body(voting, code=latest_code())

    first = post(client, "/api/votes/", body, HTTP_IDEMPOTENCY_KEY="a1b2c3")
    second = post(client, "/api/votes/", body, HTTP_IDEMPOTENCY_KEY="a1b2c3")

    keys = ("vote_id", "receipt_code", "remaining_today", "remaining_stage", "phone_masked")
    assert (first.status_code, second.status_code) == (201, 201)
    assert [first.json()[k] for k in keys] == [second.json()[k] for k in keys]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert Vote.objects.count() == 1


def test_bad_idempotency_key_is_refused(client, voting):
    response = post(
        client, "/api/votes/", vote_body(voting, code="123456"), HTTP_IDEMPOTENCY_KEY="x" * 65
    )

    assert response.json()["code"] == "bad_idempotency_key"
    assert nothing_written()


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"employee_no": "9" * 40}, "bad_employee_no"),
        ({"employee_no": 9 * 10**39}, "bad_employee_no"),
        ({"employee_no": -1234}, "bad_employee_no"),
        ({"employee_no": 1234.0}, "bad_employee_no"),
        ({"employee_no": [1234]}, "bad_employee_no"),
        ({"employee_no": {"no": 1234}}, "bad_employee_no"),
        ({"employee_no": None}, "bad_employee_no"),
        ({"employee_no": True}, "bad_employee_no"),
        ({"employee_no": "12 34"}, "bad_employee_no"),
        ({"stage": "abc"}, "bad_stage"),
        ({"stage": 1.5}, "bad_stage"),
        ({"stage": -1}, "bad_stage"),
        ({"stage": 0}, "bad_stage"),
        ({"stage": 2**70}, "bad_stage"),
        ({"stage": None}, "bad_stage"),
        ({"stage": [1]}, "bad_stage"),
        ({"stage": True}, "bad_stage"),
        ({"phone": None}, "bad_phone"),
        ({"phone": ["138"]}, "bad_phone"),
        ({"code": "12ab56"}, "bad_code"),
        ({"code": None}, "bad_code"),
        ({"channel": "sms"}, "bad_channel"),
    ],
)
def test_vote_bad_inputs_get_a_specific_code_before_any_query(
    client, voting, overrides, code, django_assert_num_queries
):
    body = vote_body(voting, **{"code": "123456", **overrides})

    with django_assert_num_queries(0):
        response = post(client, "/api/votes/", body)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert nothing_written()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{oops", "parse_error"),
        ("[1, 2]", "bad_request"),
        ("null", "bad_request"),
        ("12", "bad_request"),
    ],
)
def test_vote_non_object_bodies_are_refused(client, body, code):
    response = post(client, "/api/votes/", body)

    assert response.status_code == 400
    assert response.json()["code"] == code


def test_vote_without_code_or_token_is_refused(client, voting):
    response = post(
        client, "/api/votes/", {"stage": voting.stage.pk, "employee_no": "1234", "phone": PHONE}
    )

    assert response.json()["code"] == "bad_code"


def test_vote_for_a_contestant_of_another_campaigns_stage_is_unknown_candidate(client, voting):
    other = StageFactory(open=True)
    ContestantFactory(stage=other, staff_member=StaffMemberFactory(employee_no="4321"))
    post(client, "/api/otp/", {"phone": PHONE})

    response = post(
        client, "/api/votes/", vote_body(voting, employee_no="4321", code=latest_code())
    )

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_candidate"
    assert Vote.objects.count() == 0
    assert OtpChallenge.objects.get().used_at is None


@pytest.mark.parametrize(
    ("arrange", "status", "code"),
    [
        (
            lambda v: Stage.objects.filter(pk=v.stage.pk).update(status="closed"),
            409,
            "stage_closed",
        ),
        (lambda v: StaffMemberFactory(phone=PHONE), 403, "staff_cannot_vote"),
        (
            lambda v: (
                set_limits(v.stage, day=1),
                VoteFactory(stage=v.stage, contestant=v.bob, phone=PHONE),
            ),
            409,
            "limit_reached",
        ),
    ],
    ids=["stage_closed", "staff", "limit"],
)
def test_vote_refusals_use_the_contract_codes(client, voting, arrange, status, code):
    arrange(voting)
    post(client, "/api/otp/", {"phone": PHONE})

    response = post(
        client, "/api/votes/", vote_body(voting, code=latest_code()), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == status
    assert response.json()["code"] == code
    assert (
        Vote.objects.filter(voter_hash=parse_phone(PHONE).hash, contestant=voting.alice).count()
        == 0
    )


def test_unknown_stage_is_404(client, voting):
    post(client, "/api/otp/", {"phone": PHONE})

    response = post(client, "/api/votes/", vote_body(voting, stage=999_999, code=latest_code()))

    assert (response.status_code, response.json()["code"]) == (404, "unknown_stage")


def test_expired_voter_token_is_401(client, voting, settings):
    settings.VOTING_SESSION_MAX_AGE = -1
    token = issue_voter_token(VoterSession(voter_hash="a" * 64, phone_masked="138****5678"))

    response = post(
        client,
        "/api/votes/",
        {"stage": voting.stage.pk, "employee_no": "1234", "voter_token": token},
    )

    assert (response.status_code, response.json()["code"]) == (401, "session_expired")


def test_votes_throttle_is_a_courtesy_with_retry_after(client, voting, settings):
    settings.VOTING_API_THROTTLE_RATES = {"otp": "2/min", "votes": "1/min", "receipts": "1/min"}
    phones = ("13812345671", "13812345672", "13812345673")
    responses = [post(client, "/api/otp/", {"phone": phone}) for phone in phones]

    assert [r.status_code for r in responses] == [202, 202, 429]
    assert responses[2].json()["code"] == "rate_limited"
    assert int(responses[2].headers["Retry-After"]) > 0


# /api/receipts/<code>/ ---------------------------------------------------------------------


def test_receipt_shows_the_vote_without_the_phone(client, voting):
    vote = VoteFactory(
        stage=voting.stage, contestant=voting.alice, phone=PHONE, receipt_code="0123456789"
    )

    response = client.get("/api/receipts/o123-456-789/")

    body = response.json()
    assert response.status_code == 200
    assert body["receipt_code"] == "0123456789"
    assert body["status"] == "counted"
    assert body["candidate"] == {
        "name": voting.alice.staff_member.name,
        "employee_no": "1234",
        "vote_code": "1234",
    }
    assert body["stage"] == {
        "id": voting.stage.pk,
        "name": voting.stage.name,
        "campaign": voting.stage.campaign.name,
    }
    assert set(body) == {"receipt_code", "status", "channel", "cast_at", "stage", "candidate"}
    assert "****" not in response.content.decode()
    assert vote.phone_masked == "138****5678"


def test_receipt_of_an_invalidated_vote(client, voting):
    vote = VoteFactory(stage=voting.stage, contestant=voting.alice)
    invalidate_votes([vote.pk], actor=None, reason="Fraud ring")

    response = client.get(f"/api/receipts/{vote.receipt_code.lower()}/")

    assert response.json()["status"] == "invalidated"


@pytest.mark.parametrize("code", ["NOSUCHCODE", "x", "0" * 11, "%00"])
def test_unknown_receipt_is_404(client, code):
    response = client.get(f"/api/receipts/{code}/")

    assert (response.status_code, response.json()["code"]) == (404, "unknown_receipt")


def test_schema_lists_the_voting_endpoints(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    paths = response.json()["paths"]
    assert {"/api/otp/", "/api/otp/verify/", "/api/votes/", "/api/receipts/{code}/"} <= set(paths)


@pytest.mark.parametrize(
    ("weights", "channel", "detail"),
    [
        ({"satisfaction": "0.6", "sms_votes": "0.4"}, "web", "本阶段不计网页投票。"),
        ({"web_votes": "0.5", "sms_votes": "0.5"}, "audience", "本阶段不计现场观众投票。"),
    ],
)
def test_a_vote_by_a_channel_the_stage_does_not_weight_is_channel_not_used(
    client, voting, weights, channel, detail
):
    Stage.objects.filter(pk=voting.stage.pk).update(weights=weights)
    token = issue_voter_token(VoterSession(voter_hash="a" * 64, phone_masked="138****5678"))

    response = post(
        client,
        "/api/votes/",
        {"stage": voting.stage.pk, "employee_no": "1234", "voter_token": token, "channel": channel},
    )

    assert response.status_code == 409
    assert response.json() == {"code": "channel_not_used", "detail": detail}
    assert Vote.objects.count() == 0


def test_a_vote_with_a_code_by_an_unweighted_channel_leaves_the_code_usable(client, voting):
    Stage.objects.filter(pk=voting.stage.pk).update(weights={"sms_votes": "1"})
    post(client, "/api/otp/", {"phone": PHONE})

    response = post(
        client,
        "/api/votes/",
        {"stage": voting.stage.pk, "employee_no": "1234", "phone": PHONE, "code": latest_code()},
    )

    assert (response.status_code, response.json()["code"]) == (409, "channel_not_used")
    assert OtpChallenge.objects.get().used_at is None
    assert Vote.objects.count() == 0
