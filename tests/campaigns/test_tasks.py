"""The beat task that opens and closes stages on time (server time, Asia/Shanghai)."""

import datetime as dt
import zoneinfo

import pytest
import time_machine

from campaigns.choices import AuditAction, StageStatus
from campaigns.models import Stage
from campaigns.tasks import open_and_close_due_stages_task
from staff.models import AuditEvent
from tests.factories.campaigns import ContestantFactory, StageFactory

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
OPENS = dt.datetime(2026, 4, 1, 9, 0, tzinfo=SHANGHAI)
CLOSES = dt.datetime(2026, 4, 8, 20, 0, tzinfo=SHANGHAI)


@pytest.fixture
def scheduled():
    with time_machine.travel(OPENS - dt.timedelta(days=1), tick=False):
        first = StageFactory(
            order=1, status=StageStatus.SCHEDULED, opens_at=OPENS, closes_at=CLOSES
        )
        second = StageFactory(
            campaign=first.campaign,
            order=2,
            status=StageStatus.SCHEDULED,
            opens_at=OPENS,
            closes_at=CLOSES + dt.timedelta(days=7),
        )
        ContestantFactory(stage=first)
        ContestantFactory(stage=second)
    return first, second


def status(stage):
    return Stage.objects.get(pk=stage.pk).status


def test_nothing_happens_before_the_opening_time(scheduled):
    with time_machine.travel(OPENS - dt.timedelta(seconds=1), tick=False):
        report = open_and_close_due_stages_task()

    assert report == {"opened": [], "closed": [], "skipped": []}
    assert AuditEvent.objects.count() == 0


def test_a_due_stage_opens_once_and_a_stage_waiting_for_its_predecessor_is_skipped(
    scheduled, english
):
    first, second = scheduled

    with time_machine.travel(OPENS, tick=False):
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
    assert Stage.objects.get(pk=first.pk).opened_at == OPENS


def test_an_open_stage_closes_at_its_closing_time(scheduled):
    first, _second = scheduled
    with time_machine.travel(OPENS, tick=False):
        open_and_close_due_stages_task()

    with time_machine.travel(CLOSES - dt.timedelta(seconds=1), tick=False):
        early = open_and_close_due_stages_task()
    with time_machine.travel(CLOSES, tick=False):
        report = open_and_close_due_stages_task()

    assert early["closed"] == []
    assert report["closed"] == [first.pk]
    assert Stage.objects.get(pk=first.pk).closed_at == CLOSES
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        AuditAction.STAGE_OPENED,
        AuditAction.STAGE_CLOSED,
    ]


def test_a_stage_whose_window_passed_unopened_is_not_opened(scheduled):
    first, _second = scheduled

    with time_machine.travel(CLOSES + dt.timedelta(minutes=1), tick=False):
        report = open_and_close_due_stages_task()

    assert first.pk in report["skipped"]
    assert status(first) == StageStatus.SCHEDULED
