"""Rating invitations: which served customers get an SMS asking them to rate, and when.

Rules (settings read at call time):

- due ``EVALUATIONS_INVITATION_DELAY_MINUTES`` after the service, never inside the quiet
  hours ``EVALUATIONS_QUIET_HOURS`` (local time, default 21:00-08:00): an invitation that
  would fall inside them is sent at the end of the quiet hours instead;
- at most one invitation per customer per ``EVALUATIONS_INVITATION_INTERVAL_DAYS`` days;
- never to a customer who opted out (``TD`` / ``退订``), nor to a staff member's phone.

Invitations are planned when the transaction arrives (one row per accepted transaction;
skipped ones keep their reason, so the admin can see why nobody was asked). A scheduled
invitation keeps its destination until it is sent.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from evaluations.measurement.choices import InvitationSkipReason, InvitationStatus
from evaluations.models import RatingInvitation, RatingOptOut
from staff.models import StaffMember
from staff.sql import insert_rows

_COLUMNS = [
    "service_transaction",
    "staff_member",
    "phone_hash",
    "phone_masked",
    "phone_e164",
    "status",
    "skip_reason",
    "created_at",
    "due_at",
]
# Invitations that count towards "one per customer per N days".
ACTIVE_STATUSES = (InvitationStatus.SCHEDULED, InvitationStatus.SENT, InvitationStatus.ANSWERED)


def _clock(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def outside_quiet_hours(moment: dt.datetime) -> dt.datetime:
    """``moment`` itself, or the end of the quiet hours it falls into (aware, same zone).

    The quiet hours may wrap midnight (21:00-08:00) or not (13:00-14:00).
    """
    zone = ZoneInfo(settings.TIME_ZONE)
    start, end = (_clock(text) for text in settings.EVALUATIONS_QUIET_HOURS)
    local = moment.astimezone(zone)
    now_t = local.time()
    wraps = start > end
    quiet = (now_t >= start or now_t < end) if wraps else (start <= now_t < end)
    if not quiet:
        return moment
    day = local.date() + dt.timedelta(days=1) if wraps and now_t >= start else local.date()
    return dt.datetime.combine(day, end, tzinfo=zone).astimezone(moment.tzinfo)


@dataclass(frozen=True)
class Served:
    """An accepted transaction, as invitation planning needs it."""

    transaction_id: int
    staff_member_id: int
    phone_e164: str
    phone_hash: str
    phone_masked: str
    served_at: dt.datetime


def _skip_reasons(served: Sequence[Served], *, now: dt.datetime) -> dict[int, str]:
    hashes = {item.phone_hash for item in served}
    opted_out = set(
        RatingOptOut.objects.filter(phone_hash__in=hashes).values_list("phone_hash", flat=True)
    )
    staff_phones = set(
        StaffMember.objects.filter(phone_hash__in=hashes).values_list("phone_hash", flat=True)
    )
    since = now - dt.timedelta(days=settings.EVALUATIONS_INVITATION_INTERVAL_DAYS)
    invited = set(
        RatingInvitation.objects.filter(
            phone_hash__in=hashes - opted_out - staff_phones,
            created_at__gte=since,
            status__in=ACTIVE_STATUSES,
        ).values_list("phone_hash", flat=True)
    )
    reasons: dict[int, str] = {}
    for item in served:
        if item.phone_hash in opted_out:
            reasons[item.transaction_id] = InvitationSkipReason.OPTED_OUT
        elif item.phone_hash in staff_phones:
            reasons[item.transaction_id] = InvitationSkipReason.STAFF_PHONE
        elif item.phone_hash in invited:
            reasons[item.transaction_id] = InvitationSkipReason.RECENTLY_INVITED
        else:
            invited.add(item.phone_hash)  # the first of a batch is invited, the rest skipped
    return reasons


def plan_invitations(served: Sequence[Served], *, now: dt.datetime) -> int:
    """Create one invitation per accepted transaction: scheduled, or skipped with a reason.

    Three reads (opt-outs, staff phones, recent invitations) and one multi-row INSERT,
    however many transactions; returns how many invitations it wrote. Run inside the ingest's transaction. Two batches for the same new
    customer arriving at the same instant may both schedule one; the sender re-checks the
    interval before it sends (``EVALUATIONS_INVITATION_INTERVAL_DAYS``).
    """
    if not served:
        return 0
    reasons = _skip_reasons(served, now=now)
    delay = dt.timedelta(minutes=settings.EVALUATIONS_INVITATION_DELAY_MINUTES)
    adapt = connection.ops.adapt_datetimefield_value
    created = adapt(now)
    rows = []
    for item in served:
        reason = reasons.get(item.transaction_id, "")
        rows.append(
            [
                item.transaction_id,
                item.staff_member_id,
                item.phone_hash,
                item.phone_masked,
                "" if reason else item.phone_e164,
                InvitationStatus.SKIPPED if reason else InvitationStatus.SCHEDULED,
                reason,
                created,
                adapt(outside_quiet_hours(max(item.served_at + delay, now))),
            ]
        )
    insert_rows(RatingInvitation, _COLUMNS, rows)
    return len(rows)
