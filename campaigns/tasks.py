"""Celery entry points of the campaigns app. Thin: call one service, log, return ids."""

import logging

from celery import shared_task

from campaigns.services.stages import open_and_close_due_stages

logger = logging.getLogger(__name__)


@shared_task(name="campaigns.open_and_close_due_stages", acks_late=True, ignore_result=True)
def open_and_close_due_stages_task() -> dict[str, list[int]]:
    """Open and close stages whose scheduled times have passed (beat, every 30 s).

    Idempotent: a run that repeats or overlaps another finds the stages already moved and
    skips them (see ``services.open_and_close_due_stages``).
    """
    report = open_and_close_due_stages()
    if report["opened"] or report["closed"]:
        logger.info("stages opened %s, closed %s", report["opened"], report["closed"])
    return report
