"""The beat task that opens and closes stages on time, by the database clock.

Windows are set around the database's ``now()`` (``db_clock``): on PostgreSQL that is the
start of the test's transaction and stays put; on SQLite the database clock is the process
clock, held still with time-machine. The skew tests move only the application clock and
run on PostgreSQL, where the database clock stays real.
"""

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.db import connection

from campaigns.choices import AuditAction, StageStatus
from campaigns.clock import db_now
from campaigns.models import Stage
from campaigns.services.stages import open_stage, schedule_stage
from campaigns.tasks import open_and_close_due_stages_task
from staff.models import AuditEvent
from tests.factories.campaigns import ContestantFactory, StageFactory

pytestmark = pytest.mark.django_db

SKEW = dt.timedelta(minutes=10)
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="on SQLite the database clock is the application clock",
)


@pytest.fixture
def db_clock(db) -> Iterator[dt.datetime]:
    """The database's current time, held still for the test."""
    now = db_now()
    if connection.vendor == "postgresql":
        yield now
    else:
        with time_machine.travel(now, tick=False):
            yield now


def scheduled_stage(opens_at, closes_at, **fields):
    stage = StageFactory(
        status=StageStatus.SCHEDULED, opens_at=opens_at, closes_at=closes_at, **fields
    )
    ContestantFactory(stage=stage)
    return stage


def open_stage_closing_at(closes_at):
    stage = StageFactory(
        status=StageStatus.OPEN,
        opens_at=closes_at - dt.timedelta(days=7),
        closes_at=closes_at,
        opened_at=closes_at - dt.timedelta(days=7),
    )
    ContestantFactory(stage=stage)
    return stage


def status(stage):
    return Stage.objects.get(pk=stage.pk).status


def test_nothing_happens_before_the_opening_time(db_clock):
    scheduled_stage(db_clock + dt.timedelta(seconds=1), db_clock + dt.timedelta(days=7))

    report = open_and_close_due_stages_task()

    assert report == {"opened": [], "closed": [], "skipped": []}
    assert AuditEvent.objects.count() == 0


def test_a_due_stage_opens_once_and_a_stage_waiting_for_its_predecessor_is_skipped(
    db_clock, english
):
    first = scheduled_stage(db_clock, db_clock + dt.timedelta(days=7), order=1)
    second = scheduled_stage(
        db_clock, db_clock + dt.timedelta(days=14), order=2, campaign=first.campaign
    )

    report = open_and_close_due_stages_task()
    again = open_and_close_due_stages_task()

    assert report == {"opened": [first.pk], "closed": [], "skipped": [second.pk]}
    assert again == {"opened": [], "closed": [], "skipped": [second.pk]}
    assert (status(first), status(second)) == (StageStatus.OPEN, StageStatus.SCHEDULED)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor_label, event.data, event.reason) == (
        AuditAction.STAGE_OPENED,
        "system",
        {"from": StageStatus.SCHEDULED, "to": StageStatus.OPEN},
        "Opened on schedule.",
    )
    assert Stage.objects.get(pk=first.pk).opened_at == db_clock


def test_an_open_stage_closes_at_its_closing_time(db_clock):
    early = open_stage_closing_at(db_clock + dt.timedelta(seconds=1))
    due = open_stage_closing_at(db_clock)

    report = open_and_close_due_stages_task()

    assert report == {"opened": [], "closed": [due.pk], "skipped": []}
    assert (status(early), status(due)) == (StageStatus.OPEN, StageStatus.CLOSED)
    assert Stage.objects.get(pk=due.pk).closed_at == db_clock
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [AuditAction.STAGE_CLOSED]


def test_a_stage_whose_window_passed_unopened_is_not_opened(db_clock):
    stage = scheduled_stage(db_clock - dt.timedelta(days=7), db_clock - dt.timedelta(minutes=1))

    report = open_and_close_due_stages_task()

    assert report == {"opened": [], "closed": [], "skipped": [stage.pk]}
    assert status(stage) == StageStatus.SCHEDULED


# The application clock skewed, the database clock real ---------------------------------


@postgresql_only
def test_a_beat_host_running_slow_still_opens_and_closes_due_stages():
    now = db_now()
    to_open = scheduled_stage(now - dt.timedelta(minutes=1), now + dt.timedelta(days=7))
    to_close = open_stage_closing_at(now - dt.timedelta(minutes=1))

    with time_machine.travel(now - SKEW, tick=False):
        report = open_and_close_due_stages_task()

    assert report == {"opened": [to_open.pk], "closed": [to_close.pk], "skipped": []}
    assert Stage.objects.get(pk=to_open.pk).opened_at == now
    assert Stage.objects.get(pk=to_close.pk).closed_at == now


@postgresql_only
def test_a_beat_host_running_fast_opens_and_closes_nothing_early():
    now = db_now()
    scheduled_stage(now + dt.timedelta(minutes=1), now + dt.timedelta(days=7))
    still_open = open_stage_closing_at(now + dt.timedelta(minutes=1))

    with time_machine.travel(now + SKEW, tick=False):
        report = open_and_close_due_stages_task()

    assert report == {"opened": [], "closed": [], "skipped": []}
    assert status(still_open) == StageStatus.OPEN


@postgresql_only
def test_manual_moves_are_guarded_and_stamped_by_the_database_clock(admin_user):
    now = db_now()
    stage = StageFactory(
        status=StageStatus.DRAFT,
        opens_at=now + dt.timedelta(minutes=1),
        closes_at=now + dt.timedelta(minutes=5),
    )
    ContestantFactory(stage=stage)

    # The application clock says the closing time has passed; the database says it has not.
    with time_machine.travel(now + SKEW, tick=False):
        schedule_stage(stage, actor=admin_user)
        open_stage(stage, actor=admin_user)

    stage.refresh_from_db()
    assert (stage.status, stage.opened_at) == (StageStatus.OPEN, now)
