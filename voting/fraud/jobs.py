"""Bulk invalidation and restoration of votes from the fraud review, small and large.

A small selection (up to ``VOTING_FRAUD_BULK_SYNC_MAX`` votes) is changed in the request
by one call of ``voting.ledger.corrections.invalidate_votes`` / ``restore_votes``. A larger one —
"all votes matching the current filter", say 50,000 — runs as a **vote job** in a Celery
worker. There is no job table (the ledger's schema is not ours to change here), so a job
lives in the audit log, which is durable and already append-only:

* ``voting.vote_job.started`` — written when an HR admin confirms: who, why, the action,
  and the changelist filters as data (``voting.fraud.VoteFilter``: stage, candidate,
  channel, status, hour, date, suspicious pattern, a search for a masked number; never a
  phone number), frozen at the highest vote id seen in the preview. Its ``data["job"]``
  is the job id, the only argument of the task.
* ``voting.vote_job.progressed`` — one per batch, written **in the same transaction** as
  the batch's status change, with the last vote id done: the checkpoint. A worker killed
  mid-batch rolls the batch back, checkpoint included; the next run resumes after the
  last committed checkpoint.
* ``voting.vote_job.completed`` — only after the last batch, once per job.

Each batch re-applies the filters to the votes after the checkpoint, in id order, and
calls the idempotent service, so a re-run, a duplicate delivery or two runs at once end in
the same state as one serial run (the service locks the rows and skips votes already
changed). Progress is also kept in the cache for the progress page; the cache is only a
fast copy, rebuilt from the audit log when it is missing.
"""

import logging
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils.translation import gettext as _

from campaigns.models import Contestant, Stage
from staff.exceptions import InvalidPhoneError
from staff.models import AuditEvent
from staff.phones import parse_phone
from staff.services import Actor, record_audit_event
from staff.wakeups import wake_on_commit
from voting.choices import AuditAction, VoteStatus
from voting.exceptions import InvalidationError
from voting.fraud.filters import SEARCH_PARAM, STAGE_PARAM, VoteFilter
from voting.ledger.corrections import invalidate_votes, restore_votes
from voting.models import Vote

logger = logging.getLogger(__name__)

INVALIDATE = "invalidate"
RESTORE = "restore"
SERVICES: dict[str, Callable[..., list[int]]] = {
    INVALIDATE: invalidate_votes,
    RESTORE: restore_votes,
}
# The status a vote must have for the action to change it.
FROM_STATUS = {INVALIDATE: VoteStatus.VALID, RESTORE: VoteStatus.INVALIDATED}
REASON_MAX_LENGTH = 1000
JOB_TASK = "voting.run_vote_job"
CACHE_TIMEOUT = 24 * 3600
_JOB_ID = re.compile(r"[0-9a-f]{32}")
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


def clean_reason(reason: str) -> str:
    """The reason as stored: trimmed, non-empty, at most 1,000 characters.

    Raises ``InvalidationError`` (``reason_required`` / ``reason_too_long``).
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidationError("reason_required", _("Give a reason."))
    if len(reason) > REASON_MAX_LENGTH:
        raise InvalidationError(
            "reason_too_long",
            _("A reason has at most %(n)d characters.") % {"n": REASON_MAX_LENGTH},
        )
    return reason


def change_votes(vote_ids: Iterable[int], *, action: str, actor: Actor, reason: str) -> list[int]:
    """Invalidate or restore the given votes now, in one transaction (the service's); return
    the ids changed. The service writes one audit event per stage touched."""
    return SERVICES[action](vote_ids, actor=actor, reason=clean_reason(reason))


# Background jobs --------------------------------------------------------------------------


@dataclass(frozen=True)
class JobProgress:
    """Where a vote job stands. ``state``: queued, running, done (or unknown)."""

    job_id: str
    action: str
    state: str
    total: int
    processed: int
    changed: int
    last_vote_id: int
    batches: int

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return min(99, self.processed * 100 // self.total) if self.total else 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cache_key(job_id: str) -> str:
    return f"voting:vote-job:{job_id}"


def _store(progress: JobProgress) -> None:
    try:
        cache.set(_cache_key(progress.job_id), progress.as_dict(), CACHE_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 -- the cache is a copy; the audit log is the truth
        logger.warning("vote job progress not cached: %s", type(exc).__name__)


def _job_events(job_id: str) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        action__in=(
            AuditAction.VOTE_JOB_STARTED,
            AuditAction.VOTE_JOB_PROGRESSED,
            AuditAction.VOTE_JOB_COMPLETED,
        ),
        data__job=job_id,
    )


def _started_event(job_id: str) -> AuditEvent | None:
    if not _JOB_ID.fullmatch(job_id or ""):
        return None
    return (
        _job_events(job_id)
        .filter(action=AuditAction.VOTE_JOB_STARTED)
        .select_related("actor")
        .first()
    )


def _progress_from_log(job_id: str, started: AuditEvent) -> JobProgress:
    """The job's progress as the audit log has it (two queries)."""
    last = (
        _job_events(job_id)
        .filter(action__in=(AuditAction.VOTE_JOB_PROGRESSED, AuditAction.VOTE_JOB_COMPLETED))
        .order_by("-id")
        .first()
    )
    data = last.data if last is not None else {}
    done = last is not None and last.action == AuditAction.VOTE_JOB_COMPLETED
    return JobProgress(
        job_id=job_id,
        action=started.data["action"],
        state="done" if done else ("running" if last is not None else "queued"),
        total=int(started.data.get("total", 0)),
        processed=int(data.get("processed", 0)),
        changed=int(data.get("changed", 0)),
        last_vote_id=int(data.get("last_vote_id", 0)),
        batches=int(data.get("batches", 0)),
    )


def vote_job_progress(job_id: str) -> JobProgress | None:
    """The progress of a job: from the cache, else rebuilt from the audit log; ``None``
    for an unknown job."""
    if not _JOB_ID.fullmatch(job_id or ""):
        return None
    try:
        cached = cache.get(_cache_key(job_id))
    except Exception:  # noqa: BLE001 -- fall back to the database
        cached = None
    if cached and cached.get("state") == "done":
        return JobProgress(**cached)
    # Not done (or not cached): the log decides. With a per-process cache (the embedded
    # default's local memory) the worker's copy is not visible here.
    started = _started_event(job_id)
    if started is None:
        return None
    progress = _progress_from_log(job_id, started)
    if cached and cached.get("processed", 0) > progress.processed:
        return JobProgress(**cached)
    _store(progress)
    return progress


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
    """Record a vote job and queue it; return its id.

    Writes one ``voting.vote_job.started`` audit event (target: the filtered stage, if
    any) with the action, the filters, the frozen ``max_vote_id`` and the previewed
    ``total``; caches its progress; queues ``run_vote_job_task`` on commit (bounded, never
    raises). Raises ``InvalidationError`` for a missing or too long reason, or a search
    term that is a phone number.
    """
    if action not in SERVICES:
        raise ValueError(action)
    reason = clean_reason(reason)
    _no_phone_numbers(vote_filter)
    job_id = uuid.uuid4().hex
    stage = _job_stage(vote_filter)
    with transaction.atomic():
        record_audit_event(
            stage,
            actor=actor,
            action=AuditAction.VOTE_JOB_STARTED,
            reason=reason,
            data={
                "job": job_id,
                "action": action,
                "filters": vote_filter.params,
                "max_vote_id": vote_filter.max_vote_id,
                "total": total,
            },
            campaign_id=stage.campaign_id if stage is not None else None,
        )
        enqueue_vote_job(job_id)
    _store(JobProgress(job_id, action, "queued", total, 0, 0, 0, 0))
    return job_id


def run_vote_job(job_id: str, *, max_batches: int | None = None) -> JobProgress | None:
    """Run (or resume) a vote job to its end; return its final progress.

    Reads the job from its ``started`` event and resumes after the last checkpoint. Each
    batch (``VOTING_FRAUD_JOB_BATCH`` votes, in id order, after the checkpoint, matching
    the job's filters) is one transaction: the service's status change and audit event,
    plus the ``progressed`` checkpoint. After the last batch, records ``completed`` once
    (under a lock on the started event, so two concurrent runs record it once).
    ``max_batches`` stops early, as a killed worker would (for tests). Returns ``None``
    for an unknown job (logged, not retried).
    """
    started = _started_event(job_id)
    if started is None:
        logger.warning("vote job %s: unknown, ignored", job_id)
        return None
    data = started.data
    action = data["action"]
    actor = started.actor
    if actor is None and started.actor_label:
        actor = get_user_model().objects.filter(username=started.actor_label).first()
    vote_filter = VoteFilter(params=data.get("filters", {}), max_vote_id=data.get("max_vote_id"))
    progress = _progress_from_log(job_id, started)
    stage = _job_stage(vote_filter)
    batch_size = max(int(settings.VOTING_FRAUD_JOB_BATCH), 1)
    batches_run = 0
    while progress.state != "done":
        if max_batches is not None and batches_run >= max_batches:
            return progress
        ids = list(
            vote_filter.apply()
            .filter(pk__gt=progress.last_vote_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        with transaction.atomic():
            changed = SERVICES[action](ids, actor=actor, reason=started.reason)
            progress = JobProgress(
                job_id,
                action,
                "running",
                progress.total,
                progress.processed + len(ids),
                progress.changed + len(changed),
                ids[-1],
                progress.batches + 1,
            )
            record_audit_event(
                stage,
                actor=actor,
                action=AuditAction.VOTE_JOB_PROGRESSED,
                data={"job": job_id, **_counts(progress)},
                campaign_id=stage.campaign_id if stage is not None else None,
            )
        batches_run += 1
        _store(progress)
    progress = _complete(job_id, started, progress, stage=stage, actor=actor)
    _store(progress)
    return progress


def _counts(progress: JobProgress) -> dict[str, int]:
    return {
        "processed": progress.processed,
        "changed": progress.changed,
        "last_vote_id": progress.last_vote_id,
        "batches": progress.batches,
    }


def _complete(
    job_id: str, started: AuditEvent, progress: JobProgress, *, stage: Stage | None, actor: Actor
) -> JobProgress:
    with transaction.atomic():
        # The started event is the job's lock: two runs finishing together record one end.
        AuditEvent.objects.select_for_update().filter(pk=started.pk).values_list("pk").get()
        if _job_events(job_id).filter(action=AuditAction.VOTE_JOB_COMPLETED).exists():
            return _progress_from_log(job_id, started)
        done = JobProgress(**{**progress.as_dict(), "state": "done"})
        record_audit_event(
            stage,
            actor=actor,
            action=AuditAction.VOTE_JOB_COMPLETED,
            reason=started.reason,
            data={"job": job_id, "action": progress.action, **_counts(done)},
            campaign_id=stage.campaign_id if stage is not None else None,
        )
    return done
