"""Rating replies: the parser table, and the handler through the inbound router."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from hypothesis import given
from hypothesis import strategies as st

from campaigns.clock import db_now
from campaigns.messaging.inbound.router import InboundMessage, route_sms_batch
from campaigns.messaging.inbound.text import normalize_sms
from campaigns.messaging.models import InboundSms
from evaluations.measurement.choices import InvitationStatus
from evaluations.measurement.replies import ParsedReply, parse_rating_reply
from evaluations.models import Rating, RatingInvitation, RatingOptOut
from staff.phones import parse_phone
from tests.factories.campaigns import ContestantFactory, StageFactory
from tests.factories.measurement import ServiceTransactionFactory
from tests.factories.staff import StaffMemberFactory

CUSTOMER = "13812345678"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", ParsedReply("rating", 1)),
        ("10", ParsedReply("rating", 10)),
        ("9", ParsedReply("rating", 9)),
        (" 8 ", ParsedReply("rating", 8)),
        ("１０", ParsedReply("rating", 10)),
        ("１", ParsedReply("rating", 1)),
        ("10分", ParsedReply("rating", 10)),
        ("9 分", ParsedReply("rating", 9)),
        ("7 queue was long", ParsedReply("rating", 7, "queue was long")),
        ("7，等太久了", ParsedReply("rating", 7, "等太久了")),
        ("8。服务很好", ParsedReply("rating", 8, "服务很好")),
        ("10! great", ParsedReply("rating", 10, "great")),
        ("9-nice", ParsedReply("rating", 9, "nice")),
        ("满意", ParsedReply("rating", 10)),
        ("非常满意", ParsedReply("rating", 10)),
        ("很满意 谢谢", ParsedReply("rating", 10, "谢谢")),
        ("一般", ParsedReply("rating", 6)),
        ("基本满意", ParsedReply("rating", 6)),
        ("不满意", ParsedReply("rating", 2)),
        ("不满意，态度差", ParsedReply("rating", 2, "态度差")),
        ("非常不满意", ParsedReply("rating", 2)),
        ("td", ParsedReply("opt_out")),
        ("TD", ParsedReply("opt_out")),
        ("ｔｄ", ParsedReply("opt_out")),
        ("退订", ParsedReply("opt_out")),
        ("退订。", ParsedReply("opt_out")),
        ("0", None),
        ("11", None),
        ("100", None),
        ("7.5", None),
        ("-3", None),
        ("", None),
        ("   ", None),
        ("tp 1234", None),
        ("投票 1234", None),
        ("١٠", None),
        ("十", None),
        ("👍", None),
        ("td please", None),
        ("'; drop table evaluations_rating;--", None),
        ("好", None),
    ],
)
def test_parse_rating_reply_table(text, expected):
    assert parse_rating_reply(normalize_sms(text)) == expected


@given(st.text(max_size=60))
def test_parse_rating_reply_never_crashes_and_scores_stay_in_range(text):
    parsed = parse_rating_reply(normalize_sms(text))

    assert parsed is None or parsed.kind == "opt_out" or 1 <= parsed.score <= 10


@given(st.integers(1, 10), st.text(alphabet="abc 好评", max_size=20))
def test_parse_rating_reply_reads_every_score_with_comment(score, comment):
    parsed = parse_rating_reply(normalize_sms(f"{score} {comment}"))

    assert (parsed.kind, parsed.score) == ("rating", score)


@pytest.fixture
def invited(db):
    """An invitation sent to CUSTOMER an hour ago (by the database clock)."""
    now = db_now()
    member = StaffMemberFactory(employee_no="3001")
    phone = parse_phone(CUSTOMER)
    tx = ServiceTransactionFactory(
        staff_member=member, phone=CUSTOMER, served_at=now - dt.timedelta(hours=2)
    )
    return RatingInvitation.objects.create(
        service_transaction=tx,
        staff_member=member,
        phone_hash=phone.hash,
        phone_masked=phone.masked,
        status=InvitationStatus.SENT,
        created_at=now,
        due_at=now - dt.timedelta(hours=1),
        sent_at=now - dt.timedelta(hours=1),
    )


def sms(id, text, sender=CUSTOMER):
    return InboundMessage(id=id, sender=sender, text=text, to="10690000")


def outcomes(results):
    return [(result.status, result.code) for result in results]


pytestmark = pytest.mark.django_db


def test_reply_becomes_rating_of_latest_open_invitation(invited):
    results = route_sms_batch([sms("r1", "９，排队快")], provider="generic")

    assert outcomes(results) == [("evaluation", "")]
    rating = Rating.objects.get()
    assert (
        rating.invitation,
        rating.staff_member_id,
        rating.unit_id,
        rating.score,
        rating.comment,
    ) == (invited, invited.staff_member_id, invited.service_transaction.unit_id, 9, "排队快")
    invited.refresh_from_db()
    assert invited.status == InvitationStatus.ANSWERED
    assert "9" in results[0].reply


def test_second_reply_is_late_and_changes_nothing(invited):
    route_sms_batch([sms("r1", "10")], provider="generic")

    results = route_sms_batch([sms("r2", "3"), sms("r3", "2")], provider="generic")

    assert outcomes(results) == [("refused", "rating_late"), ("refused", "rating_late")]
    assert list(Rating.objects.values_list("score", flat=True)) == [10]


def test_two_replies_in_one_batch_rate_once(invited):
    results = route_sms_batch([sms("r1", "8"), sms("r2", "9")], provider="generic")

    assert outcomes(results) == [("evaluation", ""), ("refused", "rating_late")]
    assert list(Rating.objects.values_list("score", flat=True)) == [8]


def test_reply_after_the_window_is_late(invited):
    RatingInvitation.objects.filter(pk=invited.pk).update(
        sent_at=db_now() - dt.timedelta(hours=48, seconds=1)
    )

    results = route_sms_batch([sms("r1", "10")], provider="generic")

    assert outcomes(results) == [("refused", "rating_late")]
    assert Rating.objects.count() == 0


def test_reply_just_inside_the_window_counts(invited):
    RatingInvitation.objects.filter(pk=invited.pk).update(
        sent_at=db_now() - dt.timedelta(hours=47, minutes=59)
    )

    results = route_sms_batch([sms("r1", "10")], provider="generic")

    assert outcomes(results) == [("evaluation", "")]


def test_reply_without_invitation_is_unmatched(db):
    results = route_sms_batch([sms("r1", "10")], provider="generic")

    assert outcomes(results) == [("refused", "rating_unmatched")]
    assert Rating.objects.count() == 0


def test_unreadable_reply_with_open_invitation_gets_polite_answer(invited):
    results = route_sms_batch([sms("r1", "好的好的")], provider="generic")

    assert outcomes(results) == [("refused", "rating_unreadable")]
    invited.refresh_from_db()
    assert invited.status == InvitationStatus.SENT


def test_junk_without_invitation_gets_help(db):
    results = route_sms_batch([sms("r1", "hello")], provider="generic")

    assert outcomes(results) == [("help", "")]


def test_opt_out_is_kept_as_hash_and_cancels_scheduled(invited):
    now = db_now()
    scheduled = RatingInvitation.objects.create(
        service_transaction=ServiceTransactionFactory(phone=CUSTOMER),
        staff_member=invited.staff_member,
        phone_hash=invited.phone_hash,
        phone_masked=invited.phone_masked,
        phone_e164="+8613812345678",
        created_at=now,
        due_at=now + dt.timedelta(minutes=10),
    )

    results = route_sms_batch([sms("r1", "退订"), sms("r2", "TD")], provider="generic")

    assert outcomes(results) == [("evaluation", ""), ("evaluation", "")]
    assert list(RatingOptOut.objects.values_list("phone_hash", "phone_masked")) == [
        (invited.phone_hash, "138****5678")
    ]
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.skip_reason, scheduled.phone_e164) == (
        InvitationStatus.SKIPPED,
        "opted_out",
        "",
    )


def test_a_vote_keyword_stays_a_vote(invited):
    stage = StageFactory(open=True, opens_at=db_now() - dt.timedelta(hours=1))
    ContestantFactory(stage=stage, staff_member=StaffMemberFactory(employee_no="1234"))

    results = route_sms_batch([sms("v1", "TP 1234")], provider="generic")

    assert outcomes(results) == [("counted", "")]
    assert Rating.objects.count() == 0
    invited.refresh_from_db()
    assert invited.status == InvitationStatus.SENT


def test_a_number_in_a_rating_comment_is_masked_before_it_is_stored(invited):
    results = route_sms_batch([sms("r1", "9 很好，有事打 +86 139-0000-1234")], provider="generic")

    assert outcomes(results) == [("evaluation", "")]
    rating = Rating.objects.get()
    assert (rating.score, rating.comment) == (9, "很好,有事打 +86 139****1234")  # NFKC
    assert InboundSms.objects.get().text == "9 很好，有事打 +86 139****1234"


def test_comments_stored_in_clear_before_are_masked_by_the_data_migration(invited):
    migration = importlib.import_module(
        "evaluations.migrations.0004_mask_numbers_in_rating_comments"
    )
    route_sms_batch([sms("r1", "9 很好")], provider="generic")
    Rating.objects.update(comment="很好 电话 139-1234-5678")

    migration.mask_rating_comments(apps, None)

    assert Rating.objects.get().comment == "很好 电话 139****5678"
