# ruff: noqa: RUF001, RUF002 -- full-width characters in the reply grammar are the point
"""Rating replies by SMS: the inbound handler evaluations registers with the router
(``campaigns.messaging.inbound.router``, order ``REPLY_ORDER``: after the vote keywords, so a
message that is a vote stays a vote).

The grammar (``parse_rating_reply``), on the router's normalised text (NFKC, case-folded,
whitespace collapsed; full-width ``１０`` is already ``10``):

- ``1`` … ``10``, optionally followed by ``分``, then optionally a separator and a comment:
  ``9``, ``10分``, ``8 queue was long``, ``7，等太久``;
- ``非常满意`` / ``很满意`` / ``满意`` → 10, ``一般`` / ``基本满意`` → 6, ``不满意`` /
  ``很不满意`` / ``非常不满意`` → 2, each optionally followed by a comment;
- ``td`` / ``退订`` (alone, punctuation allowed): opt out of every future invitation.

Anything else (``0``, ``11``, ``7.5``, digits of other scripts, emoji) is not a rating.

Matching: a rating belongs to the sender's latest invitation *sent* in the last
``EVALUATIONS_REPLY_WINDOW_HOURS`` (48) that is not answered yet. Outcomes, per message:

========================================  =============  ==========================
case                                      status         code
========================================  =============  ==========================
rating matched to an open invitation      evaluation     (a ``Rating`` row)
opt-out                                   evaluation     (a ``RatingOptOut`` row)
rating, latest invitation answered/late   refused        ``rating_late``
rating, no invitation in 30 days          refused        ``rating_unmatched``
unreadable, open invitation               refused        ``rating_unreadable``
anything else                             untouched (the router's help reply)
========================================  =============  ==========================

Every answer is polite and in the sender's language. Ratings are append-only rows; an
invitation moves ``sent → answered`` once (its row is locked in id order first, so two
replies in concurrent batches rate it once: the second is ``rating_late``).
"""

import datetime as dt
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from campaigns.messaging.choices import InboundStatus
from campaigns.messaging.inbound.router import InboundItem
from campaigns.messaging.inbound.text import clean_raw_text
from evaluations.measurement.choices import InvitationStatus
from evaluations.models import Rating, RatingInvitation, RatingOptOut

HANDLER_NAME = "ratings"
COMMENT_MAX_CHARS = 300
UNMATCHED_LOOKBACK = dt.timedelta(days=30)

_SCORE = re.compile(r"^(10|[1-9])(?![0-9.])\s*分?\s*[,，.。:：;；!！\-—~～、\s]*(.*)$", re.ASCII)
_WORDS = (
    ("非常不满意", 2),
    ("很不满意", 2),
    ("不满意", 2),
    ("非常满意", 10),
    ("很满意", 10),
    ("基本满意", 6),
    ("满意", 10),
    ("一般", 6),
)
_OPT_OUT = re.compile(r"^(td|退订)[\s.。!！]*$")
_SEPARATORS = " ,，.。:：;；!！-—~～、"


@dataclass(frozen=True)
class ParsedReply:
    """``kind`` is ``rating`` (with ``score`` and ``comment``) or ``opt_out``."""

    kind: str
    score: int = 0
    comment: str = ""


def parse_rating_reply(text: str) -> ParsedReply | None:
    """The rating or opt-out a normalised text means, or ``None`` (module docstring)."""
    if _OPT_OUT.match(text):
        return ParsedReply("opt_out")
    match = _SCORE.match(text)
    if match:
        return ParsedReply("rating", int(match[1]), match[2].strip()[:COMMENT_MAX_CHARS])
    for word, score in _WORDS:
        if text.startswith(word):
            comment = text[len(word) :].lstrip(_SEPARATORS).strip()
            return ParsedReply("rating", score, comment[:COMMENT_MAX_CHARS])
    return None


def help_text() -> str:
    """The ratings sentence of the router's help reply, in the active language."""
    return _("To rate the staff member who served you, reply with a score from 1 to 10.")


def _latest_invitations(hashes: set[str], *, now: dt.datetime) -> dict[str, RatingInvitation]:
    """Each sender's newest invitation sent in the last 30 days, locked (id order)."""
    rows = list(
        RatingInvitation.objects.select_for_update(of=("self",))
        .filter(
            phone_hash__among=hashes,
            status__in=(InvitationStatus.SENT, InvitationStatus.ANSWERED),
            sent_at__gte=now - UNMATCHED_LOOKBACK,
        )
        .select_related("service_transaction")
        .order_by("pk")
    )
    latest: dict[str, RatingInvitation] = {}
    for row in rows:
        current = latest.get(row.phone_hash)
        if current is None or (row.sent_at, row.pk) > (current.sent_at, current.pk):
            latest[row.phone_hash] = row
    return latest


def _answer(item: InboundItem, status: str, reply: str, code: str = "") -> None:
    item.status, item.reply, item.code, item.handled_by = status, reply, code, HANDLER_NAME


def _write_opt_outs(items: list[InboundItem], *, now: dt.datetime) -> None:
    phones = {item.phone.hash: item.phone.masked for item in items}
    RatingOptOut.objects.bulk_create(
        [RatingOptOut(phone_hash=h, phone_masked=m, created_at=now) for h, m in phones.items()],
        ignore_conflicts=True,
    )
    RatingInvitation.objects.filter(
        phone_hash__in=phones, status=InvitationStatus.SCHEDULED
    ).update(status=InvitationStatus.SKIPPED, skip_reason="opted_out", phone_e164="")


def _write_ratings(ratings: list[tuple[InboundItem, Rating]], answered: list[int]) -> None:
    created = Rating.objects.bulk_create([rating for _item, rating in ratings])
    for (item, _rating), row in zip(ratings, created, strict=True):
        item.outcome_ref = row.pk
    RatingInvitation.objects.filter(pk__in=answered).update(status=InvitationStatus.ANSWERED)


def _answer_opt_outs(items: list[InboundItem]) -> None:
    for item in items:
        with translation.override(item.language or settings.LANGUAGE_CODE):
            _answer(
                item,
                InboundStatus.EVALUATION,
                _("[Service Star] You will receive no more rating requests. Thank you."),
            )


@dataclass
class _Replies:
    """A batch's decided rating replies and opt-outs, not yet written (the router's
    ``InboundDecision``)."""

    items: list[InboundItem]
    now: dt.datetime
    opt_outs: list[InboundItem] = field(default_factory=list)
    ratings: list[tuple[InboundItem, Rating]] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)

    def decide(self) -> None:
        parsed = {id(item): parse_rating_reply(item.text) for item in self.items if item.phone}
        self.opt_outs = [
            item for item in self.items if (p := parsed.get(id(item))) and p.kind == "opt_out"
        ]
        _answer_opt_outs(self.opt_outs)
        candidates = [item for item in self.items if item.phone and item not in self.opt_outs]
        self.ratings, self.answered = [], []
        if candidates:
            _decide_ratings(candidates, parsed, self.ratings, self.answered, now=self.now)

    def drop(self, items: list[InboundItem]) -> None:
        """Decide again without ``items`` (another delivery's): a reply they made late may
        now be the one that rates its invitation. The same locked read, again."""
        gone = {id(item) for item in items}
        if not any(id(item) in gone for item in self.items):
            return
        self.items = [item for item in self.items if id(item) not in gone]
        for item in self.items:
            if item.handled_by == HANDLER_NAME:  # not the router's help for the others
                item.status = item.code = item.reply = item.handled_by = ""
        self.decide()

    def write(self) -> None:
        if self.opt_outs:
            _write_opt_outs(self.opt_outs, now=self.now)
        if self.ratings:
            _write_ratings(self.ratings, self.answered)


def handle_rating_replies(items: list[InboundItem], *, now: dt.datetime) -> _Replies | None:
    """Decide the batch's rating replies and opt-outs (module docstring), set-based;
    return the decision (the router's handler contract), or ``None`` for nothing to write.

    Statements: deciding, one locked read of the senders' invitations (their lock orders
    two replies to one invitation); writing, at most one insert of ratings, one update of
    invitations, one insert of opt-outs and one update of their scheduled invitations.
    Leaves every message it does not understand to the next handler.
    """
    decision = _Replies(items, now)
    decision.decide()
    if not decision.opt_outs and not decision.ratings:
        return None
    return decision


def _decide_ratings(
    candidates: list[InboundItem],
    parsed: dict[int, ParsedReply | None],
    ratings: list[tuple[InboundItem, Rating]],
    answered: list[int],
    *,
    now: dt.datetime,
) -> None:
    """Answer each sender's reply against their latest invitation (locked); the accepted
    ratings are added to ``ratings`` and their invitations to ``answered``."""
    latest = _latest_invitations({item.phone.hash for item in candidates}, now=now)
    window = dt.timedelta(hours=settings.EVALUATIONS_REPLY_WINDOW_HOURS)
    for item in candidates:
        reply, invitation = parsed.get(id(item)), latest.get(item.phone.hash)
        is_open = (
            invitation is not None
            and invitation.status == InvitationStatus.SENT
            and invitation.sent_at >= now - window
        )
        if reply is None and not is_open:
            continue  # not a rating, and no invitation waits for one: the next handler's
        with translation.override(item.language or settings.LANGUAGE_CODE):
            if reply is None:
                if is_open:
                    _answer(
                        item,
                        InboundStatus.REFUSED,
                        _(
                            "[Service Star] Sorry, we could not read your rating. Please reply "
                            "with a number from 1 to 10."
                        ),
                        "rating_unreadable",
                    )
                continue
            if invitation is None:
                _answer(
                    item,
                    InboundStatus.REFUSED,
                    _(
                        "[Service Star] Thank you. We found no recent service to rate for this "
                        "number."
                    ),
                    "rating_unmatched",
                )
                continue
            if not is_open:
                _answer(
                    item,
                    InboundStatus.REFUSED,
                    _(
                        "[Service Star] Thank you. This service has already been rated or the "
                        "time to rate it has passed."
                    ),
                    "rating_late",
                )
                continue
            invitation.status = InvitationStatus.ANSWERED  # a second reply in the batch is late
            answered.append(invitation.pk)
            ratings.append(
                (
                    item,
                    Rating(
                        invitation=invitation,
                        staff_member_id=invitation.staff_member_id,
                        unit_id=invitation.service_transaction.unit_id,
                        phone_hash=item.phone.hash,
                        score=reply.score,
                        comment=clean_raw_text(reply.comment)[:COMMENT_MAX_CHARS],
                        rated_at=now,
                    ),
                )
            )
            _answer(
                item,
                InboundStatus.EVALUATION,
                _("[Service Star] Thank you for your rating of %(score)s.")
                % {"score": reply.score},
            )
