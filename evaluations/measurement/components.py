"""Result-engine components of evaluation-based stages (``campaigns.components``).

An evaluation-based stage (``StageKind.EVALUATION``) ranks contestants from the monthly
rollups (``StaffMonth``) of the months in its window: the local months from the month of
``opens_at`` to the month of ``closes_at`` (the campaign's dates when the stage has none).

- *satisfaction*: the mean rating over those months (scale 1-10), for contestants with at
  least the stage's minimum number of ratings (``EvaluationStageRule.min_ratings``,
  ``EVALUATIONS_MIN_RATINGS`` by default); the others are omitted (0);
- *KPI score*: the mean monthly KPI score (0-100) of the months that have one;
- *inspection score*: the mean monthly inspection score of the contestant's store (0-100).

Other stage kinds get no values from these providers. Reads only; compute the months'
rollups first (``manage.py compute_rollups``).
"""

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings

from campaigns.choices import ComponentKey, StageKind
from campaigns.components import register_component, score_range
from campaigns.models import Stage
from evaluations.models import EvaluationStageRule, StaffMonth

MILLI = Decimal("0.001")


def stage_months(stage: Stage) -> list[dt.date]:
    """First days of the local months in the stage's window, oldest first."""
    zone = ZoneInfo(settings.TIME_ZONE)
    if stage.opens_at and stage.closes_at:
        first = stage.opens_at.astimezone(zone).date()
        last = (stage.closes_at - dt.timedelta(microseconds=1)).astimezone(zone).date()
    else:
        first, last = stage.campaign.starts_on, stage.campaign.ends_on
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = (current + dt.timedelta(days=32)).replace(day=1)
    return months


def _rows(stage: Stage, *fields: str) -> list[tuple]:
    if stage.kind != StageKind.EVALUATION:
        return []
    return list(
        StaffMonth.objects.filter(
            month__in=stage_months(stage), staff_member__contestants__stage=stage
        ).values_list("staff_member__contestants__id", *fields)
    )


def min_ratings(stage: Stage) -> int:
    rule = EvaluationStageRule.objects.filter(stage=stage).first()
    return rule.min_ratings if rule is not None else settings.EVALUATIONS_MIN_RATINGS


def satisfaction(stage: Stage) -> dict[int, Decimal]:
    """Mean rating per contestant over the stage's months, for those with enough ratings."""
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for contestant_id, count, total in _rows(stage, "rating_count", "rating_sum"):
        totals[contestant_id][0] += count
        totals[contestant_id][1] += total
    needed = min_ratings(stage)
    return {
        cid: (Decimal(total) / Decimal(count)).quantize(MILLI, ROUND_HALF_UP)
        for cid, (count, total) in totals.items()
        if count and count >= needed
    }


def _mean_of(stage: Stage, field: str) -> dict[int, Decimal]:
    values: dict[int, list[Decimal]] = defaultdict(list)
    for contestant_id, value in _rows(stage, field):
        if value is not None:
            values[contestant_id].append(value)
    return {
        cid: (sum(scores) / len(scores)).quantize(MILLI, ROUND_HALF_UP)
        for cid, scores in values.items()
    }


def kpi_score(stage: Stage) -> dict[int, Decimal]:
    """Mean monthly KPI score per contestant over the stage's months."""
    return _mean_of(stage, "kpi_score")


def inspection_score(stage: Stage) -> dict[int, Decimal]:
    """Mean monthly inspection score of each contestant's store over the stage's months."""
    return _mean_of(stage, "inspection_score")


def register() -> None:
    """Register the three providers (called from ``EvaluationsConfig.ready``; idempotent)."""
    register_component(ComponentKey.SATISFACTION, satisfaction, scale=score_range(1, 10))
    register_component(ComponentKey.KPI_SCORE, kpi_score, scale=score_range(0, 100))
    register_component(ComponentKey.INSPECTION_SCORE, inspection_score, scale=score_range(0, 100))
