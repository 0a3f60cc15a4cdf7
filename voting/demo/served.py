"""Demo served customers' votes: some customers the candidates served vote for them.

The generated demo ledger (``voting.demo.seeding``) comes from fake voters who were never
anybody's customers, so every vote in it is unserved. Once ``evaluations`` has seeded its
transactions (``campaigns.signals.demo_data_seeded`` comes after every app's demo data),
this asks for up to ``PER_CANDIDATE`` customers of each of the first ``CANDIDATES``
candidates of stage 1 (``campaigns.served.served_customers``) and casts one vote from each
for the candidate who served them, through the real vote path (``cast_vote``): its limits,
its served-customer lookup (which marks these votes served) and its tally events. Every
third is an SMS vote, the rest web votes. At most 300 votes in one transaction: a few
seconds on a busy machine (597 took 9.7 s there; a web vote's served lookup is about half
of its cost under load).

Idempotent: a customer who already voted in the stage is skipped.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from campaigns.choices import ContestantStatus, StageStatus
from campaigns.clock import db_now
from campaigns.models import Stage
from campaigns.served import served_customers
from voting.choices import VoteChannel
from voting.exceptions import VotingError
from voting.ledger.served import served_window
from voting.ledger.services import cast_vote
from voting.models import Vote

CANDIDATES = 100
PER_CANDIDATE = 3
# Provider message ids of the demo's SMS votes: unique per voter and stage.
MESSAGE_PREFIX = "demo-served"


@dataclass(frozen=True)
class ServedDemoSummary:
    """How many served customers' votes the run cast, and how many were already there."""

    stage_id: int
    created: int
    existing: int

    def __str__(self) -> str:
        return _("Served customers' votes: %(created)s cast (%(existing)s already there).") % {
            "created": self.created,
            "existing": self.existing,
        }


def seed_served_demo_votes(stage: Stage) -> ServedDemoSummary | None:
    """Cast the demo's served customers' votes in ``stage`` (module docstring); ``None``
    when the stage is not open for votes."""
    if stage.status != StageStatus.OPEN:
        return None
    candidates = dict(
        stage.contestants.filter(status=ContestantStatus.IN)
        .order_by("running_order", "pk")
        .values_list("staff_member_id", "pk")[:CANDIDATES]
    )
    start, end = served_window(stage.opens_at, stage.closes_at, now=db_now())
    customers = served_customers(list(candidates), start=start, end=end, per_staff=PER_CANDIDATE)
    voted = set(
        Vote.objects.filter(
            stage=stage, voter_hash__in={phone_hash for _s, phone_hash, _m in customers}
        ).values_list("voter_hash", flat=True)
    )
    existing = len(voted)
    # One transaction for all of them (each ``cast_vote`` a savepoint in it): a commit per
    # vote cost about 30 ms on a busy machine.
    with transaction.atomic():
        created = _cast_all(stage, candidates, customers, voted)
    return ServedDemoSummary(stage_id=stage.pk, created=created, existing=existing)


def _cast_all(
    stage: Stage,
    candidates: dict[int, int],
    customers: list[tuple[int, str, str]],
    voted: set[str],
) -> int:
    """Cast one vote per customer not in ``voted`` for the candidate who served them."""
    created = 0
    for index, (staff_id, phone_hash, masked) in enumerate(customers):
        if phone_hash in voted:
            continue
        sms = index % 3 == 0
        try:
            cast_vote(
                stage,
                contestant=candidates[staff_id],
                voter_hash=phone_hash,
                phone_masked=masked,
                channel=VoteChannel.SMS if sms else VoteChannel.WEB,
                provider_message_id=f"{MESSAGE_PREFIX}:{stage.pk}:{phone_hash[:24]}"
                if sms
                else None,
            )
        except VotingError:
            continue  # a limit, or the customer is staff: the vote path's answer stands
        voted.add(phone_hash)
        created += 1
    return created
