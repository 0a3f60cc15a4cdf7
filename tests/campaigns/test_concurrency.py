"""Races on the stage state machine, on real PostgreSQL connections in threads.

Seen to fail (several threads "closing" the same stage, several audit events) with the row
lock in ``lock_stage`` removed.
"""

import pytest
from django.db import connection

from campaigns.choices import AuditAction, StageStatus
from campaigns.models import Stage
from campaigns.services.stages import close_stage
from staff.models import AuditEvent
from tests.factories.campaigns import StageFactory
from tests.race import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]

THREADS = 8


def test_concurrent_closes_move_the_stage_exactly_once(admin_user):
    stage = StageFactory(order=1, open=True)

    outcomes = race(lambda: close_stage(Stage(pk=stage.pk), actor=admin_user), THREADS)

    assert outcomes == ["invalid_transition"] * (THREADS - 1) + ["ok"]
    assert Stage.objects.get(pk=stage.pk).status == StageStatus.CLOSED
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [AuditAction.STAGE_CLOSED]
