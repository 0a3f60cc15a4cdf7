"""Fixtures of the voting tests: a frozen database clock, an open stage, voters."""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection

from campaigns.clock import db_now
from campaigns.models import Contestant, Stage
from staff.phones import Phone, parse_phone
from tests.factories.campaigns import ContestantFactory, StageFactory
from tests.factories.staff import StaffMemberFactory


@pytest.fixture(autouse=True)
def _quiet_broker_and_fresh_throttles(settings) -> Iterator[None]:
    """Wake-ups go to an in-memory broker (no files under var/), and the courtesy
    throttles start from zero in every test (they count in the cache)."""
    settings.CELERY_BROKER_URL = "memory://"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def frozen_now(db) -> Iterator[dt.datetime]:
    """The database clock, held still for the test.

    PostgreSQL's ``now()`` is the start of the transaction, and a ``django_db`` test runs
    in one transaction, so it does not move. On SQLite the database clock is the process
    clock (``campaigns.clock``), frozen here with time-machine.
    """
    now = db_now()
    if connection.vendor == "postgresql":
        yield now
    else:
        with time_machine.travel(now, tick=False):
            yield now


@dataclass
class VotingSetup:
    stage: Stage
    alice: Contestant
    bob: Contestant
    voter: Phone


@pytest.fixture
def voting(frozen_now) -> VotingSetup:
    """An open stage (window around now, unlimited votes, every channel weighted) with two
    contestants, employee numbers 1234 and 5678, and a voter who is not staff."""
    stage = StageFactory(
        open=True,
        every_channel=True,
        opens_at=frozen_now - dt.timedelta(days=1),
        closes_at=frozen_now + dt.timedelta(days=1),
    )
    alice = ContestantFactory(stage=stage, staff_member=StaffMemberFactory(employee_no="1234"))
    bob = ContestantFactory(stage=stage, staff_member=StaffMemberFactory(employee_no="5678"))
    return VotingSetup(stage=stage, alice=alice, bob=bob, voter=parse_phone("13812345678"))


def set_limits(stage: Stage, *, day: int = 0, stage_total: int = 0, candidate: int = 0) -> Stage:
    Stage.objects.filter(pk=stage.pk).update(
        votes_per_day=day, votes_per_stage=stage_total, votes_per_candidate=candidate
    )
    stage.refresh_from_db()
    return stage


def finalise(stage: Stage) -> Stage:
    """Mark ``stage`` finalised (as confirmed advancement leaves it), bypassing the state
    machine: the tests of frozen results need a finalised stage that still holds votes."""
    Stage.objects.filter(pk=stage.pk).update(status="finalized", finalized_at=db_now())
    stage.refresh_from_db()
    return stage
