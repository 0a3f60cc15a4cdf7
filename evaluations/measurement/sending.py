"""Sending rating invitations through the messaging outbox (``campaigns.messaging``).

Planned invitations (``invitations.plan_invitations``) wait, with their destination, until
due. ``queue_due_invitations`` (the beat task every minute) claims the due ones with
``SELECT … FOR UPDATE SKIP LOCKED`` (two workers never take the same row), re-checks the
rules that may have changed since planning (an opt-out, a staff phone, another invitation
sent to the same customer meanwhile), queues one SMS per invitation with one multi-row
INSERT (``queue_sms_bulk``), marks them sent and forgets the destination, all in one
transaction. Inside the quiet hours it sends nothing.

Templates: one registered template per language (``rating_invitation_<language>``), since
each language's text is filed with the gateway for approval as its own template; the
customer's reply language (``reply_languages``) picks it, else ``LANGUAGE_CODE``.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.messaging.selectors import reply_languages
from campaigns.messaging.services import SmsRequest, queue_sms_bulk, wake_sms_sender_on_commit
from campaigns.messaging.templates import register_sms_template
from evaluations.measurement.choices import InvitationSkipReason, InvitationStatus
from evaluations.measurement.invitations import ACTIVE_STATUSES, outside_quiet_hours
from evaluations.models import RatingInvitation, RatingOptOut
from staff.models import StaffMember
from staff.phones import Phone

INVITATION_TEXT = _(
    "[Service Star] Thank you for visiting us. How would you rate %(name)s (No. "
    "%(employee_no)s) who served you? Reply 1-10 (10 is best), a comment may follow. "
    "Reply TD to stop these messages."
)
# Rows claimed per transaction: one multi-row INSERT into the outbox each.
QUEUE_BATCH = 1000
# An invitation not sent within this long of its due time is stale: nobody remembers.
STALE_AFTER = dt.timedelta(days=2)


def template_key(language: str) -> str:
    return f"rating_invitation_{language}"


def register_templates() -> None:
    """One template per configured language (called from ``EvaluationsConfig.ready``)."""
    for code, _name in settings.LANGUAGES:
        register_sms_template(template_key(code), _("Rating invitation"), INVITATION_TEXT)


@dataclass(frozen=True)
class QueueReport:
    queued: int
    skipped: int

    def as_json(self) -> dict[str, int]:
        return {"queued": self.queued, "skipped": self.skipped}


def _skip_reasons(rows: list[RatingInvitation], *, now: dt.datetime) -> dict[int, str]:
    hashes = {row.phone_hash for row in rows}
    opted_out = set(
        RatingOptOut.objects.filter(phone_hash__in=hashes).values_list("phone_hash", flat=True)
    )
    staff_phones = set(
        StaffMember.objects.filter(phone_hash__in=hashes).values_list("phone_hash", flat=True)
    )
    since = now - dt.timedelta(days=settings.EVALUATIONS_INVITATION_INTERVAL_DAYS)
    sent = set(
        RatingInvitation.objects.filter(
            phone_hash__in=hashes, sent_at__gte=since, status__in=ACTIVE_STATUSES
        )
        .exclude(pk__in=[row.pk for row in rows])
        .values_list("phone_hash", flat=True)
    )
    reasons = {}
    for row in rows:
        if row.phone_hash in opted_out:
            reasons[row.pk] = InvitationSkipReason.OPTED_OUT
        elif row.phone_hash in staff_phones:
            reasons[row.pk] = InvitationSkipReason.STAFF_PHONE
        elif row.due_at < now - STALE_AFTER:
            reasons[row.pk] = InvitationSkipReason.STALE
        elif row.phone_hash in sent:
            reasons[row.pk] = InvitationSkipReason.RECENTLY_INVITED
        else:
            sent.add(row.phone_hash)  # one per customer, even within the claimed rows
    return reasons


@transaction.atomic
def queue_due_invitations(*, now: dt.datetime | None = None) -> QueueReport:
    """Queue the SMS of up to ``QUEUE_BATCH`` due invitations; skip the ones whose rules
    no longer hold.

    Locks the claimed invitations (``SKIP LOCKED``), writes outbox rows
    (``queue_sms_bulk``) and the invitations' new status in one transaction, and wakes the
    SMS sender on commit. Sends nothing inside the quiet hours.
    """
    now = now or timezone.now()
    if outside_quiet_hours(now) != now:
        return QueueReport(0, 0)
    rows = list(
        RatingInvitation.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=InvitationStatus.SCHEDULED, due_at__lte=now)
        .select_related("staff_member")
        .order_by("due_at", "pk")[:QUEUE_BATCH]
    )
    if not rows:
        return QueueReport(0, 0)
    reasons = _skip_reasons(rows, now=now)
    languages = reply_languages({row.phone_hash for row in rows})
    requests, sent_ids = [], []
    for row in rows:
        if row.pk in reasons:
            continue
        language = languages.get(row.phone_hash, settings.LANGUAGE_CODE)
        member = row.staff_member
        requests.append(
            SmsRequest(
                phone=Phone(e164=row.phone_e164, hash=row.phone_hash, masked=row.phone_masked),
                template=template_key(language),
                params={"name": member.name, "employee_no": member.employee_no},
                language=language,
            )
        )
        sent_ids.append(row.pk)
    queue_sms_bulk(requests, now=now)
    RatingInvitation.objects.filter(pk__in=sent_ids).update(
        status=InvitationStatus.SENT, sent_at=now, phone_e164=""
    )
    for reason in set(reasons.values()):
        RatingInvitation.objects.filter(
            pk__in=[pk for pk, why in reasons.items() if why == reason]
        ).update(status=InvitationStatus.SKIPPED, skip_reason=reason, phone_e164="")
    if requests:
        wake_sms_sender_on_commit()
    return QueueReport(len(requests), len(reasons))
