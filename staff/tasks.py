"""Celery entry points of the staff app. Thin: fetch ids, call one service."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="staff.purge_stale_imports", acks_late=True, ignore_result=True)
def purge_stale_imports_task(max_age_hours: int = 24) -> int:
    """Drop import previews nobody confirmed within ``max_age_hours``; idempotent."""
    from staff.importing.services import purge_stale_imports  # noqa: PLC0415 -- leaf

    purged = purge_stale_imports(max_age_hours=max_age_hours)
    logger.info("purged %s stale staff import previews", purged)
    return purged
