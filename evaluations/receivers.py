"""Receivers of the signals that lower apps send: connected in
``EvaluationsConfig.ready()``, each one a thin call of one evaluations service."""

from typing import Any

from campaigns.models import Campaign
from evaluations.demo import LiveDemoSummary, seed_live_contest
from evaluations.measurement.demo import DemoMeasurementSummary, Progress, seed_demo_measurement


def seed_live_contest_on_demo_campaign(
    sender: type[Campaign], *, campaign: Campaign, base_url: str = "", **kwargs: Any
) -> LiveDemoSummary | None:
    """``campaigns.signals.demo_campaign_seeded``: create the live-contest demo beside the
    demo campaign (``evaluations.demo.seed_live_contest``)."""
    return seed_live_contest(base_url=base_url or "http://127.0.0.1:8000")


def seed_demo_measurement_on_demo_campaign(
    sender: type[Campaign],
    *,
    campaign: Campaign,
    progress: Progress | None = None,
    **kwargs: Any,
) -> DemoMeasurementSummary:
    """``campaigns.signals.demo_campaign_seeded``: three months of demo service measurement
    (``evaluations.measurement.demo``), with the campaign's stage 1 reading it."""
    stage = campaign.stages.order_by("order").first()
    return seed_demo_measurement(stage=stage, progress=progress)
