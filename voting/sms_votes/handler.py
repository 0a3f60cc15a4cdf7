"""The SMS vote handler: decides a batch's vote messages set-based.

Registered with the inbound router (``campaigns.messaging.inbound.router``) as ``votes``
at ``KEYWORD_ORDER``. The router hands over the batch's new, undecided messages; this
handler takes those whose text is a vote (``keywords``), leaves the rest for the next
handler (or the help reply), and applies exactly the rules of the web path
(``voting.services.cast_vote``): the stage window by the database clock
(``accepts_votes``), the candidate's status ``in``, the staff exclusion (any staff record
with the sender's phone hash), and the limits per stage, per Asia/Shanghai day and per
candidate (``check_vote_limits``; invalidated votes count).

Statements, inside the router's one transaction, a fixed number whatever the batch size.
Deciding (``handle_vote_messages``: no lock, no write):

1. candidates by employee number (one join of contestant, stage and staff member);
2. staff members by the senders' phone hashes;
3. usage: one ``GROUP BY`` of the ledger over the voters and stages (per stage, today,
   per candidate), as committed;
4. then, in Python, every message in request order, counting the batch's own earlier
   votes into the usage; served customers: one lookup of the counted votes' (staff
   member, phone) pairs in their stage's window (``voting.ledger.served``; one per window
   when two stages are open at once); the votes' ids (PostgreSQL: drawn from the
   sequence) and receipt codes; the replies.

Writing (``write()`` of the decision it returns, once the router has recorded the
messages):

5. the voters with a vote to count: their rows created and locked in one ``INSERT … ON
   CONFLICT DO UPDATE`` in ``voter_hash`` order — the same per-voter row lock
   ``cast_vote`` takes (``voting.ledger.sql.lock_voter``), so the web and SMS paths
   together still hold every limit exactly —, and their usage read again under the lock;
   a voter whose usage moved has their messages decided again on it (step 4, for them
   only; a vote counted again keeps its id and receipt code, and the served answers are
   not asked again). A refusal needs no lock: counts only grow, so a limit reached in committed
   votes stays reached, and a voter past their limit is never locked;
6. the votes (``channel = sms``, ``is_served``, ``provider_message_id =
   "<provider>:<id>"``) and their +1 tally events (the rows
   ``voting.ledger.outbox.record_tally_events`` writes) — on PostgreSQL one ``COPY`` each
   (``staff.sql.copy_rows``) —, and the receipts (``vote_receipt`` / ``vote_refused``,
   one ``queue_sms_bulk`` statement).

On commit: the tally fold is woken (by task name, bounded, debounced).

Lock order: the router's message ids, then voter rows in ``voter_hash`` order.
``cast_vote`` takes one voter row and nothing before it.

Stage choice: an SMS names only an employee number. The vote goes to the one stage that
accepts votes now, counts SMS votes (its rules weight them, ``channel_used``) and has that
staff member as a contestant ``in``. If there are several (two campaigns open at once), the
message is refused ``ambiguous_stage``; if the only open ones do not count SMS votes,
``channel_not_used``; if there are none but the staff member is ``in`` a stage that is not accepting votes (scheduled,
closed, outside its window), ``stage_closed``; otherwise ``unknown_candidate``.

Replies: counted and refused votes get a receipt SMS queued in the outbox (sent by
Celery, never in the request) and the same text as the reply, in the sender's language.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Model, Q
from django.utils import translation
from django.utils.translation import gettext as _

from campaigns.choices import ContestantStatus, StageStatus
from campaigns.clock import local_day
from campaigns.messaging.choices import InboundStatus
from campaigns.messaging.inbound.router import InboundItem
from campaigns.messaging.services import SmsRequest, queue_sms_bulk
from campaigns.messaging.templates import render_sms
from campaigns.models import Contestant, Stage
from staff.models import StaffMember
from staff.sql import copy_rows, insert_rows, quoted_columns, quoted_table
from voting.choices import SmsTemplate, VoteChannel, VoteStatus
from voting.exceptions import LimitReachedError
from voting.ledger.outbox import wake_tally_fold
from voting.ledger.receipts import RECEIPT_INSERT_TRIES, new_receipt_code, normalize_receipt_code
from voting.ledger.rules import (
    VoteUsage,
    accepts_votes,
    channel_not_used_message,
    channel_used,
    check_vote_limits,
    remaining_from_usage,
)
from voting.ledger.served import ServedPair, served_voters
from voting.ledger.sql import SMS_VOTE_COLUMNS, TALLY_EVENT_COLUMNS, next_vote_ids
from voting.models import TallyEvent, Vote, Voter
from voting.sms_votes.keywords import SmsKind, parse_normalized

HANDLER_NAME = "votes"
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
    is_served: bool = False
    receipt_code: str = ""
    pk: int | None = None


@dataclass
class _Ballot:
    """Working state of one vote message."""

    item: InboundItem
    employee_no: str | None = None
    status: str = ""
    code: str = ""
    reason: str = ""
    contestant: Contestant | None = None
    vote: _NewVote | None = None
    params: dict[str, Any] = field(default_factory=dict)
    receipt: SmsRequest | None = None  # set with the reply (``_render_replies``)


def _ballots(items: list[InboundItem]) -> list[_Ballot]:
    """The items whose text is a vote (or an impossible one); help texts are left alone."""
    ballots = []
    for item in items:
        parsed = parse_normalized(item.text)
        if parsed.kind == SmsKind.VOTE:
            ballots.append(_Ballot(item=item, employee_no=parsed.employee_no))
        elif parsed.kind == SmsKind.REFUSED:
            ballots.append(_Ballot(item=item, status=InboundStatus.REFUSED, code=parsed.code))
    return ballots


def _resolve_candidates(ballots: list[_Ballot], *, now: dt.datetime) -> None:
    """The one contestant each vote is for, or the refusal (module docstring)."""
    numbers = {b.employee_no for b in ballots if b.employee_no and not b.status}
    if not numbers:
        return
    rows = (
        # The number an SMS names is the staff member's vote code (digits, unique; equal to
        # the employee number wherever that is digits).
        Contestant.objects.filter(staff_member__vote_code__in=numbers)
        .select_related("stage", "staff_member")
        .only(
            "status",
            "stage__status",
            "stage__opens_at",
            "stage__closes_at",
            "stage__votes_per_day",
            "stage__votes_per_stage",
            "stage__votes_per_candidate",
            "stage__weights",
            "staff_member__vote_code",
            "staff_member__name",
        )
    )
    accepting: dict[str, list[Contestant]] = defaultdict(list)
    waiting: set[str] = set()
    not_by_sms: set[str] = set()
    for row in rows:
        number = row.staff_member.vote_code
        if row.status != ContestantStatus.IN:
            continue
        if not accepts_votes(row.stage, now):
            if row.stage.status in _VOTING_LIFECYCLE:
                waiting.add(number)
        elif channel_used(row.stage.weights, VoteChannel.SMS):
            accepting[number].append(row)
        else:
            not_by_sms.add(number)
    for ballot in ballots:
        if ballot.status or ballot.employee_no is None:
            continue
        found = accepting.get(ballot.employee_no, [])
        if len(found) == 1:
            ballot.contestant = found[0]
        elif len(found) > 1:
            ballot.status, ballot.code = InboundStatus.REFUSED, "ambiguous_stage"
        elif ballot.employee_no in not_by_sms:
            ballot.status, ballot.code = InboundStatus.REFUSED, "channel_not_used"
        elif ballot.employee_no in waiting:
            ballot.status, ballot.code = InboundStatus.REFUSED, "stage_closed"
        else:
            ballot.status, ballot.code = InboundStatus.REFUSED, "unknown_candidate"


def _exclude_staff(ballots: list[_Ballot]) -> None:
    """A staff member's phone cannot vote (active or not, as on the web)."""
    hashes = {b.item.phone.hash for b in ballots if b.contestant}
    if not hashes:
        return
    staff = set(
        StaffMember.objects.filter(phone_hash__among=hashes)
        .order_by()  # a set is wanted
        .values_list("phone_hash", flat=True)
    )
    for ballot in ballots:
        if ballot.contestant and ballot.item.phone.hash in staff:
            ballot.contestant = None
            ballot.status, ballot.code = InboundStatus.REFUSED, "staff_cannot_vote"


def _lock_voters(voter_hashes: list[str], *, now: dt.datetime) -> None:
    """Create the missing voter rows and lock every one, in ``voter_hash`` order,
    in one statement: ``INSERT … ON CONFLICT DO UPDATE`` of the key to itself, whose no-op
    update of an existing row takes the lock ``cast_vote``'s ``lock_voter`` takes."""
    if not voter_hashes:
        return
    stamp = connection.ops.adapt_datetimefield_value(now)
    column = connection.ops.quote_name(Voter._meta.get_field("voter_hash").column)
    insert_rows(
        Voter,
        ["voter_hash", "created_at"],
        [[voter_hash, stamp] for voter_hash in voter_hashes],
        tail=f"ON CONFLICT ({column}) DO UPDATE SET {column} = excluded.{column}",
    )


# Ledger rows per (voter, stage) as ``[in stage, today]`` and per (voter, stage, contestant).
_Usage = tuple[dict[tuple[str, int], list[int]], dict[tuple[str, int, int], int]]


def usage_sql() -> str:
    """The senders' ledger rows on PostgreSQL, counted per (voter, stage, candidate): one
    probe of ``vote_voter_usage`` per sender, every stage (the caller keeps the stages it
    wants). Asked as one ``WHERE voter_hash = ANY(…)``, the planner read a stage whole
    through ``vote_recount`` when the stages were in the WHERE clause too, and the whole
    ledger without them, whenever the table had no statistics yet (a young ledger: a
    campaign's first minutes, every benchmark run), a cost growing with every batch
    (docs/benchmarks.md, "Vote paths, issue 12, fourth session"). A ``LATERAL`` subquery
    per sender leaves it nothing to do but the probes; its ``OFFSET 0`` keeps the planner
    from folding the subquery into a join it could plan as a scan again."""
    voter, stage, contestant, day = quoted_columns(
        Vote, "voter_hash", "stage", "contestant", "local_day"
    )
    # Names from _meta: no user input in the text; the values travel as parameters.
    return (
        f"SELECT k.voter, v.{stage}, v.{contestant}, count(*), "  # noqa: S608
        f"count(*) FILTER (WHERE v.{day} = %s) "
        "FROM unnest(%s::text[]) AS k(voter) CROSS JOIN LATERAL ("
        f"SELECT {stage}, {contestant}, {day} FROM {quoted_table(Vote)} "
        f"WHERE {voter} = k.voter OFFSET 0) AS v "
        "GROUP BY 1, 2, 3"
    )


def _usage(voter_hashes: list[str], stage_ids: set[int], *, day: dt.date) -> _Usage:
    """Ledger rows per (voter, stage) as ``[in stage, today]`` and per
    (voter, stage, contestant), valid or not (an invalidation refunds nothing)."""
    per_stage: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    per_candidate: dict[tuple[str, int, int], int] = defaultdict(int)
    if not voter_hashes:
        return per_stage, per_candidate
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(usage_sql(), [day, list(set(voter_hashes))])  # each voter once
            rows = cursor.fetchall()
    else:
        rows = (
            Vote.objects.filter(voter_hash__among=voter_hashes)
            .values_list("voter_hash", "stage_id", "contestant_id")
            .annotate(total=Count("pk"), today=Count("pk", filter=Q(local_day=day)))
            .order_by()
        )
    for voter_hash, stage_id, contestant_id, total, today in rows:
        if stage_id not in stage_ids:
            continue
        counts = per_stage[(voter_hash, stage_id)]
        counts[0] += total
        counts[1] += today
        per_candidate[(voter_hash, stage_id, contestant_id)] += total
    return per_stage, per_candidate


def _usage_of(usage: _Usage, voters: set[str] | None = None) -> _Usage:
    """A copy of ``usage`` (``_decide`` counts the batch's votes into what it is given),
    only of ``voters`` if given."""
    per_stage, per_candidate = usage
    stage_copy: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    candidate_copy: dict[tuple[str, int, int], int] = defaultdict(int)
    for key, counts in per_stage.items():
        if voters is None or key[0] in voters:
            stage_copy[key] = list(counts)
    for key, count in per_candidate.items():
        if voters is None or key[0] in voters:
            candidate_copy[key] = count
    return stage_copy, candidate_copy


def _moved(seen: _Usage, locked: _Usage, voters: set[str]) -> set[str]:
    """The ``voters`` whose locked counts are not the ones seen before the lock."""

    def by_voter(usage: _Usage) -> dict[str, set]:
        entries: dict[str, set] = defaultdict(set)
        for key, counts in usage[0].items():
            if key[0] in voters:
                entries[key[0]].add((key, tuple(counts)))
        for key, count in usage[1].items():
            if key[0] in voters:
                entries[key[0]].add((key, count))
        return entries

    before, after = by_voter(seen), by_voter(locked)
    return {voter for voter in voters if before.get(voter) != after.get(voter)}


def _decide(
    ballots: list[_Ballot],
    per_stage: dict[tuple[str, int], list[int]],
    per_candidate: dict[tuple[str, int, int], int],
    *,
    now: dt.datetime,
    day: dt.date,
) -> None:
    """The limits, message by message in request order, then the vote rows (counting each
    vote into ``per_stage`` and ``per_candidate``)."""
    # What each message would otherwise look up again: a candidate's stage and keys (a
    # batch names a few candidates), and the votes left after a stage's usage (a handful
    # of distinct counts), computed once each.
    targets: dict[int, tuple[Stage, int, int]] = {}
    left_today: dict[tuple[int, int, int], int | None] = {}
    for ballot in ballots:
        if ballot.contestant is None or ballot.status:
            continue
        target = targets.get(id(ballot.contestant))
        if target is None:
            contestant = ballot.contestant
            target = targets[id(contestant)] = (
                contestant.stage,
                contestant.stage_id,
                contestant.pk,
            )
        stage, stage_id, contestant_id = target
        item = ballot.item
        voter_hash = item.phone.hash
        stage_counts = per_stage[(voter_hash, stage_id)]
        candidate_key = (voter_hash, stage_id, contestant_id)
        in_stage, today, for_candidate = (
            stage_counts[0],
            stage_counts[1],
            per_candidate[candidate_key],
        )
        try:
            check_vote_limits(stage, today=today, in_stage=in_stage, for_candidate=for_candidate)
        except LimitReachedError:
            # Only a refusal needs the voter's language: check again under it for the
            # message (activating a language per message costs more than the check).
            with translation.override(item.language):
                try:
                    check_vote_limits(
                        stage, today=today, in_stage=in_stage, for_candidate=for_candidate
                    )
                except LimitReachedError as exc:
                    ballot.status, ballot.code = InboundStatus.REFUSED, exc.code
                    ballot.reason = str(exc.message)
            continue
        stage_counts[0] = in_stage = in_stage + 1
        stage_counts[1] = today = today + 1
        per_candidate[candidate_key] = for_candidate + 1
        ballot.status = InboundStatus.COUNTED
        left_key = (stage_id, in_stage, today)
        if left_key not in left_today:
            usage = VoteUsage(stage=in_stage, today=today, candidate=0)
            left_today[left_key] = remaining_from_usage(stage, usage).today
        ballot.params = {"remaining_today": left_today[left_key]}
        ballot.vote = _NewVote(
            stage_id=stage_id,
            contestant_id=contestant_id,
            voter_hash=voter_hash,
            phone_masked=item.phone.masked,
            cast_at=now,
            local_day=day,
            provider_message_id=f"{item.provider}:{item.message.id}",
        )


@dataclass
class _Served:
    """The served-customer answers a batch has: the pairs asked and those found served
    (a ballot decided again asks nothing new unless its vote is a new pair)."""

    asked: set[ServedPair] = field(default_factory=set)
    found: set[ServedPair] = field(default_factory=set)


def _mark_served(ballots: list[_Ballot], known: _Served, *, now: dt.datetime) -> None:
    """``is_served`` of the ballots' votes, by one served-customer lookup of the pairs
    ``known`` has not asked yet (one per stage window: two campaigns voting at once make
    two); what it finds is added to ``known``."""
    counted = [b for b in ballots if b.vote is not None]
    pairs = [
        ((b.contestant.staff_member_id, b.vote.voter_hash), b.contestant.stage.opens_at,
         b.contestant.stage.closes_at)
        for b in counted
    ]  # fmt: skip
    new = [entry for entry in pairs if entry[0] not in known.asked]
    if new:
        known.found |= served_voters(new, now=now)
        known.asked.update(pair for pair, _opens, _closes in new)
    for ballot, (pair, _opens, _closes) in zip(counted, pairs, strict=True):
        ballot.vote.is_served = pair in known.found


def _vote_row(vote: _NewVote) -> tuple:
    """A vote's values in ``SMS_VOTE_COLUMNS`` order, id first (no IP on the SMS channel:
    no IP, subnet or browser key)."""
    return (
        *(vote.pk, vote.stage_id, vote.contestant_id, vote.voter_hash, vote.phone_masked),
        *(VoteChannel.SMS, "", "", "", vote.cast_at, vote.local_day),
        *(VoteStatus.VALID, "", vote.receipt_code, vote.provider_message_id, vote.is_served),
    )


def _number(votes: list[_NewVote]) -> None:
    """The receipt code of each vote that has none and, on PostgreSQL, the id of each that
    has none (drawn from the ledger's sequence in one statement, none when every vote
    has one; ids drawn and not used leave a gap, as a rolled-back insert does): the router
    records them with the messages before the votes are written."""
    if connection.vendor == "postgresql":
        unnumbered = [vote for vote in votes if vote.pk is None]
        if unnumbered:
            for vote, pk in zip(unnumbered, next_vote_ids(len(unnumbered)), strict=True):
                vote.pk = pk
    for vote in votes:
        if not vote.receipt_code:
            vote.receipt_code = new_receipt_code()


def _insert_votes(votes: list[_NewVote], *, now: dt.datetime) -> bool:
    """Insert the batch's votes and their +1 tally events (the rows
    ``voting.ledger.outbox.record_tally_events`` writes); True if a vote's id or receipt
    code is not the one numbered before (the replies then say the new ones).

    PostgreSQL: one ``COPY`` for the votes (ids numbered before) and one for the events.
    Elsewhere: one multi-row ``INSERT … RETURNING id`` and one for the events. A receipt
    collision (unique, 2^-50 per pair) rolls back to the savepoint and retries with new
    codes.
    """
    postgres = connection.vendor == "postgresql"
    for attempt in range(RECEIPT_INSERT_TRIES):
        if attempt:
            for vote in votes:
                vote.receipt_code = new_receipt_code()
        try:
            with transaction.atomic():
                if postgres:
                    copy_rows(Vote, SMS_VOTE_COLUMNS, [_vote_row(vote) for vote in votes])
                else:
                    _insert_votes_returning_ids(votes)
                events = [
                    (v.pk, v.stage_id, v.contestant_id, VoteChannel.SMS, v.is_served, 1, now)
                    for v in votes
                ]
                write = copy_rows if postgres else _insert_plain
                write(TallyEvent, TALLY_EVENT_COLUMNS, events)
        except IntegrityError:
            if attempt == RECEIPT_INSERT_TRIES - 1:
                raise
            continue
        return attempt > 0 or not postgres
    raise AssertionError("unreachable")  # pragma: no cover


def _adapted(row: tuple) -> list:
    """A row's times and days adapted for a plain ``INSERT`` (the portable path)."""
    ops = connection.ops
    return [
        ops.adapt_datetimefield_value(value)
        if isinstance(value, dt.datetime)
        else ops.adapt_datefield_value(value)
        if isinstance(value, dt.date)
        else value
        for value in row
    ]


def _insert_plain(model: type[Model], fields: tuple[str, ...], rows: list[tuple]) -> None:
    insert_rows(model, fields, [_adapted(row) for row in rows])


def _insert_votes_returning_ids(votes: list[_NewVote]) -> None:
    """The portable insert of the votes: the database assigns the ids."""
    rows = [_adapted(_vote_row(vote)[1:]) for vote in votes]
    ids = insert_rows(Vote, SMS_VOTE_COLUMNS[1:], rows, tail="RETURNING id")
    for vote, (pk,) in zip(votes, ids, strict=True):
        vote.pk = pk


_REASONS = {
    "unknown_candidate": lambda: _("There is no candidate with this number."),
    "channel_not_used": lambda: channel_not_used_message(VoteChannel.SMS),
    "stage_closed": lambda: _("Voting in this stage is not open."),
    "staff_cannot_vote": lambda: _("Staff members cannot vote."),
    "ambiguous_stage": lambda: _(
        "This number is a candidate in more than one open vote. Please vote on the web page."
    ),
}


def help_text() -> str:
    """The help reply's sentence about voting (in the active language)."""
    return _("[Service Star] To vote, text TP and the employee number, e.g. TP 1234.")


def receipt_labels(term: str) -> list[str]:
    """The receipt code an admin search term may be (typed loosely), for the inbound log."""
    code = normalize_receipt_code(term)
    return [code] if code else []


# Where a receipt's code goes in a reply rendered once and reused: NUL never occurs in a
# name or an employee number (PostgreSQL text cannot hold it), so the mark is unambiguous.
_RECEIPT_MARK = "\x00receipt\x00"


def _render_replies(ballots: list[_Ballot]) -> None:
    """Render each ballot's reply in the voter's language and the receipt to queue, and set
    its item's outcome.

    Each text is rendered once per batch and kept: a receipt per (candidate, votes left,
    language) with a mark where its receipt code goes, a refusal per (reason, language).
    Activating a language and formatting a template for every message was the largest
    Python cost of a batch.
    """
    receipts: dict[tuple, tuple[str, dict[str, Any]]] = {}
    texts: dict[tuple, tuple[str, str]] = {}
    for ballot in ballots:
        item, language = ballot.item, ballot.item.language
        if ballot.status == InboundStatus.COUNTED:
            key = (ballot.contestant.pk, language, *ballot.params.items())  # votes left: ints
            if key not in receipts:
                member = ballot.contestant.staff_member
                frame = {
                    "name": member.name,
                    # The receipt names the number the customer texts: the vote code.
                    "employee_no": member.vote_code,
                    "receipt": _RECEIPT_MARK,
                    **ballot.params,
                }
                receipts[key] = (render_sms(SmsTemplate.VOTE_RECEIPT, frame, language), frame)
            text, frame = receipts[key]
            code = ballot.vote.receipt_code
            item.reply = text.replace(_RECEIPT_MARK, code)
            params = {**frame, "receipt": code}  # the frame's order of keys, as stored
            ballot.receipt = SmsRequest(item.phone, SmsTemplate.VOTE_RECEIPT, params, language)
        else:
            key = (SmsTemplate.VOTE_REFUSED, ballot.code, ballot.reason, language)
            if key not in texts:
                with translation.override(language):
                    reason = ballot.reason or _REASONS[ballot.code]()
                text = render_sms(SmsTemplate.VOTE_REFUSED, {"reason": reason}, language)
                texts[key] = (text, reason)
            item.reply, reason = texts[key]
            params = {"reason": reason}
            ballot.receipt = SmsRequest(item.phone, SmsTemplate.VOTE_REFUSED, params, language)
        item.status, item.code = ballot.status, ballot.code
        if ballot.vote is not None:
            item.outcome_ref, item.outcome_label = ballot.vote.pk, ballot.vote.receipt_code


def _prepare_writes(ballots: list[_Ballot], served: _Served, *, now: dt.datetime) -> None:
    """What ``ballots``' decisions write: their counted votes marked served or not and
    numbered."""
    _mark_served(ballots, served, now=now)
    _number([b.vote for b in ballots if b.vote is not None])


def _undo(ballots: list[_Ballot]) -> dict[int, tuple[int | None, str]]:
    """Forget the limit decisions of ``ballots`` (to decide them again); return the id and
    receipt code each counted one had, by ``id()`` of the ballot."""
    numbered = {}
    for ballot in ballots:
        if ballot.vote is not None:
            numbered[id(ballot)] = (ballot.vote.pk, ballot.vote.receipt_code)
        ballot.status = ballot.code = ballot.reason = ""
        ballot.vote, ballot.params = None, {}
    return numbered


@dataclass
class _Batch:
    """A batch's decided votes, between deciding and writing (the router's
    ``InboundDecision``)."""

    ballots: list[_Ballot]
    voting: list[_Ballot]  # the ballots with a candidate: those the limits decide
    seen: _Usage  # the usage they were decided on (as committed, no lock)
    stage_ids: set[int]
    now: dt.datetime
    day: dt.date
    served: _Served

    def votes(self) -> list[_NewVote]:
        return [b.vote for b in self.voting if b.vote is not None]

    def _decide_again(self, voters: set[str], usage: _Usage) -> None:
        """Decide, number and answer again the ballots of ``voters``, on ``usage``.

        A ballot counted before and again keeps its vote's id and receipt code (the
        message's recorded outcome names them; a new id would be one more statement);
        only a ballot counted now and not before gets new ones. The served answers the
        batch already has are not asked again."""
        again = [b for b in self.voting if b.item.phone.hash in voters]
        numbered = _undo(again)
        _decide(again, *_usage_of(usage, voters), now=self.now, day=self.day)
        for ballot in again:
            if ballot.vote is not None and id(ballot) in numbered:
                ballot.vote.pk, ballot.vote.receipt_code = numbered[id(ballot)]
        _prepare_writes(again, self.served, now=self.now)
        _render_replies(again)

    def lock_and_check(self) -> None:
        """Lock the voters with a vote to count and read their usage again; decide again
        the ballots of those whose usage moved."""
        counting = sorted({vote.voter_hash for vote in self.votes()})
        if not counting:
            return
        _lock_voters(counting, now=self.now)
        locked = _usage(counting, self.stage_ids, day=self.day)
        moved = _moved(self.seen, locked, set(counting))
        if moved:
            self._decide_again(moved, locked)

    def drop(self, items: list[InboundItem]) -> None:
        """Decide as if ``items`` had not been offered (the router found them recorded by
        another delivery): only their senders' other messages may change."""
        gone = {id(item) for item in items}
        dropped = [b for b in self.ballots if id(b.item) in gone]
        if not dropped:
            return
        self.ballots = [b for b in self.ballots if id(b.item) not in gone]
        self.voting = [b for b in self.voting if id(b.item) not in gone]
        senders = {b.item.phone.hash for b in dropped if b.contestant is not None}
        self._decide_again(senders, self.seen)

    def write(self) -> None:
        """The writes (module docstring): lock and check, then the votes and receipts."""
        self.lock_and_check()
        votes = self.votes()
        if votes:
            if _insert_votes(votes, now=self.now):  # ids or receipt codes not numbered
                _render_replies([b for b in self.voting if b.vote is not None])
            wake_tally_fold()
        queue_sms_bulk([b.receipt for b in self.ballots if b.receipt], now=self.now)


def handle_vote_messages(items: list[InboundItem], *, now: dt.datetime) -> _Batch | None:
    """Decide the vote messages among ``items`` (the router's handler contract); return
    the decision (``drop`` and ``write``), or ``None`` when no text was a vote.

    Decides on the ledger as committed, without a lock. Writing then locks the voters
    that have a vote to count and reads their usage again: only a voter whose usage moved
    (a vote of theirs committed meanwhile, by the web or another batch) has their
    messages decided again, on the locked counts. A refusal needs no lock: counts only
    grow, so a limit reached in committed votes stays reached, and a voter past their
    limit is never locked. The voter locks are held only for the writes, after the
    router has recorded the batch's messages (so a batch waiting for another's message
    ids holds no voter).

    Sets each vote item's ``status``, ``code``, ``reply``, ``outcome_ref`` (the vote id)
    and ``outcome_label`` (its receipt code); writing may change them (the router
    records the change). The writes (module docstring): the counted ``Vote`` rows
    (``channel = sms``) with their +1 ``TallyEvent`` rows, one pending receipt SMS per
    counted or refused vote, and on commit a wake-up of the tally fold. Leaves texts that
    are not votes undecided.
    """
    ballots = _ballots(items)
    if not ballots:
        return None
    day = local_day(now)
    _resolve_candidates(ballots, now=now)
    _exclude_staff(ballots)
    voting = [b for b in ballots if b.contestant is not None]
    voters = sorted({b.item.phone.hash for b in voting})
    stage_ids = {b.contestant.stage_id for b in voting}
    seen = _usage(voters, stage_ids, day=day)
    _decide(voting, *_usage_of(seen), now=now, day=day)
    served = _Served()
    _prepare_writes(voting, served, now=now)
    _render_replies(ballots)
    return _Batch(ballots, voting, seen, stage_ids, now, day, served)
