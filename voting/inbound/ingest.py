"""Set-based ingest of a batch of inbound SMS: the SMS vote path (DESIGN.md §3, §8).

A gateway posts up to 1,000 messages per request. ``ingest_sms_batch`` decides them all
in one transaction with a fixed number of queries, whatever the batch size, and applies
exactly the rules of the web path (``voting.services.cast_vote``): the stage window by the
database clock (``accepts_votes``), the candidate's status ``in``, the staff exclusion
(any staff record with the sender's phone hash), and the limits per stage, per
Asia/Shanghai day and per candidate (``check_vote_limits``; invalidated votes count).

Steps, in one transaction (each line one statement):

1. read the database clock once (``now`` decides every message of the batch);
2. **claim** the message ids: ``INSERT … ON CONFLICT (provider, message_id) DO NOTHING
   RETURNING message_id`` (``InboundSms``), ids in sorted order. An id another delivery
   already holds is a ``duplicate``: its stored reply is read back (one more statement,
   only when there are duplicates). If the other delivery is still in flight, the INSERT
   waits for it to commit (the unique index), so a duplicate always sees the final reply,
   and two concurrent deliveries of one id count it once;
3. candidates by employee number (one join of contestant, stage and staff member);
4. staff members by the senders' phone hashes;
5. voter rows: ``INSERT … ON CONFLICT DO NOTHING`` for every voter still in the running,
   then ``SELECT … FOR UPDATE … ORDER BY voter_hash`` — the same per-voter row lock
   ``cast_vote`` takes (``voting.otp.lock_voter``), so the web and SMS paths together
   still hold every limit exactly;
6. usage: one ``GROUP BY`` of the ledger over those voters and stages (per stage, today,
   per candidate), read *after* the locks;
7. the voters' language (their newest one-time code's language: what they chose on the
   web page), else ``LANGUAGE_CODE``;
8. then, in Python, every message in request order, counting the batch's own earlier
   votes into the usage; and the writes: the votes (``channel = sms``,
   ``provider_message_id = "<provider>:<id>"``), their +1 tally events (the rows
   ``voting.tallies.record_tally_events`` writes), the receipts (``OutboundSms``, templates ``vote_receipt`` /
   ``vote_refused``) and the outcomes of the claimed ``InboundSms`` rows (one upsert).

On commit: the tally fold and the SMS sender are woken (bounded, errors swallowed).

Lock order (no deadlocks between batches, or with the web path): message-id claims in
sorted id order, then voter rows in ``voter_hash`` order. ``cast_vote`` takes one voter
row and nothing before it. Every lock is held until the commit.

Stage choice: an SMS names only an employee number. The vote goes to the one stage that
accepts votes now and has that staff member as a contestant ``in``. If there are several
(two campaigns open at once), the message is refused ``ambiguous_stage``; if there are
none but the staff member is ``in`` a stage that is not accepting votes (scheduled,
closed, outside its window), ``stage_closed``; otherwise ``unknown_candidate``.

Replies: counted and refused votes get a receipt SMS queued in the outbox (sent by
Celery, never in the request) and the same text in the result. ``help`` texts and
refusals of unreadable messages (``bad_phone``, ``bad_text``, ``bad_message``) are
answered only in the result, never by SMS: an approved template exists only for
receipts, and junk must not cost outbound messages.
"""

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import translation
from django.utils.translation import gettext as _

from campaigns.choices import ContestantStatus, StageStatus
from campaigns.clock import db_now, local_day
from campaigns.models import Contestant, Stage
from staff.exceptions import InvalidPhoneError
from staff.models import StaffMember
from staff.phones import Phone, parse_phone
from voting.choices import InboundStatus, SmsStatus, SmsTemplate, VoteChannel, VoteStatus
from voting.exceptions import LimitReachedError
from voting.inbound.keywords import SmsKind, clean_raw_text, parse_sms
from voting.models import InboundSms, OutboundSms, TallyEvent, Vote, Voter
from voting.selectors import VoteUsage, remaining_from_usage
from voting.services import RECEIPT_INSERT_TRIES, accepts_votes, check_vote_limits, new_receipt_code
from voting.sms.services import wake_sms_sender
from voting.sms.templates import render_sms
from voting.tallies import wake_tally_folder

MAX_BATCH = 1000
MESSAGE_ID_MAX_CHARS = 100
DUPLICATE = "duplicate"
# Refusals of something that was meant as a vote: these get a receipt SMS.
VOTE_REFUSALS = frozenset(
    {"unknown_candidate", "stage_closed", "staff_cannot_vote", "limit_reached", "ambiguous_stage"}
)
# Stages a staff member may be "in" without the stage accepting votes: stage_closed.
_VOTING_LIFECYCLE = frozenset(
    {
        StageStatus.SCHEDULED,
        StageStatus.OPEN,
        StageStatus.CLOSED,
        StageStatus.PREVIEWED,
        StageStatus.FINALIZED,
    }
)


@dataclass(frozen=True)
class InboundMessage:
    """One message as a gateway adapter hands it over.

    ``id`` is ``None`` when the message has no usable id (then it is refused
    ``bad_message`` and not recorded: without an id it cannot be deduplicated).
    ``sender`` is the raw ``from`` (normalised here); ``text`` the raw text (``bad_text``
    when it is not a string or not encodable, e.g. a lone surrogate).
    """

    id: str | None
    sender: object
    text: object
    to: str = ""
    received_at: dt.datetime | None = None


@dataclass(frozen=True)
class SmsResult:
    """The outcome of one message: ``status`` is counted, refused, duplicate or help."""

    id: str | None
    status: str
    reply: str
    code: str = ""
    vote_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.code:
            data["code"] = self.code
        data["reply"] = self.reply
        return data


@dataclass(slots=True)
class _NewVote:
    """A vote row this batch inserts (a plain record: a ``Vote`` instance per message cost
    more than the insert itself); ``pk`` is set by ``_insert_votes``."""

    stage_id: int
    contestant_id: int
    voter_hash: str
    phone_masked: str
    cast_at: dt.datetime
    local_day: dt.date
    provider_message_id: str
    receipt_code: str = ""
    pk: int | None = None


@dataclass
class _Item:
    """Working state of one claimable message."""

    index: int
    message: InboundMessage
    phone: Phone | None = None
    employee_no: str | None = None
    status: str = ""
    code: str = ""
    reason: str = ""
    contestant: Contestant | None = None
    vote: _NewVote | None = None
    language: str = ""
    reply: str = ""
    params: dict[str, Any] = field(default_factory=dict)


def _insert_rows(
    model: type, fields: list[str], rows: list[list[object]], *, tail: str = ""
) -> list[tuple]:
    """One multi-row ``INSERT`` of ``rows`` (values in ``fields`` order, already adapted)
    plus ``tail`` (``ON CONFLICT …``, ``RETURNING …``); returns the rows fetched, if any.

    Plain SQL rather than ``bulk_create``: at 1,000 rows Django's per-value compilation
    cost more than the database's work (see docs/benchmarks.md, "SMS batch ingest").
    """
    if not rows:
        return []
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # S608: names come from the model, ``tail`` from this module; every value is a parameter.
    sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(rows))} {tail}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])
        return cursor.fetchall() if "RETURNING" in tail else []


def _readable(text: object) -> bool:
    if not isinstance(text, str):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _prepare(item: _Item) -> None:
    """The checks that need no database: the sender, the text, the grammar."""
    message = item.message
    try:
        item.phone = parse_phone(message.sender if isinstance(message.sender, str) else "")
    except InvalidPhoneError as exc:
        item.status, item.code, item.reason = InboundStatus.REFUSED, "bad_phone", str(exc.message)
        return
    if not _readable(message.text):
        item.status, item.code = InboundStatus.REFUSED, "bad_text"
        item.reason = _("This message could not be read.")
        return
    parsed = parse_sms(message.text)
    if parsed.kind == SmsKind.HELP:
        item.status = InboundStatus.HELP
    elif parsed.kind == SmsKind.REFUSED:
        item.status, item.code = InboundStatus.REFUSED, parsed.code
    else:
        item.employee_no = parsed.employee_no


def _claim(items: list[_Item], *, provider: str, now: dt.datetime) -> set[str]:
    """Claim the messages' ids (step 2); return the ids this transaction now owns."""
    adapt = connection.ops.adapt_datetimefield_value
    stamp = adapt(now)
    # Sorted ids: concurrent batches sharing ids take the index entries in one order.
    rows = [
        [
            provider,
            item.message.id,
            item.phone.hash if item.phone else "",
            item.phone.masked if item.phone else "",
            clean_raw_text(item.message.to)[:32],
            clean_raw_text(item.message.text),
            adapt(item.message.received_at),
            stamp,
            InboundStatus.PENDING,
            "",
            "",
        ]
        for item in sorted(items, key=lambda item: item.message.id or "")
    ]
    fields = ["provider", "message_id", "phone_hash", "phone_masked", "to_number", "text"]
    fields += ["received_at", "created_at", "status", "code", "reply"]
    returned = _insert_rows(
        InboundSms,
        fields,
        rows,
        tail="ON CONFLICT (provider, message_id) DO NOTHING RETURNING message_id",
    )
    return {row[0] for row in returned}


def _originals(provider: str, ids: set[str]) -> dict[str, str]:
    """Replies of messages claimed earlier by another delivery."""
    if not ids:
        return {}
    return dict(
        InboundSms.objects.filter(provider=provider, message_id__in=ids).values_list(
            "message_id", "reply"
        )
    )


def _resolve_candidates(items: list[_Item], *, now: dt.datetime) -> None:
    """Step 3: the one contestant each vote is for, or the refusal (module docstring)."""
    numbers = {item.employee_no for item in items if item.employee_no and not item.status}
    if not numbers:
        return
    rows = (
        Contestant.objects.filter(staff_member__employee_no__in=numbers)
        .select_related("stage", "staff_member")
        .only(
            "status",
            "stage__status",
            "stage__opens_at",
            "stage__closes_at",
            "stage__votes_per_day",
            "stage__votes_per_stage",
            "stage__votes_per_candidate",
            "staff_member__employee_no",
            "staff_member__name",
        )
    )
    accepting: dict[str, list[Contestant]] = defaultdict(list)
    waiting: set[str] = set()
    for row in rows:
        number = row.staff_member.employee_no
        if row.status != ContestantStatus.IN:
            continue
        if accepts_votes(row.stage, now):
            accepting[number].append(row)
        elif row.stage.status in _VOTING_LIFECYCLE:
            waiting.add(number)
    for item in items:
        if item.status or item.employee_no is None:
            continue
        found = accepting.get(item.employee_no, [])
        if len(found) == 1:
            item.contestant = found[0]
        elif len(found) > 1:
            item.status, item.code = InboundStatus.REFUSED, "ambiguous_stage"
        elif item.employee_no in waiting:
            item.status, item.code = InboundStatus.REFUSED, "stage_closed"
        else:
            item.status, item.code = InboundStatus.REFUSED, "unknown_candidate"


def _exclude_staff(items: list[_Item]) -> None:
    """Step 4: a staff member's phone cannot vote (active or not, as on the web)."""
    hashes = {item.phone.hash for item in items if item.contestant and item.phone}
    if not hashes:
        return
    staff = set(
        StaffMember.objects.filter(phone_hash__in=hashes).values_list("phone_hash", flat=True)
    )
    for item in items:
        if item.contestant and item.phone and item.phone.hash in staff:
            item.contestant = None
            item.status, item.code = InboundStatus.REFUSED, "staff_cannot_vote"


def _lock_voters(voter_hashes: list[str], *, now: dt.datetime) -> None:
    """Step 5: create missing voter rows, then lock them all in ``voter_hash`` order."""
    if not voter_hashes:
        return
    stamp = connection.ops.adapt_datetimefield_value(now)
    _insert_rows(
        Voter,
        ["voter_hash", "created_at"],
        [[voter_hash, stamp] for voter_hash in voter_hashes],
        tail="ON CONFLICT (voter_hash) DO NOTHING",
    )
    list(
        Voter.objects.select_for_update()
        .filter(voter_hash__in=voter_hashes)
        .order_by("voter_hash")
        .values_list("pk", flat=True)
    )


def _usage(
    voter_hashes: list[str], stage_ids: set[int], *, day: dt.date
) -> tuple[dict[tuple[str, int], list[int]], dict[tuple[str, int, int], int]]:
    """Step 6: ledger rows per (voter, stage) as ``[in stage, today]`` and per
    (voter, stage, contestant), valid or not (an invalidation refunds nothing)."""
    per_stage: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    per_candidate: dict[tuple[str, int, int], int] = defaultdict(int)
    if not voter_hashes:
        return per_stage, per_candidate
    rows = (
        Vote.objects.filter(voter_hash__in=voter_hashes, stage_id__in=stage_ids)
        .values_list("voter_hash", "stage_id", "contestant_id")
        .annotate(total=Count("pk"), today=Count("pk", filter=Q(local_day=day)))
        .order_by()
    )
    for voter_hash, stage_id, contestant_id, total, today in rows:
        counts = per_stage[(voter_hash, stage_id)]
        counts[0] += total
        counts[1] += today
        per_candidate[(voter_hash, stage_id, contestant_id)] += total
    return per_stage, per_candidate


def _languages(phone_hashes: set[str]) -> dict[str, str]:
    """Step 7: each voter's language, from their newest one-time code (chosen on the web)."""
    if not phone_hashes:
        return {}
    rows = (
        OutboundSms.objects.filter(phone_hash__in=phone_hashes, template=SmsTemplate.OTP)
        .order_by("phone_hash", "created_at", "pk")
        .values_list("phone_hash", "language")
    )
    return dict(rows)  # the newest row of each phone comes last and wins


def _decide(
    items: list[_Item],
    per_stage: dict[tuple[str, int], list[int]],
    per_candidate: dict[tuple[str, int, int], int],
    *,
    now: dt.datetime,
    day: dt.date,
    provider: str,
) -> None:
    """Step 8: the limits, message by message in request order, then the vote rows."""
    for item in items:
        if item.contestant is None or item.status:
            continue
        stage: Stage = item.contestant.stage
        voter_hash = item.phone.hash
        stage_counts = per_stage[(voter_hash, stage.pk)]
        candidate_key = (voter_hash, stage.pk, item.contestant.pk)
        usage = {
            "today": stage_counts[1],
            "in_stage": stage_counts[0],
            "for_candidate": per_candidate[candidate_key],
        }
        try:
            check_vote_limits(stage, **usage)
        except LimitReachedError:
            # Only a refusal needs the voter's language: check again under it for the
            # message (activating a language per message costs more than the check).
            with translation.override(item.language):
                try:
                    check_vote_limits(stage, **usage)
                except LimitReachedError as exc:
                    item.status, item.code = InboundStatus.REFUSED, exc.code
                    item.reason = str(exc.message)
            continue
        stage_counts[0] += 1
        stage_counts[1] += 1
        per_candidate[candidate_key] += 1
        item.status = InboundStatus.COUNTED
        remaining = remaining_from_usage(
            stage,
            VoteUsage(stage=stage_counts[0], today=stage_counts[1], candidate=0),
        )
        item.params = {"remaining_today": remaining.today}
        item.vote = _NewVote(
            stage_id=stage.pk,
            contestant_id=item.contestant.pk,
            voter_hash=voter_hash,
            phone_masked=item.phone.masked,
            cast_at=now,
            local_day=day,
            provider_message_id=f"{provider}:{item.message.id}",
        )


_VOTE_FIELDS = [
    "stage",
    "contestant",
    "voter_hash",
    "phone_masked",
    "channel",
    "ip_hash",
    "ip_subnet_hash",
    "user_agent_hash",
    "cast_at",
    "local_day",
    "status",
    "invalidated_reason",
    "receipt_code",
    "provider_message_id",
]


def _insert_votes(votes: list[_NewVote]) -> None:
    """Insert the batch's votes with fresh receipt codes and set their ids; a receipt
    collision (unique, 2^-50 per pair) rolls back to the savepoint and retries."""
    adapt_time = connection.ops.adapt_datetimefield_value
    adapt_day = connection.ops.adapt_datefield_value
    for attempt in range(RECEIPT_INSERT_TRIES):
        for vote in votes:
            vote.receipt_code = new_receipt_code()
        rows = [
            [
                vote.stage_id,
                vote.contestant_id,
                vote.voter_hash,
                vote.phone_masked,
                VoteChannel.SMS,
                # No IP on the SMS channel: no IP, subnet or browser key.
                "",
                "",
                "",
                adapt_time(vote.cast_at),
                adapt_day(vote.local_day),
                VoteStatus.VALID,
                "",
                vote.receipt_code,
                vote.provider_message_id,
            ]
            for vote in votes
        ]
        try:
            with transaction.atomic():
                ids = _insert_rows(Vote, _VOTE_FIELDS, rows, tail="RETURNING id")
        except IntegrityError:
            if attempt == RECEIPT_INSERT_TRIES - 1:
                raise
            continue
        for vote, (pk,) in zip(votes, ids, strict=True):
            vote.pk = pk
        return


def _queue_receipts(
    receipts: list[tuple[Phone, str, dict[str, Any], str]], *, now: dt.datetime
) -> None:
    """The receipts as pending ``OutboundSms`` rows, one INSERT (``queue_sms`` in bulk)."""
    stamp = connection.ops.adapt_datetimefield_value(now)
    rows = [
        [
            *(phone.e164, phone.hash, phone.masked, template, json.dumps(params), language),
            *("", SmsStatus.PENDING, 0, stamp, "", "", stamp),
        ]
        for phone, template, params, language in receipts
    ]
    fields = ["to_e164", "phone_hash", "phone_masked", "template", "params", "language", "body"]
    fields += ["status", "attempts", "next_attempt_at", "last_error", "provider_message_id"]
    fields += ["created_at"]
    _insert_rows(OutboundSms, fields, rows)


def _record_tally_events(votes: list[_NewVote], *, now: dt.datetime) -> None:
    """The votes' +1 tally events (``voting.tallies.record_tally_events`` as one plain
    INSERT: the same rows, without bulk_create's per-value compilation)."""
    stamp = connection.ops.adapt_datetimefield_value(now)
    _insert_rows(
        TallyEvent,
        ["vote", "stage", "contestant", "channel", "delta", "created_at"],
        [[v.pk, v.stage_id, v.contestant_id, VoteChannel.SMS, 1, stamp] for v in votes],
    )


_REASONS = {
    "unknown_candidate": lambda: _("There is no candidate with this number."),
    "stage_closed": lambda: _("Voting in this stage is not open."),
    "staff_cannot_vote": lambda: _("Staff members cannot vote."),
    "ambiguous_stage": lambda: _(
        "This number is a candidate in more than one open vote. Please vote on the web page."
    ),
}


def help_text() -> str:
    """The reply to a text that is not a vote (in the active language)."""
    return _("[Service Star] To vote, text TP and the employee number, e.g. TP 1234.")


# Where a receipt's code goes in a reply rendered once and reused: NUL never occurs in a
# name or an employee number (PostgreSQL text cannot hold it), so the mark is unambiguous.
_RECEIPT_MARK = "\x00receipt\x00"


def _write_replies(items: list[_Item], *, now: dt.datetime) -> None:
    """Render every reply in the voter's language and queue the receipts (one INSERT).

    Each text is rendered once per batch and kept: a receipt per (candidate, votes left,
    language) with a mark where its receipt code goes, a refusal per (reason, language),
    the help text per language. Activating a language and formatting a template for
    every message was the largest Python cost of a batch.
    """
    receipts: list[tuple[Phone, str, dict[str, Any], str]] = []
    texts: dict[tuple, tuple[str, str]] = {}
    for item in items:
        language = item.language
        if item.status == InboundStatus.COUNTED:
            member = item.contestant.staff_member
            params = {
                "name": member.name,
                "employee_no": member.employee_no,
                "receipt": item.vote.receipt_code,
                **item.params,
            }
            key = (SmsTemplate.VOTE_RECEIPT, item.contestant.pk, repr(item.params), language)
            if key not in texts:
                frame = {**params, "receipt": _RECEIPT_MARK}
                texts[key] = (render_sms(SmsTemplate.VOTE_RECEIPT, frame, language), "")
            item.reply = texts[key][0].replace(_RECEIPT_MARK, item.vote.receipt_code)
            receipts.append((item.phone, SmsTemplate.VOTE_RECEIPT, params, language))
        elif item.status == InboundStatus.HELP:
            key = (InboundStatus.HELP, language)
            if key not in texts:
                with translation.override(language):
                    texts[key] = (help_text(), "")
            item.reply = texts[key][0]
        else:
            key = (SmsTemplate.VOTE_REFUSED, item.code, item.reason, language)
            if key not in texts:
                with translation.override(language):
                    reason = item.reason or _REASONS[item.code]()
                text = render_sms(SmsTemplate.VOTE_REFUSED, {"reason": reason}, language)
                texts[key] = (text, reason)
            item.reply, reason = texts[key]
            if item.code in VOTE_REFUSALS and item.phone is not None:
                params = {"reason": reason}
                receipts.append((item.phone, SmsTemplate.VOTE_REFUSED, params, language))
    _queue_receipts(receipts, now=now)


def _record_outcomes(items: list[_Item], *, provider: str, now: dt.datetime) -> None:
    """Write the claimed rows' outcomes: one ``INSERT … ON CONFLICT DO UPDATE`` (every
    row exists, claimed by this transaction), not one UPDATE per row."""
    stamp = connection.ops.adapt_datetimefield_value(now)
    rows = [
        [
            *(provider, item.message.id, "", "", "", "", stamp),
            *(item.status, item.code, item.reply, item.vote.pk if item.vote else None),
        ]
        for item in items
    ]
    fields = ["provider", "message_id", "phone_hash", "phone_masked", "to_number", "text"]
    fields += ["created_at", "status", "code", "reply", "vote"]
    _insert_rows(
        InboundSms,
        fields,
        rows,
        tail=(
            "ON CONFLICT (provider, message_id) DO UPDATE SET status = excluded.status, "
            "code = excluded.code, reply = excluded.reply, vote_id = excluded.vote_id"
        ),
    )


def ingest_sms_batch(messages: list[InboundMessage], *, provider: str) -> list[SmsResult]:
    """Decide and record a batch of inbound SMS; return one result per message, in order.

    Writes, in one transaction (module docstring for the steps and the lock order): one
    ``InboundSms`` per new message id, the counted ``Vote`` rows (``channel = sms``) with
    their +1 ``TallyEvent`` rows, and one pending ``OutboundSms`` receipt per counted or
    refused vote. Locks the claimed id entries and the voters' rows until commit. Queues
    on commit: wake-ups of the tally fold and of the SMS sender. A message id seen before
    (in an earlier delivery or earlier in this batch) is ``duplicate`` with the original
    reply and writes nothing. Raises nothing for bad messages (they are results);
    ``ValueError`` if the batch exceeds ``MAX_BATCH`` (adapters check first).
    """
    if len(messages) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} messages per batch")
    results: list[SmsResult | None] = [None] * len(messages)
    first_of: dict[str, int] = {}
    items: list[_Item] = []
    repeats: list[tuple[int, int]] = []  # (index, index of the first with its id)
    for index, message in enumerate(messages):
        if message.id is None:
            results[index] = SmsResult(
                id=None, status=InboundStatus.REFUSED, code="bad_message", reply=""
            )
        elif message.id in first_of:
            repeats.append((index, first_of[message.id]))
        else:
            first_of[message.id] = index
            item = _Item(index=index, message=message)
            _prepare(item)
            items.append(item)
    fallback = settings.LANGUAGE_CODE
    with transaction.atomic():
        now = db_now()
        day = local_day(now)
        claimed = _claim(items, provider=provider, now=now)
        earlier = _originals(provider, {item.message.id for item in items} - claimed)
        mine = [item for item in items if item.message.id in claimed]
        _resolve_candidates(mine, now=now)
        _exclude_staff(mine)
        voters = sorted({item.phone.hash for item in mine if item.contestant is not None})
        _lock_voters(voters, now=now)
        stage_ids = {item.contestant.stage_id for item in mine if item.contestant is not None}
        per_stage, per_candidate = _usage(voters, stage_ids, day=day)
        languages = _languages({item.phone.hash for item in mine if item.phone is not None})
        for item in mine:
            item.language = languages.get(item.phone.hash, fallback) if item.phone else fallback
        _decide(mine, per_stage, per_candidate, now=now, day=day, provider=provider)
        votes = [item.vote for item in mine if item.vote is not None]
        if votes:
            _insert_votes(votes)
            _record_tally_events(votes, now=now)
            transaction.on_commit(wake_tally_folder)
        _write_replies(mine, now=now)
        if mine:
            _record_outcomes(mine, provider=provider, now=now)
            transaction.on_commit(wake_sms_sender)
    for item in items:
        if item.message.id in claimed:
            results[item.index] = SmsResult(
                id=item.message.id,
                status=item.status,
                code=item.code,
                reply=item.reply,
                vote_id=item.vote.pk if item.vote else None,
            )
        else:
            results[item.index] = SmsResult(
                id=item.message.id, status=DUPLICATE, reply=earlier.get(item.message.id, "")
            )
    for index, first in repeats:
        results[index] = SmsResult(
            id=messages[index].id, status=DUPLICATE, reply=results[first].reply
        )
    return [result for result in results if result is not None]
