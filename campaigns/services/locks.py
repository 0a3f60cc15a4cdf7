"""Finding a stage's neighbours and locking stage rows, in the one lock order.

Services lock the stage first, then the next stage (ascending ``order``), then contestant
and result rows; these helpers are the only way they take a stage lock.
"""

from campaigns.models import Stage


def lock_stage(stage: Stage | int) -> Stage:
    """The stage row, re-read under ``SELECT ... FOR UPDATE``."""
    pk = stage.pk if isinstance(stage, Stage) else stage
    return Stage.objects.select_for_update().get(pk=pk)


def previous_stage_of(stage: Stage) -> Stage | None:
    """The stage before this one in its campaign (not locked), or ``None``."""
    return (
        Stage.objects.filter(campaign_id=stage.campaign_id, order__lt=stage.order)
        .order_by("-order")
        .first()
    )


def next_stage_of(stage: Stage, *, lock: bool = False) -> Stage | None:
    """The stage after this one in its campaign, locked if ``lock``, or ``None``."""
    queryset = Stage.objects.filter(campaign_id=stage.campaign_id, order__gt=stage.order)
    if lock:
        queryset = queryset.select_for_update()
    return queryset.order_by("order").first()
