"""The fraud review's served share: per candidate, how many counted votes came from
customers the candidate actually served (a reported transaction, ``Vote.is_served``).

A candidate with many votes and almost no served customers among them is worth a look;
one whose voters are mostly served customers is not. Read from the counted votes
(``voting.counting.tallies.counted_votes_served``: tallies plus pending events, one
statement), so the share agrees with the recount and with the results.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from campaigns.models import Contestant
from voting.counting.tallies import counted_votes_served

_ONE_PLACE = Decimal("0.1")


@dataclass(frozen=True)
class ServedShare:
    """One candidate's valid votes, served customers' votes among them, and the share in
    percent (one decimal; ``None`` without valid votes)."""

    contestant: Contestant
    valid: int
    served: int

    @property
    def percent(self) -> Decimal | None:
        if self.valid <= 0:
            return None
        share = Decimal(self.served) * 100 / Decimal(self.valid)
        return share.quantize(_ONE_PLACE, rounding=ROUND_HALF_UP)


def served_shares(stage_id: int) -> list[ServedShare]:
    """Every candidate of the stage with counted votes, most votes first (two queries)."""
    totals: dict[int, list[int]] = {}
    for (contestant_id, _channel), (votes, served) in counted_votes_served(stage_id).items():
        counts = totals.setdefault(contestant_id, [0, 0])
        counts[0] += votes
        counts[1] += served
    contestants = Contestant.objects.select_related("staff_member").in_bulk(totals)
    shares = [
        ServedShare(contestant=contestants[cid], valid=valid, served=served)
        for cid, (valid, served) in totals.items()
        if cid in contestants
    ]
    shares.sort(key=lambda share: (-share.valid, share.contestant.pk))
    return shares
