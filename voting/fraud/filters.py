"""The vote filters that the admin changelist and the background vote jobs share: the
changelist's GET parameters as data (``VoteFilter``), re-applied by every batch of a job.

A job's selection is frozen at the highest vote id seen in the preview (``max_vote_id``),
so votes cast later are never swept in and a re-run finds exactly the same votes.
"""

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from staff.admin_phone_search import PHONE_HASH_PARAM
from voting.choices import VoteChannel, VoteStatus
from voting.fraud.patterns import suspicious_votes
from voting.ledger.receipts import normalize_receipt_code
from voting.models import Vote

# Parameter names of the admin changelist (voting.admin.votes) that a background job accepts.
STAGE_PARAM = "stage__id__exact"
CANDIDATE_PARAM = "contestant__id__exact"
CHANNEL_PARAM = "channel__exact"
STATUS_PARAM = "status__exact"
HOUR_PARAM = "hour"
SUSPICIOUS_PARAM = "suspicious"
SEARCH_PARAM = "q"
# One voter, by the keyed phone hash the changelist's phone search redirects to.
VOTER_PARAM = PHONE_HASH_PARAM
DATE_PARAMS = ("cast_at__year", "cast_at__month", "cast_at__day")
JOB_PARAMS = (
    STAGE_PARAM,
    CANDIDATE_PARAM,
    CHANNEL_PARAM,
    STATUS_PARAM,
    HOUR_PARAM,
    SUSPICIOUS_PARAM,
    SEARCH_PARAM,
    VOTER_PARAM,
    *DATE_PARAMS,
)
# Changelist parameters that do not narrow the selection.
NEUTRAL_PARAMS = ("o", "p", "_changelist_filters", "e", "_to_field", "_popup")


def _digits(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 19 else None


def search_votes(votes: QuerySet[Vote], term: str) -> QuerySet[Vote]:
    """Votes matching a search term: a receipt code (typed loosely), an employee number
    (exact), or a masked phone or part of one (``138****5678``, ``****5678``)."""
    term = unicodedata.normalize("NFKC", term or "").strip()
    if not term:
        return votes
    condition = Q(phone_masked__icontains=term[:16])
    receipt = normalize_receipt_code(term)
    if receipt is not None:
        condition |= Q(receipt_code=receipt)
    if term.isascii() and term.isdigit() and len(term) <= 16:
        condition |= Q(contestant__staff_member__employee_no=term)
    return votes.filter(condition)


@dataclass(frozen=True)
class VoteFilter:
    """The changelist filters as data: what a background job re-applies in every batch.

    ``max_vote_id`` freezes the selection at the moment it was previewed: votes cast later
    are never swept in, and clusters are computed among the frozen votes only, so a
    re-run of the job finds exactly the same votes.
    """

    params: dict[str, str] = field(default_factory=dict)
    max_vote_id: int | None = None

    @classmethod
    def from_query(cls, query: Any, *, max_vote_id: int | None) -> "VoteFilter":
        """From a changelist's GET parameters; ``ValueError`` for one a job cannot apply."""
        params: dict[str, str] = {}
        for name in query:
            if name in NEUTRAL_PARAMS:
                continue
            if name not in JOB_PARAMS:
                raise ValueError(name)
            value = str(query.get(name, ""))[:200]
            if value:
                params[name] = value
        return cls(params=params, max_vote_id=max_vote_id)

    def base(self) -> QuerySet[Vote]:
        """The votes clusters are computed among: the stage's, frozen at ``max_vote_id``."""
        votes = Vote.objects.all()
        stage_id = _digits(self.params.get(STAGE_PARAM))
        if stage_id is not None:
            votes = votes.filter(stage_id=stage_id)
        if self.max_vote_id is not None:
            votes = votes.filter(pk__lte=self.max_vote_id)
        return votes

    def apply(self, votes: QuerySet[Vote] | None = None) -> QuerySet[Vote]:
        """The votes selected by these filters (unordered)."""
        base = self.base()
        votes = base if votes is None else votes.filter(pk__in=base.values("pk"))
        p = self.params
        simple = {
            "contestant_id": _digits(p.get(CANDIDATE_PARAM)),
            "cast_at__hour": _digits(p.get(HOUR_PARAM)),
            "cast_at__year": _digits(p.get("cast_at__year")),
            "cast_at__month": _digits(p.get("cast_at__month")),
            "cast_at__day": _digits(p.get("cast_at__day")),
        }
        for lookup, value in simple.items():
            if value is not None:
                votes = votes.filter(**{lookup: value})
        if p.get(CHANNEL_PARAM) in VoteChannel.values:
            votes = votes.filter(channel=p[CHANNEL_PARAM])
        if p.get(STATUS_PARAM) in VoteStatus.values:
            votes = votes.filter(status=p[STATUS_PARAM])
        if p.get(SUSPICIOUS_PARAM):
            votes = suspicious_votes(votes, p[SUSPICIOUS_PARAM], base=base)
        if p.get(SEARCH_PARAM):
            votes = search_votes(votes, p[SEARCH_PARAM])
        if p.get(VOTER_PARAM):
            votes = votes.filter(voter_hash=p[VOTER_PARAM][:64])
        return votes
