"""Sign-in lockout with django-axes (staff.lockout, staff.admin_lockout; issue 13 item 6)."""

import pytest
from axes.models import AccessAttempt
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from staff.choices import AuditAction
from staff.lockout import LoginLockedError, is_locked_out, sign_in
from staff.models import AuditEvent
from tests.factories.staff import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("axes_on")]

PASSWORD = "pass-word-123"  # tests/factories/staff.py
LOGIN = "/admin/login/?next=/admin/"
LOCKED_EN = (
    "Too many failed sign-ins. Try again in 60 minutes, or ask an HR admin to unlock this account."
)
DEAD_REDIS = {
    "default": {
        "BACKEND": "config.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


@pytest.fixture
def axes_on():
    with override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=5, AXES_COOLOFF_TIME=1.0):
        yield


def hr_admin(username: str):
    return UserFactory(username=username, in_hr_admins=True)


def sign_in_post(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(
        LOGIN,
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_thirty_wrong_passwords_lock_the_account_against_the_right_one(client):
    hr_admin("hr")

    for _attempt in range(30):
        sign_in_post(client, "hr", "wrong-password")
    response = sign_in_post(client, "hr", PASSWORD)

    assert response.status_code == 429
    assert LOCKED_EN in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get(username="hr").failures_since_start == 31
    assert PASSWORD not in AccessAttempt.objects.get(username="hr").post_data


def test_a_lock_is_one_audit_event(client):
    user = hr_admin("hr")

    for _attempt in range(8):
        sign_in_post(client, "hr", "wrong-password")

    events = AuditEvent.objects.filter(action=AuditAction.LOGIN_LOCKED)
    assert [(e.target_id, e.actor_id, e.data) for e in events] == [
        (str(user.pk), None, {"username": "hr", "ip_address": "10.0.0.1"})
    ]


def test_below_the_limit_the_right_password_signs_in(client):
    hr_admin("hr")

    for _attempt in range(4):
        sign_in_post(client, "hr", "wrong-password")
    response = sign_in_post(client, "hr", PASSWORD)

    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert not AccessAttempt.objects.filter(username="hr").exists()


def test_the_lock_is_per_ip_as_well(client):
    hr_admin("hr")

    for n in range(5):
        sign_in_post(client, f"guess{n}", "wrong-password", ip="10.0.0.9")
    from_that_ip = sign_in_post(client, "hr", PASSWORD, ip="10.0.0.9")
    from_elsewhere = sign_in_post(Client(), "hr", PASSWORD, ip="10.0.0.2")

    assert from_that_ip.status_code == 429
    assert (from_elsewhere.status_code, from_elsewhere["Location"]) == (302, "/admin/")


def test_an_hr_admin_unlocks_with_a_reason_and_it_is_audited(client):
    locked = hr_admin("hr")
    for _attempt in range(30):
        sign_in_post(client, "hr", "wrong-password")
    unlocker = hr_admin("hr2")
    admin = Client()
    admin.force_login(unlocker)
    changelist = reverse("admin:axes_accessattempt_changelist")
    attempt = AccessAttempt.objects.get(username="hr")
    selection = {"action": "unlock_selected", "_selected_action": [attempt.pk]}

    preview = admin.post(changelist, selection, HTTP_ACCEPT_LANGUAGE="en")
    done = admin.post(
        changelist, {**selection, "confirm": "1", "reason": "Called me, forgot password"}
    )
    response = sign_in_post(client, "hr", PASSWORD)

    assert preview.status_code == 200
    assert b"unlock-attempts" in preview.content
    assert done.status_code == 302
    assert not AccessAttempt.objects.exists()
    event = AuditEvent.objects.get(action=AuditAction.LOGIN_UNLOCKED)
    assert (event.actor_id, event.target_id, event.reason, event.data) == (
        unlocker.pk,
        str(locked.pk),
        "Called me, forgot password",
        {"username": "hr", "ip_address": "10.0.0.1", "failures": 30},
    )
    assert (response.status_code, response["Location"]) == (302, "/admin/")


def test_the_unlock_needs_a_reason(client):
    for _attempt in range(5):
        sign_in_post(client, "hr", "wrong-password")
    admin = Client()
    admin.force_login(hr_admin("hr2"))
    attempt = AccessAttempt.objects.get(username="hr")

    response = admin.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "unlock_selected", "_selected_action": [attempt.pk], "confirm": "1"},
    )

    assert response.status_code == 200
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN_UNLOCKED).exists()


def test_a_staff_user_without_permissions_cannot_see_or_unlock(client):
    for _attempt in range(5):
        sign_in_post(client, "hr", "wrong-password")
    nobody = Client()
    nobody.force_login(UserFactory(username="nobody", is_staff=True))

    response = nobody.get(reverse("admin:axes_accessattempt_changelist"))

    assert response.status_code == 403
    assert AccessAttempt.objects.count() == 1


@override_settings(CACHES=DEAD_REDIS)
def test_the_lockout_holds_with_the_cache_down(client):
    hr_admin("hr")

    for _attempt in range(5):
        sign_in_post(client, "hr", "wrong-password")
    response = sign_in_post(client, "hr", PASSWORD)

    assert response.status_code == 429


def test_sign_in_is_the_reusable_check_for_other_sign_in_forms():
    user = UserFactory(username="judge1")
    factory = RequestFactory()

    def request():
        return factory.post("/judges/sign-in/", REMOTE_ADDR="10.0.0.5")

    results = [sign_in(request(), username="judge1", password="nope") for _n in range(4)]
    with pytest.raises(LoginLockedError) as locked:
        sign_in(request(), username="judge1", password="nope")
    with pytest.raises(LoginLockedError):
        sign_in(request(), username="judge1", password=PASSWORD)

    assert results == [None] * 4
    assert locked.value.code == "login_locked"
    assert is_locked_out(request(), username="judge1")
    assert not is_locked_out(factory.get("/", REMOTE_ADDR="10.0.0.6"), username="judge2")
    AccessAttempt.objects.all().delete()
    assert sign_in(request(), username="judge1", password=PASSWORD) == user


def test_the_locked_page_speaks_chinese_by_default(client):
    hr_admin("hr")

    for _attempt in range(6):
        client.post(LOGIN, {"username": "hr", "password": "wrong"}, REMOTE_ADDR="10.0.0.1")
    response = client.post(LOGIN, {"username": "hr", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1")

    assert response.status_code == 429
    assert "登录失败次数过多。请在 60 分钟后重试，或联系人力资源管理员解锁此账号。" in (
        response.content.decode()
    )
