"""The judge component of the result engine (``campaigns.components``).

The provider returns each scored contestant's judge score on 0-100 (``evaluations.scoring``:
trimmed means per judge type, the panel's type weights, raw or normalised as the panel
says), so the component registers on ``score_range(0, 100)`` whatever a stage's rubric
adds up to. A stage without a panel has no judge scores (an empty mapping).
"""

from decimal import Decimal

from campaigns.choices import ComponentKey
from campaigns.components import register_component, score_range
from campaigns.models import Stage
from evaluations import selectors
from evaluations.models import Panel

JUDGE_SCALE = score_range(0, 100)


def judge_score(stage: Stage) -> dict[int, Decimal]:
    """The judge score (0-100) per scored contestant of ``stage``."""
    panel = Panel.objects.filter(stage=stage).first()
    if panel is None:
        return {}
    return {cid: result.score for cid, result in selectors.contestant_scores(panel).items()}


def register() -> None:
    """Register the provider (called from ``EvaluationsConfig.ready``; idempotent)."""
    register_component(ComponentKey.JUDGE_SCORE, judge_score, scale=JUDGE_SCALE)
