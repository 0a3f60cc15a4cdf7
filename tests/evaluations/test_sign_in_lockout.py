"""The judges' tablet sign-in and the inspectors' sign-in are locked out like the admin's:
django-axes counts their failures too (per account and per IP), and a locked account stays
locked against the right password."""

import pytest
from axes.models import AccessAttempt
from django.test import override_settings

from staff.choices import AuditAction
from staff.models import AuditEvent
from tests.factories.staff import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"  # tests/factories/staff.py


@pytest.fixture(autouse=True)
def axes_on():
    with override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=5, AXES_COOLOFF_TIME=1.0):
        yield


@pytest.mark.parametrize("login_url", ["/judge/login/", "/inspections/login/"])
def test_thirty_wrong_passwords_lock_the_sign_in_against_the_right_one(client, login_url):
    UserFactory(username="signer")

    for _attempt in range(30):
        client.post(login_url, {"username": "signer", "password": "wrong"}, REMOTE_ADDR="10.9.0.1")
    locked = client.post(
        login_url,
        {"username": "signer", "password": PASSWORD},
        REMOTE_ADDR="10.9.0.1",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get(username="signer").failures_since_start == 31
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_LOCKED).count() == 1
