"""Reconciling outbound SMS of unknown outcome: the service, the outbox's admin action and
``manage.py sms_reconcile``. Each records sent or failed with a reason and an audit event,
touches only messages still ``unknown``, and sends nothing."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import CommandError, call_command
from django.urls import reverse

from campaigns.messaging.choices import SmsAuditAction, SmsStatus
from campaigns.messaging.models import OutboundSms
from campaigns.messaging.services import reconcile_sms
from staff.audit import ReasonError
from staff.models import AuditEvent
from tests.factories.messaging import OutboundSmsFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:campaigns_outboundsms_changelist")


def unknown(**fields) -> OutboundSms:
    return OutboundSmsFactory(
        status=SmsStatus.UNKNOWN, to_e164="", last_error="no answer from Aliyun", **fields
    )


@pytest.fixture
def hr_user(client, migrated_groups) -> User:
    """A newcomer's HR login: the HR admins group of the data migration, nothing more."""
    user = User.objects.create_user("hr-new", password="pw-12345678", is_staff=True)
    user.groups.add(Group.objects.get(name="HR admins"))
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return user


def audit_rows() -> list[tuple]:
    return list(
        AuditEvent.objects.filter(action=SmsAuditAction.RECONCILED)
        .order_by("target_id")
        .values_list("target_id", "actor__username", "reason", "data")
    )


def test_reconcile_as_sent_records_the_gateway_id_and_an_audit_event(admin_user):
    first, second = unknown(), unknown()
    settled = OutboundSmsFactory(status=SmsStatus.FAILED, to_e164="")

    done = reconcile_sms(
        [first.pk, second.pk, settled.pk],
        outcome=SmsStatus.SENT,
        actor=admin_user,
        reason="Aliyun console lists both OutIds as delivered",
        provider_message_id="900^1",
    )

    assert done == 2
    rows = OutboundSms.objects.order_by("pk")
    assert [(r.status, r.provider_message_id, r.last_error) for r in rows] == [
        (SmsStatus.SENT, "900^1", ""),
        (SmsStatus.SENT, "900^1", ""),
        (SmsStatus.FAILED, "", ""),
    ]
    assert all(r.sent_at is not None for r in rows[:2])
    data = {"from": "unknown", "to": "sent", "provider_message_id": "900^1"}
    why = "Aliyun console lists both OutIds as delivered"
    assert audit_rows() == [
        (str(first.pk), admin_user.username, why, data),
        (str(second.pk), admin_user.username, why, data),
    ]


def test_reconcile_as_failed_keeps_the_last_error(admin_user):
    row = unknown()

    reconcile_sms([row.pk], outcome=SmsStatus.FAILED, actor=admin_user, reason="no record")

    row.refresh_from_db()
    assert (row.status, row.last_error, row.sent_at) == (
        SmsStatus.FAILED,
        "no answer from Aliyun",
        None,
    )
    assert [event[3]["to"] for event in audit_rows()] == ["failed"]


@pytest.mark.parametrize(
    ("outcome", "reason", "error"),
    [("sent", "  ", ReasonError), ("pending", "checked", Exception), ("unknown", "x", Exception)],
    ids=["no-reason", "pending", "unknown"],
)
def test_a_bad_reconciliation_changes_nothing(admin_user, outcome, reason, error):
    row = unknown()

    with pytest.raises(error) as raised:
        reconcile_sms([row.pk], outcome=outcome, actor=admin_user, reason=reason)

    assert raised.value.code in {"reason_required", "bad_outcome"}
    row.refresh_from_db()
    assert row.status == SmsStatus.UNKNOWN
    assert audit_rows() == []


# the admin action ---------------------------------------------------------------------------


def test_hr_reconciles_from_the_outbox_through_a_confirmation_page(client, hr_user):
    row, sent = unknown(), OutboundSmsFactory(status=SmsStatus.SENT, to_e164="")
    selection = {"action": "reconcile_selected", "_selected_action": [row.pk, sent.pk]}

    page = client.post(CHANGELIST, selection)
    missing_reason = client.post(CHANGELIST, {**selection, "confirm": "yes", "outcome": "sent"})
    done = client.post(
        CHANGELIST,
        {**selection, "confirm": "yes", "outcome": "sent", "reason": "seen in the console"},
        follow=True,
    )

    assert page.status_code == 200
    assert "Reconcile messages of unknown outcome" in page.text
    assert f"<td>{row.pk}</td>" in page.text
    assert f"<td>{sent.pk}</td>" not in page.text
    assert "This field is required." in missing_reason.text
    assert "1 messages reconciled." in done.text
    row.refresh_from_db()
    assert row.status == SmsStatus.SENT
    assert audit_rows() == [
        (
            str(row.pk),
            "hr-new",
            "seen in the console",
            {"from": "unknown", "to": "sent", "provider_message_id": ""},
        )
    ]


def test_the_action_needs_the_change_permission(client):
    viewer = User.objects.create_user("viewer", password="pw-12345678", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboundsms"))
    client.force_login(viewer)
    row = unknown()

    listing = client.get(CHANGELIST)
    attempt = client.post(
        CHANGELIST,
        {
            "action": "reconcile_selected",
            "_selected_action": [row.pk],
            "confirm": "yes",
            "outcome": "sent",
            "reason": "x",
        },
    )

    assert listing.status_code == 200
    assert "reconcile_selected" not in listing.text
    assert attempt.status_code in {200, 302}
    row.refresh_from_db()
    assert row.status == SmsStatus.UNKNOWN
    assert audit_rows() == []


def test_selecting_no_unknown_message_says_so(client, hr_user):
    sent = OutboundSmsFactory(status=SmsStatus.SENT, to_e164="")

    response = client.post(
        CHANGELIST, {"action": "reconcile_selected", "_selected_action": [sent.pk]}, follow=True
    )

    assert "None of the selected messages has an unknown outcome." in response.text


# manage.py sms_reconcile ----------------------------------------------------------------------


def test_the_command_lists_then_reconciles_under_the_named_admin(admin_user, capsys):
    row = unknown()

    call_command("sms_reconcile")
    listed = capsys.readouterr().out
    call_command(
        "sms_reconcile",
        "--failed",
        str(row.pk),
        str(row.pk + 1000),
        "--reason",
        "no record in the console",
        "--actor",
        admin_user.username,
    )
    reconciled = capsys.readouterr().out
    call_command("sms_reconcile")

    assert f"#{row.pk} " in listed
    assert "135****0000" in listed
    assert "no answer from Aliyun" in listed
    assert "1 messages reconciled." in reconciled
    assert "1 of the ids had no unknown outcome" in reconciled
    assert capsys.readouterr().out == "No message has an unknown outcome.\n"
    assert audit_rows()[0][1:3] == (admin_user.username, "no record in the console")


@pytest.mark.parametrize(
    "args",
    [
        ["--sent", "1", "--reason", "x", "--actor", "nobody"],
        ["--sent", "1", "--actor", "admin"],
        ["--sent", "1", "2", "--reason", "x", "--gateway-id", "9", "--actor", "admin"],
    ],
    ids=["unknown-actor", "no-reason", "gateway-id-for-two"],
)
def test_the_command_refuses_without_changing_anything(admin_user, args):
    row = unknown()
    names = {"1": str(row.pk), "admin": admin_user.username}
    args = [names.get(a, a) for a in args]

    with pytest.raises(CommandError):
        call_command("sms_reconcile", *args)

    row.refresh_from_db()
    assert row.status == SmsStatus.UNKNOWN
    assert audit_rows() == []
