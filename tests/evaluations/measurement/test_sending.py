"""Queueing due rating invitations into the messaging outbox (fixed clock)."""

import datetime as dt

import pytest
import time_machine

from campaigns.messaging.models import OutboundSms
from campaigns.messaging.templates import render_sms
from evaluations.measurement.choices import InvitationSkipReason, InvitationStatus
from evaluations.measurement.sending import queue_due_invitations, template_key
from evaluations.models import RatingInvitation, RatingOptOut
from staff.phones import parse_phone
from tests.factories.measurement import ServiceTransactionFactory
from tests.factories.staff import StaffMemberFactory

pytestmark = pytest.mark.django_db
MORNING = dt.datetime(2026, 5, 12, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
NIGHT = dt.datetime(2026, 5, 12, 14, 0, tzinfo=dt.UTC)  # 22:00 in Shanghai


def invitation(phone="13812345678", *, due=MORNING, member=None, status=InvitationStatus.SCHEDULED):
    parsed = parse_phone(phone)
    member = member or StaffMemberFactory(name="李娜")
    return RatingInvitation.objects.create(
        service_transaction=ServiceTransactionFactory(staff_member=member, phone=phone),
        staff_member=member,
        phone_hash=parsed.hash,
        phone_masked=parsed.masked,
        phone_e164=parsed.e164 if status == InvitationStatus.SCHEDULED else "",
        status=status,
        created_at=due - dt.timedelta(minutes=30),
        due_at=due,
        sent_at=due if status == InvitationStatus.SENT else None,
    )


def test_due_invitation_is_queued_with_the_language_template():
    row = invitation()

    with time_machine.travel(MORNING, tick=False):
        report = queue_due_invitations()

    assert (report.queued, report.skipped) == (1, 0)
    sms = OutboundSms.objects.get()
    assert (sms.to_e164, sms.template, sms.params, sms.language) == (
        "+8613812345678",
        template_key("zh-hans"),
        {"name": "李娜", "employee_no": row.staff_member.employee_no},
        "zh-hans",
    )
    assert "李娜" in render_sms(sms.template, sms.params, sms.language)
    row.refresh_from_db()
    assert (row.status, row.sent_at, row.phone_e164) == (InvitationStatus.SENT, MORNING, "")


def test_nothing_is_queued_in_quiet_hours_or_before_due():
    invitation(due=NIGHT)
    invitation(phone="13812345679", due=MORNING + dt.timedelta(hours=1))

    with time_machine.travel(NIGHT, tick=False):
        night = queue_due_invitations()
    with time_machine.travel(MORNING, tick=False):
        morning = queue_due_invitations()

    assert (night.queued, morning.queued) == (0, 0)
    assert OutboundSms.objects.count() == 0
    assert RatingInvitation.objects.filter(status=InvitationStatus.SCHEDULED).count() == 2


def test_rules_are_checked_again_when_sending(settings):
    settings.EVALUATIONS_INVITATION_INTERVAL_DAYS = 30
    member = StaffMemberFactory(employee_no="5002")
    opted = invitation("13800000001", member=member)
    RatingOptOut.objects.create(
        phone_hash=opted.phone_hash, phone_masked=opted.phone_masked, created_at=MORNING
    )
    invitation(
        "13800000002",
        member=member,
        due=MORNING - dt.timedelta(days=1),
        status=InvitationStatus.SENT,
    )
    again = invitation("13800000002", member=member)
    first, twin = invitation("13800000003", member=member), invitation("13800000003", member=member)
    stale = invitation("13800000004", member=member, due=MORNING - dt.timedelta(days=3))

    with time_machine.travel(MORNING, tick=False):
        report = queue_due_invitations()

    assert (report.queued, report.skipped) == (1, 4)
    reasons = {
        row.pk: (row.status, row.skip_reason)
        for row in RatingInvitation.objects.filter(
            pk__in=[opted.pk, again.pk, first.pk, twin.pk, stale.pk]
        )
    }
    assert reasons[opted.pk] == (InvitationStatus.SKIPPED, InvitationSkipReason.OPTED_OUT)
    assert reasons[again.pk] == (InvitationStatus.SKIPPED, InvitationSkipReason.RECENTLY_INVITED)
    assert reasons[stale.pk] == (InvitationStatus.SKIPPED, InvitationSkipReason.STALE)
    assert sorted([reasons[first.pk], reasons[twin.pk]]) == [
        (InvitationStatus.SENT, ""),
        (InvitationStatus.SKIPPED, InvitationSkipReason.RECENTLY_INVITED),
    ]
    assert list(OutboundSms.objects.values_list("phone_masked", flat=True)) == ["138****0003"]
    assert (
        RatingInvitation.objects.exclude(status=InvitationStatus.SCHEDULED)
        .exclude(phone_e164="")
        .count()
        == 0
    )
