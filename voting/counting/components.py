"""The votes components of the result engine (``campaigns.components``): valid votes per
contestant of a stage, one provider per channel.

Each reads the counted votes (``voting.counting.tallies.counted_votes``: tallies plus pending
outbox events, one statement), never the ledger: exactly the valid votes committed so far,
at the cost of a small read however many votes a stage has.
"""

from campaigns.choices import ComponentKey
from campaigns.components import VOTE_SHARE, register_component
from campaigns.models import Stage
from voting.choices import VoteChannel
from voting.counting.tallies import counted_votes_by_contestant


def web_votes(stage: Stage) -> dict[int, int]:
    """Valid web votes per contestant of ``stage``."""
    return counted_votes_by_contestant(stage, channel=VoteChannel.WEB)


def sms_votes(stage: Stage) -> dict[int, int]:
    """Valid SMS votes per contestant of ``stage``."""
    return counted_votes_by_contestant(stage, channel=VoteChannel.SMS)


def audience_votes(stage: Stage) -> dict[int, int]:
    """Valid audience votes per contestant of ``stage``."""
    return counted_votes_by_contestant(stage, channel=VoteChannel.AUDIENCE)


def register() -> None:
    """Register the three providers (called from ``VotingConfig.ready``; idempotent)."""
    register_component(ComponentKey.WEB_VOTES, web_votes, scale=VOTE_SHARE)
    register_component(ComponentKey.SMS_VOTES, sms_votes, scale=VOTE_SHARE)
    register_component(ComponentKey.AUDIENCE_VOTES, audience_votes, scale=VOTE_SHARE)
