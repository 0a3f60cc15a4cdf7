"""Guessing one-time codes: one answer for every wrong code whatever the number's state,
and per-IP and per-device limits that lock the guesser before the owner's code is used up.
"""

import datetime as dt
import json
import uuid

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext

from campaigns.choices import CampaignStatus
from campaigns.messaging.models import OutboundSms
from campaigns.models import Campaign
from staff.phones import parse_phone
from tests.race import run_together
from voting.exceptions import BadCodeError, CodeLockedError
from voting.models import OtpChallenge, Vote, WrongCode
from voting.otp.services import purge_otp_records, request_otp, verify_otp

pytestmark = pytest.mark.django_db

VICTIM = "13812345678"
VICTIM_IP = "203.0.113.50"
ATTACKER_IP = "198.51.100.66"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def post(client: Client, url: str, body: dict, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def latest_code(phone: str = VICTIM) -> str:
    message = OutboundSms.objects.filter(phone_hash=parse_phone(phone).hash).latest("pk")
    return message.params["code"]


def wrong(code: str, n: int = 1) -> str:
    return f"{(int(code) + n) % 1_000_000:06d}"


def guess(client: Client, phone: str, code: str, ip: str, user_agent: str = "probe/1"):
    return post(
        client,
        "/api/otp/verify/",
        {"phone": phone, "code": code},
        REMOTE_ADDR=ip,
        HTTP_USER_AGENT=user_agent,
        **EN,
    )


def vote(client: Client, voting, code: str, ip: str = VICTIM_IP):
    body = {"stage": voting.stage.pk, "employee_no": "1234", "phone": VICTIM, "code": code}
    return post(client, "/api/votes/", body, REMOTE_ADDR=ip)


def code_form(code: str) -> dict[str, str]:
    return {"code": code, "idempotency_key": str(uuid.uuid4())}


@pytest.fixture
def limits(settings):
    settings.VOTING_OTP_WRONG_PER_IP = 6
    settings.VOTING_OTP_WRONG_PER_DEVICE = 4
    settings.VOTING_OTP_WRONG_WINDOW_SECONDS = 900
    return settings


# One answer, whatever the number's state -----------------------------------------------------


def test_a_wrong_code_is_answered_alike_for_every_state_of_the_number(client, frozen_now):
    """Never asked, live code, blocked code, expired code, used code: the same answer and
    the same queries (each guess from its own network, so no IP or device limit applies)."""
    blocked, live, expired, used = "13900000001", "13900000002", "13900000003", "13900000004"
    for phone in (blocked, live, expired, used):
        request_otp(phone=phone, ip=None)
    OtpChallenge.objects.filter(phone_hash=parse_phone(blocked).hash).update(attempts=5)
    OtpChallenge.objects.filter(phone_hash=parse_phone(expired).hash).update(
        expires_at=F("created_at")
    )
    verify_otp(phone=used, code=latest_code(used), ip="10.8.0.1")

    answers = []
    for n, phone in enumerate(("13900000000", blocked, live, expired, used)):
        code = "000000" if phone == "13900000000" else wrong(latest_code(phone))
        with CaptureQueriesContext(connection) as queries:
            response = guess(client, phone, code, ip=f"10.{n}.0.1")
        answers.append(
            (
                response.status_code,
                response.content,
                sorted((k, v) for k, v in response.headers.items() if k != "Date"),
                len(queries),
            )
        )

    assert all(answer == answers[0] for answer in answers), answers
    assert answers[0][0] == 400
    assert json.loads(answers[0][1])["code"] == "bad_code"


def test_only_the_right_code_is_told_it_came_too_late(client, frozen_now):
    request_otp(phone=VICTIM, ip=None)
    OtpChallenge.objects.update(expires_at=F("created_at"))

    late = guess(client, VICTIM, latest_code(), ip=VICTIM_IP)
    wrong_late = guess(client, VICTIM, wrong(latest_code()), ip=VICTIM_IP)

    assert (late.status_code, late.json()["code"]) == (400, "code_expired")
    assert late.json()["detail"] == "This code has expired. Ask for a new code."
    assert (wrong_late.status_code, wrong_late.json()["code"]) == (400, "bad_code")
    # The owner entering their own late code is no guess; the wrong one counts.
    assert WrongCode.objects.count() == 1


# The lock costs the attacker ----------------------------------------------------------------


def test_attacker_ip_is_locked_while_the_victim_votes_from_another(client, voting, limits):
    """One IP, a new browser string each time (a new device each time): the IP's limit
    (3) locks it after three wrong codes, before the victim's code is used up."""
    limits.VOTING_OTP_WRONG_PER_IP = 3
    Campaign.objects.filter(pk=voting.stage.campaign_id).update(status=CampaignStatus.RUNNING)
    post(client, "/api/otp/", {"phone": VICTIM}, REMOTE_ADDR=VICTIM_IP)
    code = latest_code()

    answers = [
        guess(client, VICTIM, wrong(code, n + 1), ip=ATTACKER_IP, user_agent=f"ua/{n}")
        for n in range(8)
    ]
    counted = vote(client, voting, code)

    assert [a.json()["code"] for a in answers] == ["bad_code"] * 3 + ["code_locked"] * 5
    locked = answers[3]
    assert locked.status_code == 403
    assert locked.json()["detail"] == (
        "Too many wrong codes were entered from this device or network. "
        "Wait 15 minutes, then try again."
    )
    assert counted.status_code == 201
    assert Vote.objects.count() == 1
    # The attacker's refused tries touched the victim's code not at all.
    assert OtpChallenge.objects.get().attempts == 4
    assert WrongCode.objects.count() == 3


def test_attacker_device_is_locked_before_the_victims_code_is_used_up(client, voting, limits):
    """Four wrong codes from one device (an API client rotating its IP inside one network
    with one browser string) lock it; the victim's code keeps its fifth try and works."""
    Campaign.objects.filter(pk=voting.stage.campaign_id).update(status=CampaignStatus.RUNNING)
    post(client, "/api/otp/", {"phone": VICTIM}, REMOTE_ADDR=VICTIM_IP)
    code = latest_code()

    answers = [
        guess(client, VICTIM, wrong(code, n + 1), ip=f"198.51.100.{n + 1}") for n in range(10)
    ]
    counted = vote(client, voting, code)

    assert [a.json()["code"] for a in answers] == ["bad_code"] * 4 + ["code_locked"] * 6
    assert OtpChallenge.objects.get().attempts == 5  # 4 guesses, then the victim's right code
    assert counted.status_code == 201
    assert Vote.objects.count() == 1


def test_the_victim_gets_a_fresh_code_at_once_after_a_lock_and_votes(client, voting):
    """Guesses from five networks use up the code's 5 tries (no IP or device limit is
    reached); the victim asks again within the 60 seconds and the new code works."""
    Campaign.objects.filter(pk=voting.stage.campaign_id).update(status=CampaignStatus.RUNNING)
    post(client, "/api/otp/", {"phone": VICTIM}, REMOTE_ADDR=VICTIM_IP)
    old = latest_code()
    for n in range(5):
        guess(client, VICTIM, wrong(old, n + 1), ip=f"192.0.{n}.9")
    refused = vote(client, voting, old)

    again = post(client, "/api/otp/", {"phone": VICTIM}, REMOTE_ADDR=VICTIM_IP)
    counted = vote(client, voting, latest_code())

    assert refused.json()["code"] == "bad_code"
    assert again.status_code == 202
    assert OtpChallenge.objects.count() == 2
    assert counted.status_code == 201
    assert Vote.objects.count() == 1


def test_a_live_code_still_waits_the_60_seconds(client, frozen_now):
    post(client, "/api/otp/", {"phone": VICTIM}, REMOTE_ADDR=VICTIM_IP)
    guess(client, VICTIM, wrong(latest_code()), ip=ATTACKER_IP)

    post(client, "/api/otp/", {"phone": VICTIM}, REMOTE_ADDR=VICTIM_IP)

    assert OtpChallenge.objects.count() == 1


def test_web_page_locks_the_device_cookie_not_the_venue(client, voting, limits):
    """Two browsers behind one IP (a venue's Wi-Fi): the one guessing is locked by its
    device cookie; the other, at the same IP, votes."""
    limits.VOTING_OTP_WRONG_PER_IP = 100
    Campaign.objects.filter(pk=voting.stage.campaign_id).update(status=CampaignStatus.RUNNING)
    page = f"/vote/{voting.stage.pk}/1234/"
    attacker, victim = Client(), Client()
    attacker.post(page, {"phone": "13900000009"})
    victim.post(page, {"phone": VICTIM})
    attacker_code = latest_code("13900000009")

    answers = [
        attacker.post(f"{page}code/", code_form(wrong(attacker_code, n + 1)), **EN)
        for n in range(5)
    ]
    own_code = attacker.post(f"{page}code/", code_form(attacker_code), **EN)
    counted = victim.post(f"{page}code/", code_form(latest_code()), **EN)

    assert "This code is not valid." in answers[0].content.decode()
    assert "Too many wrong codes were entered from this device" in answers[4].content.decode()
    assert "Too many wrong codes were entered from this device" in own_code.content.decode()
    assert "Your vote counted" in counted.content.decode()
    assert attacker.cookies["vote_device"].value != victim.cookies["vote_device"].value


# Races and housekeeping ------------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent connections (SQLite serialises)"
)
def test_concurrent_guesses_from_one_ip_all_count_against_it(settings):
    """Twenty guesses at once from one IP at twenty numbers: every one is counted against
    the IP (none lost to the race), so the next is refused."""
    settings.VOTING_OTP_WRONG_PER_IP = 20
    settings.VOTING_OTP_WRONG_PER_DEVICE = 100
    phones = [f"139{n:02d}000000" for n in range(20)]  # 20 blocks: no block limit
    for phone in phones:
        request_otp(phone=phone, ip=None)
    targets = [
        lambda phone=phone, n=n: verify_otp(
            phone=phone, code=wrong(latest_code(phone)), ip=ATTACKER_IP, user_agent=f"ua/{n}"
        )
        for n, phone in enumerate(phones)
    ]

    outcomes = run_together(targets)

    assert sorted(outcomes) == ["bad_code"] * 20
    assert WrongCode.objects.count() == 20
    with pytest.raises(CodeLockedError):
        verify_otp(phone=phones[0], code=latest_code(phones[0]), ip=ATTACKER_IP)
    # The refused try touched no code.
    assert OtpChallenge.objects.filter(phone_hash=parse_phone(phones[0]).hash).get().attempts == 1


def test_purge_deletes_old_wrong_codes(frozen_now):
    for code in ("123456", "123457"):
        with pytest.raises(BadCodeError):
            verify_otp(phone=VICTIM, code=code, ip=ATTACKER_IP)
    WrongCode.objects.filter(pk=WrongCode.objects.order_by("pk").first().pk).update(
        created_at=frozen_now - dt.timedelta(days=2)
    )

    removed = purge_otp_records()

    assert removed["wrong_codes"] == 1
    assert WrongCode.objects.count() == 1
