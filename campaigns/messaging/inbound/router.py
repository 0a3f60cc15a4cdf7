"""The inbound SMS router: one batch of gateway messages, offered to the handlers the upper
apps registered, every message recorded once with its outcome.

Handlers. An app that understands some inbound texts registers a handler in its
``AppConfig.ready()``::

    register_inbound_handler("votes", handle_vote_messages, order=KEYWORD_ORDER,
                             help_text=vote_help_text, find_labels=receipt_labels)

* ``handler(items, *, now)`` receives the batch's still-undecided items that are not
  deliveries seen before (a list of ``InboundItem``, in request order) and the database
  time that decides the whole batch. Each item carries the message, the sender's parsed
  ``phone``, the normalised ``text`` (``inbound.text.normalize_sms``; ``""`` for a text
  too long to be anything), the ``provider`` and the sender's reply ``language``. The
  handler decides the items it understands by setting ``status`` (``counted``,
  ``refused``, ``evaluation`` or ``help``), ``reply`` (the text returned to the gateway
  and stored), optionally ``code`` (a refusal code), ``outcome_ref`` (the id of its own
  row, e.g. the vote) and ``outcome_label`` (a short, non-personal reference for the
  admin, e.g. a receipt code). It leaves every other item untouched, for the next handler.
* **Decide, then write.** The handler reads (and takes any locks it needs) while
  deciding, writes nothing, and returns an ``InboundDecision`` (or ``None`` when it has
  nothing to write): ``write()`` is called once the batch's messages are recorded as
  this delivery's own (step 5); before that, ``drop(items)`` may be called with items
  that turned out to be another delivery's, and the decision must then stand as if they
  had never been offered (other items' outcomes may change: a limit a dropped message
  had used). ``write()`` may still change an item's outcome (an id only the insert
  assigns, a decision taken again under a lock): the router records the change.
* It works set-based on the whole list: a fixed number of statements whatever the batch
  size, inside the batch's one transaction (it must not commit or open its own; it may
  use savepoints). SMS it wants sent (receipts) it queues with
  ``services.queue_sms_bulk`` (one statement) in its writer; the router wakes the sender
  on commit.
* An exception rolls the whole batch back (nothing is recorded) and reaches
  the webhook; the gateway retries it.
* ``order``: lower runs first. Texts with a keyword of their own (``TP 1234``) use
  ``KEYWORD_ORDER`` (100): they mean the same whatever else the sender is doing, so they
  are decided before anything that interprets a bare reply in context (a rating ``7``, an
  opt-out ``TD``), which uses ``REPLY_ORDER`` (200). Orders are unique, so the sequence is
  never a matter of registration order; a vote keyword stays a vote whatever registers
  later.
* ``help_text()`` (optional) is the handler's sentence of the help reply, in the active
  language; ``find_labels(term)`` (optional) turns an admin search term into the
  ``outcome_label`` values it may mean (a receipt code typed loosely).

Registering the same handler again under its name is a no-op (``ready()`` may run twice);
a different handler under a taken name, or a taken order, is an error.

The batch (``route_sms_batch``), in one transaction with a fixed number of statements:

1. outside the transaction, per message: an id is required (else ``refused`` /
   ``bad_message``, not recorded: without an id it cannot be deduplicated); the sender
   must be a mainland mobile (``bad_phone``) and the text a readable string
   (``bad_text``), both recorded and refused by the router itself; a repeat of an id
   earlier in the batch is a ``duplicate`` of it;
2. the database clock, read once; the ids recorded before (a ``duplicate``, with the
   stored reply); the senders' reply languages (``selectors.reply_languages``, else
   ``LANGUAGE_CODE``);
3. the handlers, in ``order``, each offered what is still undecided; whatever no handler
   took gets the help reply (``help``);
4. **record** every message with its outcome, written once: ``INSERT … ON CONFLICT
   (provider, message_id) DO NOTHING RETURNING message_id`` (``InboundSms``), in sorted id
   order. An id another delivery still has in flight makes the INSERT wait for it to
   commit (the unique index): so two concurrent deliveries of one id count it once, and
   the one that waited answers ``duplicate`` with the final reply;
5. if some ids were recorded by another delivery meanwhile (step 4 skipped them): those
   are duplicates, each decision drops them, and one ``UPDATE`` records the rows whose
   outcome changed (a limit a dropped message had used). Then the decisions' writes,
   and one more ``UPDATE`` only if a write changed an outcome (the vote writer decides
   again a voter whose usage moved before it locked them).

Lock order: what the handlers lock while deciding (the rating handler: the senders'
invitations), then the message ids in sorted order, then what the writers lock (the vote
writer: voter rows in hash order). Every lock is held until commit. The ids are taken
late, so a concurrent delivery of the same id waits only for the end of this
transaction (its writes and commit), not for its whole work.

Replies of ``help`` and of the router's own refusals are returned to the gateway only,
never queued as SMS: junk must not cost outbound messages.
"""

import datetime as dt
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.db import connection, transaction
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.clock import db_now
from campaigns.messaging.choices import DECIDED_STATUSES, DUPLICATE, InboundStatus
from campaigns.messaging.inbound.text import (
    NORMALIZE_MAX_CHARS,
    clean_raw_text,
    is_readable,
    normalize_sms,
)
from campaigns.messaging.models import InboundSms
from campaigns.messaging.selectors import reply_languages
from campaigns.messaging.services import wake_sms_sender_on_commit
from staff.exceptions import InvalidPhoneError
from staff.phones import Phone, parse_phone
from staff.sql import insert_rows, quoted_columns, quoted_table

MAX_BATCH = 1000
MESSAGE_ID_MAX_CHARS = 100
KEYWORD_ORDER = 100
REPLY_ORDER = 200


@dataclass(frozen=True)
class InboundMessage:
    """One message as a gateway adapter hands it over.

    ``id`` is ``None`` when the message has no usable id. ``sender`` is the raw ``from``
    (normalised here); ``text`` the raw text (``bad_text`` when it is not a string or not
    encodable, e.g. a lone surrogate).
    """

    id: str | None
    sender: object
    text: object
    to: str = ""
    received_at: dt.datetime | None = None


@dataclass(frozen=True)
class SmsResult:
    """The outcome of one message: ``status`` is one of the contract's statuses."""

    id: str | None
    status: str
    reply: str
    code: str = ""
    handled_by: str = ""
    outcome_ref: int | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.code:
            data["code"] = self.code
        data["reply"] = self.reply
        return data


@dataclass(eq=False)
class InboundItem:
    """One message on its way through the handlers (module docstring)."""

    message: InboundMessage
    provider: str
    phone: Phone | None
    text: str
    language: str = ""
    status: str = ""
    code: str = ""
    reply: str = ""
    outcome_ref: int | None = None
    outcome_label: str = ""
    handled_by: str = ""
    # The router's own refusal reason (bad_phone, bad_text): lazy, rendered into the reply
    # in the sender's language.
    reason: str | Promise = ""


class InboundDecision(Protocol):
    """What a handler decided for a batch, not yet written (module docstring)."""

    def drop(self, items: list[InboundItem]) -> None: ...

    def write(self) -> None: ...


class InboundHandlerFunc(Protocol):
    def __call__(self, items: list[InboundItem], *, now: dt.datetime) -> InboundDecision | None: ...


@dataclass(frozen=True)
class InboundHandler:
    name: str
    handle: InboundHandlerFunc
    order: int
    help_text: Callable[[], str] | None = None
    find_labels: Callable[[str], list[str]] | None = None


_handlers: dict[str, InboundHandler] = {}


def register_inbound_handler(
    name: str,
    handler: InboundHandlerFunc,
    *,
    order: int,
    help_text: Callable[[], str] | None = None,
    find_labels: Callable[[str], list[str]] | None = None,
) -> None:
    """Register ``handler`` under ``name`` (module docstring for the contract).

    Raises ``ValueError`` for a name or an order taken by a different handler, or a name
    longer than the 32 characters ``InboundSms.handled_by`` holds.
    """
    entry = InboundHandler(name, handler, order, help_text, find_labels)
    if len(name) > 32:
        raise ValueError(f"inbound handler name {name!r} is longer than 32 characters")
    existing = _handlers.get(name)
    if existing is not None:
        if existing != entry:
            raise ValueError(f"inbound handler {name!r} is already registered differently")
        return
    for other in _handlers.values():
        if other.order == order:
            raise ValueError(f"order {order} is taken by inbound handler {other.name!r}")
    _handlers[name] = entry


def unregister_inbound_handler(name: str) -> None:
    """Remove a handler (tests that register their own)."""
    _handlers.pop(name, None)


def registered_handlers() -> list[InboundHandler]:
    """The handlers in the order they are offered messages."""
    return sorted(_handlers.values(), key=lambda entry: entry.order)


def outcome_label_for_search(term: str) -> list[str]:
    """The ``outcome_label`` values an admin search ``term`` may mean, per the handlers."""
    labels: list[str] = []
    for entry in registered_handlers():
        if entry.find_labels is not None:
            labels.extend(entry.find_labels(term))
    return labels


def help_reply() -> str:
    """The reply to a text no handler took, in the active language: the handlers' help
    sentences in order, or a plain notice when no handler offers help."""
    sentences = [entry.help_text() for entry in registered_handlers() if entry.help_text]
    if not sentences:
        return _("[Service Star] This number could not understand your message.")
    return " ".join(sentences)


def _prepare(message: InboundMessage, provider: str, texts: dict[str, str]) -> InboundItem:
    """The checks that need no database: the sender and the text (step 1). ``texts``
    keeps the batch's normalised texts by raw text: a blast's messages share a few
    forms (``TP 1234``), each normalised once."""
    try:
        phone = parse_phone(message.sender if isinstance(message.sender, str) else "")
    except InvalidPhoneError as exc:
        item = InboundItem(message=message, provider=provider, phone=None, text="")
        item.status, item.code, item.reason = InboundStatus.REFUSED, "bad_phone", exc.message
        return item
    if not is_readable(message.text):
        item = InboundItem(message=message, provider=provider, phone=phone, text="")
        item.status, item.code = InboundStatus.REFUSED, "bad_text"
        item.reason = gettext_lazy("This message could not be read.")
        return item
    raw: str = message.text  # type: ignore[assignment] -- is_readable checked it is a str
    text = texts.get(raw)
    if text is None:
        text = texts[raw] = normalize_sms(raw) if len(raw) <= NORMALIZE_MAX_CHARS else ""
    return InboundItem(message=message, provider=provider, phone=phone, text=text)


# Every column of a recorded message, in the order ``_Rows.row`` gives its values.
_RECORD_FIELDS = [
    *("provider", "message_id", "phone_hash", "phone_masked", "to_number", "text"),
    *("received_at", "created_at", "status", "code", "reply"),
    *("handled_by", "outcome_ref", "outcome_label"),
]
# What a decision sets (and a second decision may change).
_OUTCOME_FIELDS = ("status", "code", "reply", "handled_by", "outcome_ref", "outcome_label")


# An item's outcome as a tuple in ``_OUTCOME_FIELDS`` order.
_outcome = operator.attrgetter(*_OUTCOME_FIELDS)


class _Rows:
    """Recorded messages as rows in ``_RECORD_FIELDS`` order, for one batch: the raw texts
    as stored (``clean_raw_text``, which masks numbers) are cleaned once per distinct
    text, as a blast's messages share a few forms and one number texted."""

    def __init__(self, *, provider: str, now: dt.datetime) -> None:
        self.provider = provider
        self.adapt = connection.ops.adapt_datetimefield_value
        self.stamp = self.adapt(now)
        self.cleaned: dict[str, str] = {}

    def _clean(self, text: object) -> str:
        if not isinstance(text, str):
            return clean_raw_text(text)
        cleaned = self.cleaned.get(text)
        if cleaned is None:
            cleaned = self.cleaned[text] = clean_raw_text(text)
        return cleaned

    def row(self, item: InboundItem) -> list[object]:
        message, phone = item.message, item.phone
        return [
            *(self.provider, message.id),
            *(phone.hash if phone else "", phone.masked if phone else ""),
            *(self._clean(message.to)[:32], self._clean(message.text)),
            *(self.adapt(message.received_at), self.stamp),
            *_outcome(item),
        ]


def _record(items: list[InboundItem], *, provider: str, now: dt.datetime) -> set[str]:
    """Step 4: write the messages with their outcomes; return the ids now this delivery's
    own (an id recorded by another delivery, even one committed while this INSERT waited
    for it, is skipped)."""
    rows = _Rows(provider=provider, now=now)
    # Sorted ids: concurrent batches sharing ids take the index entries in one order.
    returned = insert_rows(
        InboundSms,
        _RECORD_FIELDS,
        [rows.row(item) for item in sorted(items, key=lambda item: item.message.id or "")],
        tail="ON CONFLICT (provider, message_id) DO NOTHING RETURNING message_id",
    )
    return {row[0] for row in returned}


def _update_outcomes(items: list[InboundItem], *, provider: str, now: dt.datetime) -> None:
    """The recorded rows' new outcomes, one ``INSERT … ON CONFLICT DO UPDATE`` (every row
    exists, recorded by this transaction), not one UPDATE per row."""
    rows = _Rows(provider=provider, now=now)
    insert_rows(
        InboundSms,
        _RECORD_FIELDS,
        [rows.row(item) for item in items],
        tail=(
            "ON CONFLICT (provider, message_id) DO UPDATE SET status = excluded.status, "
            "code = excluded.code, reply = excluded.reply, handled_by = excluded.handled_by, "
            "vote_id = excluded.vote_id, outcome_label = excluded.outcome_label"
        ),
    )


def originals_sql() -> str:
    """The ids-seen-before read on PostgreSQL: one probe of the ``(provider, message_id)``
    unique index per id. Asked as ``provider = %s AND message_id = ANY(…)``, the planner,
    with no statistics yet (a young table: a campaign's first minutes, every benchmark
    run), takes the list of a thousand ids for one that matches nearly everything and
    reads every message of the provider instead, a cost that grows with the table (1.46
    million index entries in a 60-batch bench; docs/benchmarks.md, "Vote paths, issue 12,
    fourth session"). Joined to the unnested list, it could still hash a whole table
    whose statistics are stale (seen once in the test suite: 40,000 rows read for 200
    ids). Each id's own subquery, kept apart from the join by ``OFFSET 0``, can only be a
    loop over the ids with one probe each, whatever the statistics say."""
    provider, message_id, reply = quoted_columns(InboundSms, "provider", "message_id", "reply")
    # Names from _meta: no user input in the text; the values travel as parameters.
    return (
        f"SELECT seen.{message_id}, seen.{reply} FROM unnest(%s::text[]) AS ids(id) "  # noqa: S608
        f"CROSS JOIN LATERAL (SELECT {message_id}, {reply} FROM {quoted_table(InboundSms)} "
        f"WHERE {provider} = %s AND {message_id} = ids.id OFFSET 0) AS seen"
    )


def _originals(provider: str, ids: set[str]) -> dict[str, str]:
    """Replies of the messages another delivery recorded (committed) with these ids."""
    if not ids:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(originals_sql(), [list(ids), provider])
            return dict(cursor.fetchall())
    return dict(
        InboundSms.objects.filter(provider=provider, message_id__among=ids)
        .order_by()  # one row per id: no sort wanted
        .values_list("message_id", "reply")
    )


def _decide(items: list[InboundItem], *, now: dt.datetime) -> list[InboundDecision]:
    """Step 3: offer what is still undecided to each handler in order, then the help reply
    and the router's own refusals; returns the handlers' decisions, in handler order."""
    decisions = []
    for entry in registered_handlers():
        undecided = [item for item in items if not item.status]
        if not undecided:
            break
        decision = entry.handle(undecided, now=now)
        if decision is not None:
            decisions.append(decision)
        for item in undecided:
            if not item.status:
                continue
            if item.status not in DECIDED_STATUSES:
                raise ValueError(f"inbound handler {entry.name!r} set status {item.status!r}")
            item.handled_by = entry.name
    _write_replies(items)
    return decisions


def _write_replies(items: list[InboundItem]) -> None:
    """The help reply for what no handler took, and the router's own refusals: each text
    rendered once per language."""
    texts: dict[tuple[str, str], str] = {}
    for item in items:
        if not item.status:
            item.status = InboundStatus.HELP
            key = ("", item.language)
            if key not in texts:
                with translation.override(item.language):
                    texts[key] = help_reply()
            item.reply = texts[key]
        elif item.reason:
            key = (item.code, str(item.reason), item.language)
            if key not in texts:
                with translation.override(item.language):
                    texts[key] = _(
                        "[Service Star] Your message could not be handled: %(reason)s"
                    ) % {"reason": str(item.reason)}
            item.reply = texts[key]


# The planner's cost of a page read out of order, for the batch's transaction. A batch
# looks up a thousand keys at a time (message ids, phones, voters); PostgreSQL's default
# (4, a spinning disk's seek) made it scan whole tables of up to a hundred thousand rows
# rather than probe their indexes, and the scans grew with the tables: at 60,000 messages
# the batch's four such reads took 53 ms, 16 ms through the indexes with 1.1, the usual
# value where the data is in memory or on SSD (docs/benchmarks.md, "Vote paths, issue 12,
# third session").
_BATCH_RANDOM_PAGE_COST = "1.1"


def _plan_for_key_lists() -> None:
    """``SET LOCAL random_page_cost`` for the rest of the batch's transaction (PostgreSQL;
    it ends with the transaction, whatever happens)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL random_page_cost = {_BATCH_RANDOM_PAGE_COST}")


def _route(items: list[InboundItem], *, provider: str) -> tuple[set[str], dict[str, str]]:
    """Steps 2 to 5 in the caller's transaction; returns the ids recorded by this delivery and
    the stored replies of the others."""
    _plan_for_key_lists()
    now = db_now()
    earlier = _originals(provider, {item.message.id for item in items})
    mine = [item for item in items if item.message.id not in earlier]
    languages = reply_languages(item.phone.hash for item in mine if item.phone)
    fallback = settings.LANGUAGE_CODE
    for item in mine:
        item.language = languages.get(item.phone.hash, fallback) if item.phone else fallback
    decisions = _decide(mine, now=now)
    recorded = _record(mine, provider=provider, now=now)
    lost = {item.message.id for item in mine} - recorded
    if lost:
        earlier.update(_originals(provider, lost))
        dropped = [item for item in mine if item.message.id in lost]
        mine = [item for item in mine if item.message.id in recorded]
        before = {id(item): _outcome(item) for item in mine}
        for decision in decisions:
            decision.drop(dropped)
        moved = [item for item in mine if _outcome(item) != before[id(item)]]
        _update_outcomes(moved, provider=provider, now=now)
    before = {id(item): _outcome(item) for item in mine}
    for decision in decisions:
        decision.write()
    moved = [item for item in mine if _outcome(item) != before[id(item)]]
    _update_outcomes(moved, provider=provider, now=now)
    if mine:
        wake_sms_sender_on_commit()
    return recorded, earlier


def _results(
    messages: Sequence[InboundMessage],
    decided: dict[int, SmsResult],
    repeats: list[tuple[int, int]],
) -> list[SmsResult]:
    for index, first in repeats:
        decided[index] = SmsResult(
            id=messages[index].id, status=DUPLICATE, reply=decided[first].reply
        )
    return [decided[index] for index in range(len(messages))]


def route_sms_batch(messages: Sequence[InboundMessage], *, provider: str) -> list[SmsResult]:
    """Decide and record a batch of inbound SMS; return one result per message, in order.

    Writes, in one transaction (module docstring for the steps and the lock order): one
    ``InboundSms`` per new message id with its outcome (written once), and whatever the
    handlers write (votes, receipts). Queues on commit: a wake-up of the SMS sender. A
    message id seen before (in an earlier delivery or earlier in this batch) is
    ``duplicate`` with the original reply and writes nothing. Raises nothing for bad messages (they are
    results); ``ValueError`` if the batch exceeds ``MAX_BATCH`` (adapters check first);
    whatever a handler raises, after rolling the batch back.
    """
    if len(messages) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} messages per batch")
    decided: dict[int, SmsResult] = {}
    first_of: dict[str, int] = {}
    indexed: list[tuple[int, InboundItem]] = []
    repeats: list[tuple[int, int]] = []  # (index, index of the first with its id)
    texts: dict[str, str] = {}
    for index, message in enumerate(messages):
        if message.id is None:
            decided[index] = SmsResult(
                id=None, status=InboundStatus.REFUSED, code="bad_message", reply=""
            )
        elif message.id in first_of:
            repeats.append((index, first_of[message.id]))
        else:
            first_of[message.id] = index
            indexed.append((index, _prepare(message, provider, texts)))
    items = [item for _index, item in indexed]
    with transaction.atomic():
        recorded, earlier = _route(items, provider=provider)
    for index, item in indexed:
        if item.message.id in recorded:
            decided[index] = SmsResult(
                id=item.message.id,
                status=item.status,
                code=item.code,
                reply=item.reply,
                handled_by=item.handled_by,
                outcome_ref=item.outcome_ref,
            )
        else:
            reply = earlier.get(item.message.id, "")
            decided[index] = SmsResult(id=item.message.id, status=DUPLICATE, reply=reply)
    return _results(messages, decided, repeats)
