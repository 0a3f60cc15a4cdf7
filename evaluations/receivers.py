"""Receivers of the signals that lower apps send (STYLE.md §2): connected in
``EvaluationsConfig.ready()``, each one a thin call of one evaluations service."""

from typing import Any

from campaigns.models import Campaign
from evaluations.demo import LiveDemoSummary, seed_live_contest


def seed_live_contest_on_demo_campaign(
    sender: type[Campaign], *, campaign: Campaign, base_url: str = "", **kwargs: Any
) -> LiveDemoSummary | None:
    """``campaigns.signals.demo_campaign_seeded``: create the live-contest demo beside the
    demo campaign (``evaluations.demo.seed_live_contest``)."""
    return seed_live_contest(base_url=base_url or "http://127.0.0.1:8000")
