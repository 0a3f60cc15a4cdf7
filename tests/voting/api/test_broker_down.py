"""No request waits on the broker: with the broker unreachable, codes are
still queued in the outbox and votes are still committed and acknowledged."""

import json

import pytest

from campaigns.messaging.models import OutboundSms
from staff.wakeups import reset_wakeups
from tests.factories.campaigns import ContestantFactory, StageFactory
from tests.factories.staff import StaffMemberFactory
from voting.models import Vote

# Commits matter here: on_commit wake-ups only run after a real commit.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.timeout(20)  # a hang (celery#4556) fails the test; no wall time is asserted
def test_code_and_vote_succeed_with_the_broker_unreachable(client, settings, caplog):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    reset_wakeups()  # no pause left over from an earlier test: the wake-up is really tried
    stage = StageFactory(open=True)
    ContestantFactory(stage=stage, staff_member=StaffMemberFactory(employee_no="1234"))

    otp = client.post(
        "/api/otp/", data=json.dumps({"phone": "13812345678"}), content_type="application/json"
    )
    code = OutboundSms.objects.get().params["code"]
    vote = client.post(
        "/api/votes/",
        data=json.dumps(
            {"stage": stage.pk, "employee_no": "1234", "phone": "13812345678", "code": code}
        ),
        content_type="application/json",
    )

    assert otp.status_code == 202
    assert vote.status_code == 201
    assert Vote.objects.get().pk == vote.json()["vote_id"]
    assert "wake-up of campaigns.send_pending_sms failed" in caplog.text
