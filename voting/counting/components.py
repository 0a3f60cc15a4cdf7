"""The votes components of the result engine (``campaigns.components``): valid votes per
contestant of a stage, one provider per channel.

Each reads the counted votes (``voting.counting.tallies.counted_votes_served``: tallies plus
pending outbox events with their served part, one statement), never the ledger: exactly the
valid votes committed so far, at the cost of a small read however many votes a stage has.

The stage's served-customer rule applies here: a served customer's vote counts
``served_vote_weight`` times, and with ``served_votes_only`` the other votes count 0. The
served count per contestant (all channels) goes beside the results through
``campaigns.served.register_served_vote_counter``.
"""

from decimal import Decimal

from campaigns.choices import ComponentKey
from campaigns.components import VOTE_SHARE, register_component
from campaigns.models import Stage
from campaigns.served import register_served_vote_counter
from voting.choices import VoteChannel
from voting.counting.tallies import counted_votes_served


def weighted_votes(stage: Stage, *, channel: str) -> dict[int, Decimal | int]:
    """Valid votes per contestant of ``stage`` on ``channel``, by the served rule (whole
    counts stay integers, so the results show 12, not 12.00)."""
    weight = Decimal(stage.served_vote_weight)
    counted: dict[int, Decimal | int] = {}
    for (contestant_id, key_channel), (votes, served) in counted_votes_served(stage).items():
        if key_channel != channel:
            continue
        if stage.served_votes_only:
            counted[contestant_id] = served
            continue
        value = votes - served + served * weight
        counted[contestant_id] = int(value) if value == value.to_integral_value() else value
    return counted


def served_votes(stage: Stage) -> dict[int, int]:
    """Valid votes of served customers per contestant of ``stage``, all channels."""
    totals: dict[int, int] = {}
    for (contestant_id, _channel), (_votes, served) in counted_votes_served(stage).items():
        totals[contestant_id] = totals.get(contestant_id, 0) + served
    return totals


def web_votes(stage: Stage) -> dict[int, Decimal | int]:
    """Valid web votes per contestant of ``stage``."""
    return weighted_votes(stage, channel=VoteChannel.WEB)


def sms_votes(stage: Stage) -> dict[int, Decimal | int]:
    """Valid SMS votes per contestant of ``stage``."""
    return weighted_votes(stage, channel=VoteChannel.SMS)


def audience_votes(stage: Stage) -> dict[int, Decimal | int]:
    """Valid audience votes per contestant of ``stage``."""
    return weighted_votes(stage, channel=VoteChannel.AUDIENCE)


def register() -> None:
    """Register the three providers and the served counter (called from
    ``VotingConfig.ready``; idempotent)."""
    register_component(ComponentKey.WEB_VOTES, web_votes, scale=VOTE_SHARE)
    register_component(ComponentKey.SMS_VOTES, sms_votes, scale=VOTE_SHARE)
    register_component(ComponentKey.AUDIENCE_VOTES, audience_votes, scale=VOTE_SHARE)
    register_served_vote_counter(served_votes)
