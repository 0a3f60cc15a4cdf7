"""Bulk invalidation and restoration of votes from the fraud review, small and large.

A small selection (up to ``VOTING_FRAUD_BULK_SYNC_MAX`` votes) is changed in the request
by one call of ``voting.ledger.corrections.invalidate_votes`` / ``restore_votes``. A
larger one — "all votes matching the current filter", say 50,000 — runs as a **vote job**
(``voting.models.VoteJob``) in a Celery worker:

* ``start_vote_job`` writes the job row when an HR admin confirms: who, why, the action,
  the changelist filters as data (``voting.fraud.filters.VoteFilter``: stage, candidate,
  channel, status, hour, date, suspicious pattern, a search for a masked number; never a
  phone number), frozen at the highest vote id seen in the preview. The job's id is the
  only argument of the task.
* ``run_vote_job`` runs it in batches. Each batch is one transaction that locks the job
  row, selects the next votes after the checkpoint (``last_vote_id``) in id order, calls
  the idempotent service (which writes the batch's audit events) and moves the
  checkpoint. A worker killed mid-batch rolls the batch back, checkpoint included; the
  next run resumes after the last committed batch. Two runs at once take
  turns on the job row's lock, so they end in the same state as one serial run.
* A refusal (a vote of a finalised stage: ``stage_frozen``) rolls its batch back and marks
  the job ``failed`` with the error; earlier batches stay done and audited.

The audit log holds only the effective changes; the job row is the job's own record.
"""

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils.translation import gettext as _

from campaigns.clock import db_now
from campaigns.models import Contestant, Stage
from staff.audit import clean_reason
from staff.exceptions import DomainError, InvalidPhoneError
from staff.phones import parse_phone
from staff.services import Actor
from staff.wakeups import wake_on_commit
from voting.choices import VOTE_JOB_FINISHED, VoteJobAction, VoteJobStatus, VoteStatus
from voting.exceptions import InvalidationError
from voting.fraud.filters import SEARCH_PARAM, STAGE_PARAM, VoteFilter
from voting.ledger.corrections import invalidate_votes, restore_votes
from voting.models import Vote, VoteJob

logger = logging.getLogger(__name__)

INVALIDATE = VoteJobAction.INVALIDATE
RESTORE = VoteJobAction.RESTORE
SERVICES: dict[str, Callable[..., list[int]]] = {
    INVALIDATE: invalidate_votes,
    RESTORE: restore_votes,
}
# The status a vote must have for the action to change it.
FROM_STATUS = {INVALIDATE: VoteStatus.VALID, RESTORE: VoteStatus.INVALIDATED}
JOB_TASK = "voting.run_vote_job"
_LONG_NUMBER = re.compile(r"[0-9][0-9 \-]{9,}[0-9]")


@dataclass(frozen=True)
class CandidateChange:
    """How many selected votes of one candidate there are, and how many would change."""

    contestant: Contestant
    selected: int
    changing: int


@dataclass(frozen=True)
class BulkPreview:
    """What a bulk action would do: totals, per candidate, and the highest vote id seen
    (the selection is frozen there)."""

    selected: int
    changing: int
    by_candidate: list[CandidateChange]
    max_vote_id: int | None


def preview_bulk_change(votes: QuerySet[Vote], *, action: str) -> BulkPreview:
    """Count the selection per candidate and how many votes ``action`` would change (two
    queries: one grouped count, one for the candidates shown). Writes nothing."""
    rows = list(
        votes.order_by()
        .values("contestant_id")
        .annotate(
            selected=Count("pk"),
            changing=Count("pk", filter=Q(status=FROM_STATUS[action])),
            top=Max("pk"),
        )
        .order_by("-changing", "contestant_id")
    )
    contestants = Contestant.objects.select_related("staff_member", "stage").in_bulk(
        [row["contestant_id"] for row in rows]
    )
    return BulkPreview(
        selected=sum(row["selected"] for row in rows),
        changing=sum(row["changing"] for row in rows),
        by_candidate=[
            CandidateChange(contestants[row["contestant_id"]], row["selected"], row["changing"])
            for row in rows
        ],
        max_vote_id=max((row["top"] for row in rows), default=None),
    )


def change_votes(vote_ids: Iterable[int], *, action: str, actor: Actor, reason: str) -> list[int]:
    """Invalidate or restore the given votes now, in one transaction (the service's); return
    the ids changed. The service writes one audit event per stage touched."""
    return SERVICES[action](vote_ids, actor=actor, reason=clean_reason(reason))


# Background jobs --------------------------------------------------------------------------


def vote_job(job_id: str) -> VoteJob | None:
    """The job with this id (32 hex digits, as in its URL), or ``None``; no query for a
    malformed id."""
    try:
        key = UUID(hex=str(job_id))
    except ValueError:
        return None
    if key.hex != job_id:
        return None
    return VoteJob.objects.filter(pk=key).select_related("stage").first()


def job_summary(job: VoteJob) -> dict[str, Any]:
    """The job's progress as a small JSON-able dict (what the task returns and logs)."""
    return {
        "job_id": job.pk.hex,
        "action": job.action,
        "status": job.status,
        "total": job.total,
        "processed": job.processed,
        "changed": job.changed,
        "batches": job.batches,
        "last_vote_id": job.last_vote_id,
        "error_code": job.error_code,
    }


def enqueue_vote_job(job_id: str) -> None:
    """Send the job to a worker once the current transaction commits (at once outside one).

    A bounded, error-swallowing wake-up by task name (``staff.wakeups``) on the ``heavy``
    queue: a broker that is down costs at most ``WAKEUP_TIMEOUT`` seconds, and the progress
    page then offers to send it again. The job itself is in the database, never lost.
    """
    wake_on_commit(JOB_TASK, kwargs={"job_id": job_id}, queue="heavy")


def _no_phone_numbers(vote_filter: VoteFilter) -> None:
    """Refuse a search term that is a full phone number: it would land in the audit log."""
    term = vote_filter.params.get(SEARCH_PARAM, "")
    for candidate in _LONG_NUMBER.findall(term):
        try:
            parse_phone(candidate)
        except InvalidPhoneError:
            continue
        raise InvalidationError(
            "phone_in_filter",
            _("Search by a masked number (138****5678), not a full phone number."),
        )


def _job_stage(vote_filter: VoteFilter) -> Stage | None:
    stage_id = vote_filter.params.get(STAGE_PARAM, "")
    return Stage.objects.filter(pk=stage_id).first() if stage_id.isdigit() else None


def start_vote_job(
    vote_filter: VoteFilter, *, action: str, actor: Actor, reason: str, total: int
) -> str:
    """Record a vote job and queue it; return its id (32 hex digits).

    Writes one ``VoteJob`` (status ``queued``; the filtered stage, if any; the action, the
    filters, the frozen ``max_vote_id``, the previewed ``total``, actor and reason) and
    queues ``voting.run_vote_job`` on commit (bounded, never raises). Raises
    ``staff.audit.ReasonError`` for a missing or too long reason, ``InvalidationError`` for a search term that is a
    phone number.
    """
    if action not in SERVICES:
        raise ValueError(action)
    reason = clean_reason(reason)
    _no_phone_numbers(vote_filter)
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        job = VoteJob.objects.create(
            action=action,
            stage=_job_stage(vote_filter),
            filters=vote_filter.params,
            max_vote_id=vote_filter.max_vote_id,
            reason=reason,
            actor=user,
            actor_label=user.get_username() if user is not None else "",
            total=total,
        )
        enqueue_vote_job(job.pk.hex)
    return job.pk.hex


def _run_batch(job_pk: UUID, batch_size: int) -> tuple[VoteJob, bool]:
    """One batch in one transaction; ``(job, more)`` where ``more`` is false once the job
    is finished (done now, or already done or failed)."""
    with transaction.atomic():
        # The job row is the job's lock: concurrent runs take turns, batch by batch.
        job = VoteJob.objects.select_for_update(of=("self",)).select_related("actor").get(pk=job_pk)
        if job.status in VOTE_JOB_FINISHED:
            return job, False
        vote_filter = VoteFilter(params=job.filters, max_vote_id=job.max_vote_id)
        ids = list(
            vote_filter.apply()
            .filter(pk__gt=job.last_vote_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        now = db_now()
        job.started_at = job.started_at or now
        if not ids:
            job.status, job.finished_at = VoteJobStatus.DONE, now
        else:
            changed = SERVICES[job.action](ids, actor=job.actor, reason=job.reason)
            job.status = VoteJobStatus.RUNNING
            job.processed += len(ids)
            job.changed += len(changed)
            job.last_vote_id = ids[-1]
            job.batches += 1
        job.save(
            update_fields=[
                "status", "started_at", "finished_at", "processed", "changed",
                "last_vote_id", "batches",
            ]
        )  # fmt: skip
    return job, bool(ids)


def _fail(job_pk: UUID, error: DomainError) -> VoteJob:
    with transaction.atomic():
        job = VoteJob.objects.select_for_update().get(pk=job_pk)
        if job.status not in VOTE_JOB_FINISHED:
            job.status, job.finished_at = VoteJobStatus.FAILED, db_now()
            job.error_code, job.error = error.code, str(error.message)
            job.save(update_fields=["status", "finished_at", "error_code", "error"])
    return job


def run_vote_job(job_id: str, *, max_batches: int | None = None) -> VoteJob | None:
    """Run (or resume) a vote job to its end; return the job as it stands.

    Batches of ``VOTING_FRAUD_JOB_BATCH`` votes (module docstring), each one transaction
    that locks the job row, changes its votes through the service (row locks in id order,
    audit events) and moves the checkpoint; the last, empty one marks the job ``done``. A
    ``DomainError`` from the service (``stage_frozen``) rolls its batch back and marks the
    job ``failed`` with the error's code and message. ``max_batches`` stops early, as a
    killed worker would (for tests). Returns ``None`` for an unknown job (logged, not
    retried).
    """
    job = vote_job(job_id)
    if job is None:
        logger.warning("vote job %s: unknown, ignored", job_id)
        return None
    batch_size = max(int(settings.VOTING_FRAUD_JOB_BATCH), 1)
    batches_run = 0
    more = job.status not in VOTE_JOB_FINISHED
    while more:
        if max_batches is not None and batches_run >= max_batches:
            break
        try:
            job, more = _run_batch(job.pk, batch_size)
        except DomainError as exc:
            logger.warning("vote job %s refused: %s", job_id, exc.code)
            return _fail(job.pk, exc)
        batches_run += 1
    return job
