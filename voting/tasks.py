"""Celery entry points of the voting app. Thin: call one service, log, return a small value.

A leaf for imports: services import these tasks at module top; the tasks import services
inside their bodies.
"""

import logging

from celery import shared_task
from django.db import OperationalError

logger = logging.getLogger(__name__)


@shared_task(
    name="voting.send_pending_sms",
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
    from voting.sms.services import send_pending_sms  # noqa: PLC0415 -- leaf

    try:
        report = send_pending_sms()
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=5) from exc
    if any(report.values()):
        logger.info("outbound SMS: %s", report)
    return report


@shared_task(name="voting.purge_otp_records", acks_late=True, ignore_result=True)
def purge_otp_records_task() -> dict[str, int]:
    """Delete one-time codes and code-request records older than a day (beat, hourly)."""
    from voting.services import purge_otp_records  # noqa: PLC0415 -- leaf

    return purge_otp_records()


@shared_task(
    name="voting.run_vote_job",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=5,
    soft_time_limit=3600,
    time_limit=3660,
)
def run_vote_job_task(self, *, job_id: str) -> dict | None:
    """Run or resume a bulk invalidate/restore job of the fraud review (``voting.bulk``).

    Takes only the job id: the filters, reason and actor are in the job's audit event.
    Resumes after the last committed batch, so a redelivery or a second run is harmless.
    Retries only database connection errors.
    """
    from voting.bulk import run_vote_job  # noqa: PLC0415 -- leaf

    try:
        progress = run_vote_job(job_id)
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=10) from exc
    if progress is None:
        return None
    logger.info("vote job %s: %s", job_id, progress.as_dict())
    return progress.as_dict()
