"""Transactions reported by business systems (``POST /api/transactions/``).

A batch of up to 1,000 items is checked item by item (bad items are *rejected* with a code,
the others still go in) and written set-based: one staff lookup, one ``INSERT … ON
CONFLICT DO NOTHING RETURNING`` on ``(system, id)`` (the rows it returns are this
request's; each row also carries the request's ``batch_id``), and the invitation plan. An id seen before, in an earlier
batch, a concurrent one or earlier in the same batch, is a *duplicate*: the unique key
referees, so two identical batches posted at once insert each row exactly once.

Item codes: ``bad_id``, ``unknown_staff``, ``bad_phone``, ``bad_channel``,
``bad_served_at``, ``served_in_future``.
"""

import datetime as dt
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from evaluations.measurement.choices import TransactionChannel, TransactionResult
from evaluations.measurement.invitations import Served, plan_invitations
from evaluations.models import ServiceTransaction, TransactionApiKey
from staff.exceptions import InvalidPhoneError
from staff.identifiers import normalise_employee_no
from staff.models import StaffMember
from staff.phones import Phone, parse_phone
from staff.sql import insert_rows

MAX_BATCH = 1000
MAX_ID_LENGTH = 64
MAX_EMPLOYEE_NO_LENGTH = 32
_COLUMNS = [
    "system",
    "external_id",
    "staff_member",
    "unit",
    "channel",
    "phone_hash",
    "phone_masked",
    "served_at",
    "received_at",
    "batch_id",
]


@dataclass(frozen=True)
class ItemResult:
    id: str
    status: str
    code: str = ""
    detail: str = ""

    def as_json(self) -> dict[str, str]:
        data = {"id": self.id, "status": self.status}
        if self.code:
            data |= {"code": self.code, "detail": self.detail}
        return data


@dataclass(frozen=True)
class _Checked:
    index: int
    external_id: str
    employee_no: str
    phone: Phone
    channel: str
    served_at: dt.datetime


class _RejectedError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code)
        self.code, self.detail = code, detail


def _clean_text(value: Any, *, limit: int) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        return ""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if len(text) > limit or "\x00" in text or not text.isprintable():
        return ""
    return text


def _served_at(value: Any, *, now: dt.datetime) -> dt.datetime:
    parsed = None
    if isinstance(value, str) and len(value) <= 40:
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        raise _RejectedError("bad_served_at", _("served_at must be an ISO 8601 date and time."))
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)  # local time (Asia/Shanghai), as systems send it
    skew = dt.timedelta(seconds=settings.EVALUATIONS_FUTURE_SKEW_SECONDS)
    if parsed > now + skew:
        raise _RejectedError("served_in_future", _("served_at is in the future."))
    return parsed


def _check_item(index: int, item: Any, *, now: dt.datetime) -> _Checked:
    if not isinstance(item, Mapping):
        raise _RejectedError("bad_id", _("Each transaction must be an object."))
    external_id = _clean_text(item.get("id"), limit=MAX_ID_LENGTH)
    if not external_id:
        raise _RejectedError("bad_id", _("id must be a text of 1-64 characters."))
    # Normalised as staff imports store it (NFKC, trimmed, upper case).
    employee_no = normalise_employee_no(
        _clean_text(item.get("employee_no"), limit=MAX_EMPLOYEE_NO_LENGTH)
    )
    if not employee_no:
        raise _RejectedError("unknown_staff", _("No active staff member has this employee number."))
    raw_phone = item.get("phone")
    if not isinstance(raw_phone, str) or len(raw_phone) > 32:
        raise _RejectedError("bad_phone", _("phone must be a mainland China mobile number."))
    try:
        phone = parse_phone(raw_phone)
    except InvalidPhoneError as exc:
        raise _RejectedError("bad_phone", str(exc.message)) from exc
    channel = item.get("channel")
    if not isinstance(channel, str) or channel not in TransactionChannel.values:
        raise _RejectedError(
            "bad_channel",
            _("channel must be one of: %(channels)s.")
            % {"channels": ", ".join(TransactionChannel.values)},
        )
    served_at = _served_at(item.get("served_at"), now=now)
    return _Checked(index, external_id, employee_no, phone, channel, served_at)


def _item_id(item: Any) -> str:
    value = item.get("id") if isinstance(item, Mapping) else None
    return value[:MAX_ID_LENGTH] if isinstance(value, str) else str(value)[:MAX_ID_LENGTH]


def _staff_by_employee_no(employee_nos: set[str]) -> dict[str, tuple[int, int]]:
    rows = StaffMember.objects.filter(employee_no__in=employee_nos, is_active=True).values_list(
        "employee_no", "id", "unit_id"
    )
    return {employee_no: (pk, unit_id) for employee_no, pk, unit_id in rows}


def ingest_transactions(
    api_key: TransactionApiKey, *, items: Sequence[Any], now: dt.datetime | None = None
) -> list[ItemResult]:
    """Record a batch of served customers and plan their invitations; one result per item,
    in request order.

    Writes ``ServiceTransaction`` rows (new ids only) and their ``RatingInvitation`` rows in
    one transaction; takes no explicit lock (the unique key on ``(system, id)`` referees).
    The caller bounds the batch at ``MAX_BATCH``.
    """
    now = now or timezone.now()
    results: dict[int, ItemResult] = {}
    checked: list[_Checked] = []
    for index, item in enumerate(items):
        try:
            checked.append(_check_item(index, item, now=now))
        except _RejectedError as exc:
            results[index] = ItemResult(
                _item_id(item), TransactionResult.REJECTED, exc.code, exc.detail
            )
    staff = _staff_by_employee_no({item.employee_no for item in checked})
    adapt = connection.ops.adapt_datetimefield_value
    batch = ServiceTransaction._meta.get_field("batch_id").get_db_prep_value(
        uuid.uuid4(), connection
    )
    rows, first_index = [], {}
    for item in checked:
        if item.employee_no not in staff:
            results[item.index] = ItemResult(
                item.external_id,
                TransactionResult.REJECTED,
                "unknown_staff",
                _("No active staff member has this employee number."),
            )
            continue
        if item.external_id in first_index:
            results[item.index] = ItemResult(item.external_id, TransactionResult.DUPLICATE)
            continue
        first_index[item.external_id] = item
        staff_id, unit_id = staff[item.employee_no]
        rows.append(
            [
                api_key.system,
                item.external_id,
                staff_id,
                unit_id,
                item.channel,
                item.phone.hash,
                item.phone.masked,
                adapt(item.served_at),
                adapt(now),
                batch,
            ]
        )
    with transaction.atomic():
        # The unique key referees: a row another request (or an earlier one) holds is not
        # inserted and not returned; its id is a duplicate here.
        inserted = dict(
            insert_rows(
                ServiceTransaction,
                _COLUMNS,
                rows,
                tail="ON CONFLICT (system, external_id) DO NOTHING RETURNING external_id, id",
            )
        )
        served = []
        for external_id, item in first_index.items():
            pk = inserted.get(external_id)
            status = TransactionResult.ACCEPTED if pk else TransactionResult.DUPLICATE
            results[item.index] = ItemResult(external_id, status)
            if pk:
                staff_id = staff[item.employee_no][0]
                served.append(
                    Served(
                        pk,
                        staff_id,
                        item.phone.e164,
                        item.phone.hash,
                        item.phone.masked,
                        item.served_at,
                    )
                )
        plan_invitations(served, now=now)
    return [results[index] for index in range(len(items))]
