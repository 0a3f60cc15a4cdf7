"""What the vote pages tell a voter beyond the form: which channels the stage counts, its
limits, and whether a "vote for another candidate" still makes sense.

A stage counts votes only by the channels its rules weight (``voting.ledger.rules``): its
vote page offers the web form only when web votes count, points to SMS only when SMS votes
count, and says why when this page's channel does not count.
"""

from typing import Any

from campaigns.models import Stage
from campaigns.public import vote_limit_text
from staff.exceptions import DomainError
from voting.choices import LimitKind, VoteChannel
from voting.exceptions import LimitReachedError
from voting.ledger.rules import channel_not_used_message, channel_used
from voting.ledger.services import CastResult


def channel_hints(stage: Stage, channel: str, *, running: bool) -> dict[str, Any]:
    """Template context for a vote page of ``channel`` in ``stage`` (``running``: open and
    the candidate still in): ``channel_refusal`` (why this channel cannot vote, or ""),
    ``offer_sms`` (point to SMS voting) and ``limit_text`` (the stage's limits)."""
    counted = channel_used(stage.weights, channel)
    return {
        "channel_refusal": channel_not_used_message(channel) if running and not counted else "",
        "offer_sms": running
        and channel == VoteChannel.WEB
        and channel_used(stage.weights, VoteChannel.SMS),
        "limit_text": vote_limit_text(stage),
    }


def votes_left_after(result: CastResult | None, error: DomainError | None) -> bool:
    """Whether the voter may still vote today after this answer: not after their last vote
    of the day, nor after a refusal by the day's or the stage's limit (the result page then
    offers no "vote for another candidate")."""
    if result is not None:
        return result.remaining_today != 0
    return not (
        isinstance(error, LimitReachedError) and error.limit in (LimitKind.DAY, LimitKind.STAGE)
    )
