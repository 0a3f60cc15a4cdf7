"""Celery entry points of the voting app. Thin: call one service, log, return a small value.

A leaf for imports: services import these tasks at module top; the tasks import services
inside their bodies.
"""

import logging

from celery import shared_task
from django.db import OperationalError

logger = logging.getLogger(__name__)


@shared_task(name="voting.purge_otp_records", acks_late=True, ignore_result=True)
def purge_otp_records_task() -> dict[str, int]:
    """Delete one-time codes and code-request records older than a day (beat, hourly)."""
    from voting.otp.services import purge_otp_records  # noqa: PLC0415 -- leaf

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
    """Run or resume a bulk invalidate/restore job of the fraud review (``voting.fraud.jobs``).

    Takes only the job id: the filters, reason and actor are in the ``VoteJob`` row.
    Resumes after the last committed batch, so a redelivery or a second run is harmless.
    Retries only database connection errors.
    """
    from voting.fraud.jobs import job_summary, run_vote_job  # noqa: PLC0415 -- leaf

    try:
        job = run_vote_job(job_id)
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=10) from exc
    if job is None:
        return None
    summary = job_summary(job)
    logger.info("vote job %s: %s", job_id, summary)
    return summary


@shared_task(
    name="voting.fold_tallies",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=3,
    soft_time_limit=60,
    time_limit=90,
)
def fold_tallies_task(self) -> int:
    """Fold the tally outbox into the tallies until it is empty or the time budget is spent.

    Woken on commit by ``cast_vote`` and swept by beat every second. Takes no arguments: it
    claims events itself (``FOR UPDATE SKIP LOCKED``), so a duplicated, redelivered or lost
    message changes nothing. Retries only database connection errors.
    """
    from voting.counting.tallies import fold_pending_tallies  # noqa: PLC0415 -- leaf

    try:
        folded = fold_pending_tallies()
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=1) from exc
    if folded:
        logger.info("folded %s tally events", folded)
    return folded


@shared_task(
    name="voting.publish_leaderboards",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=3,
    soft_time_limit=30,
    time_limit=45,
)
def publish_leaderboards_task(self) -> int:
    """Publish a snapshot of every open stage's board (and final boards of closed stages).

    Beat runs it every ``VOTING_PUBLISH_INTERVAL`` seconds. Idempotent: an unchanged state
    publishes nothing, and a duplicate insert is refused by the snapshot's unique keys.
    """
    from voting.counting.publication import publish_leaderboards  # noqa: PLC0415 -- leaf

    try:
        published = publish_leaderboards()
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=1) from exc
    return len(published)


@shared_task(
    name="voting.recount_stages",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=2,
    soft_time_limit=1800,
    time_limit=1900,
)
def recount_stages_task(self, stage_id: int | None = None) -> dict[str, bool]:
    """Recount one stage (or every stage with votes) and store each check (beat, nightly).

    Read-only apart from the ``RecountCheck`` rows; a mismatch is logged as an error and
    shown in the admin, never repaired automatically.
    """
    from voting.counting.recount import recount_stages  # noqa: PLC0415 -- leaf

    try:
        reports = recount_stages(stage_id=stage_id)
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=60) from exc
    return {str(report.stage_id): report.ok for report in reports}
