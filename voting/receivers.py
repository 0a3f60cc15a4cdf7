"""Receivers of the signals that lower apps send: connected in
``VotingConfig.ready()``, each one a thin call of one voting service."""

from typing import Any

from campaigns.models import Campaign
from voting.demo.generation import Progress
from voting.demo.seeding import DemoVotesSummary, seed_demo_votes
from voting.demo.served import ServedDemoSummary, seed_served_demo_votes


def seed_demo_votes_on_demo_campaign(
    sender: type[Campaign],
    *,
    campaign: Campaign,
    votes: int,
    progress: Progress | None = None,
    **kwargs: Any,
) -> DemoVotesSummary | None:
    """``campaigns.signals.demo_campaign_seeded``: give the demo campaign's first stage
    ``votes`` demo votes (``voting.demo.seeding.seed_demo_votes``); ``None`` without a stage 1."""
    stage = campaign.stages.order_by("order").first()
    if stage is None:
        return None
    return seed_demo_votes(stage, votes=votes, progress=progress)


def seed_served_demo_votes_on_demo_data(
    sender: type[Campaign], *, campaign: Campaign, **kwargs: Any
) -> ServedDemoSummary | None:
    """``campaigns.signals.demo_data_seeded``: served customers' votes in the demo
    campaign's first stage (``voting.demo.served``), once the transactions exist."""
    stage = campaign.stages.order_by("order").first()
    if stage is None:
        return None
    return seed_served_demo_votes(stage)
