"""Celery entry points of SMS messaging. Thin: call one service, log, return a small value.

A leaf for imports: services wake these tasks by name (``staff.wakeups``); the tasks
import services inside their bodies.
"""

import logging

from celery import shared_task
from django.db import OperationalError

logger = logging.getLogger(__name__)


@shared_task(
    name="campaigns.send_pending_sms",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=3,
    soft_time_limit=60,
    time_limit=90,
)
def send_pending_sms_task(self) -> dict[str, int]:
    """Drain the SMS outbox (woken on commit, and swept by beat every few seconds).

    Takes no arguments: it claims due rows itself, so duplicates and overlaps are harmless.
    Retries only database connection errors.
    """
    from campaigns.messaging.sender import send_pending_sms  # noqa: PLC0415 -- leaf

    try:
        report = send_pending_sms()
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=5) from exc
    if any(report.values()):
        logger.info("outbound SMS: %s", report)
    return report
