"""Celery entry points of service measurement. Thin: call one service, log, return.

A leaf for imports: the task imports its service inside its body. Registered by
``EvaluationsConfig.ready()`` importing this module.
"""

import logging

from celery import shared_task
from django.db import OperationalError

logger = logging.getLogger(__name__)


@shared_task(
    name="evaluations.queue_rating_invitations",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=3,
    soft_time_limit=60,
    time_limit=90,
)
def queue_rating_invitations_task(self) -> dict[str, int]:
    """Queue the SMS of due rating invitations (beat, every minute). Takes no arguments:
    it claims due rows itself (``SKIP LOCKED``), so overlapping runs are harmless."""
    from evaluations.measurement.sending import queue_due_invitations  # noqa: PLC0415 -- leaf

    try:
        report = queue_due_invitations()
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=10) from exc
    if report.queued or report.skipped:
        logger.info("rating invitations: %s", report.as_json())
    return report.as_json()
