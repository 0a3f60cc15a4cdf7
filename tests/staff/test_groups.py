"""The HR admins' and judges' groups of the data migration staff.0002 (issue 13 item 5)."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db.models import Q

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("migrated_groups")]

HR_APPS = ["staff", "campaigns", "voting", "evaluations"]


def codenames(permissions) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in permissions}


def test_hr_admins_hold_every_permission_of_the_apps_but_audit_writes():
    group = Group.objects.get(name="HR admins")
    app_permissions = Permission.objects.filter(content_type__app_label__in=HR_APPS)
    audit_writes = {"staff.add_auditevent", "staff.change_auditevent", "staff.delete_auditevent"}

    held = codenames(group.permissions.select_related("content_type"))

    assert held - codenames(app_permissions.select_related("content_type")) == {
        "auth.view_user",
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "axes.view_accesslog",
        "axes.view_accessfailurelog",
    }
    assert codenames(app_permissions.select_related("content_type")) - held == audit_writes


def test_hr_admins_cannot_change_users_or_groups():
    group = Group.objects.get(name="HR admins")

    held = set(
        group.permissions.filter(Q(content_type__app_label="auth")).values_list(
            "codename", flat=True
        )
    )

    assert held == {"view_user"}


def test_judges_group_has_no_admin_permission():
    assert Group.objects.get(name="Judges").permissions.count() == 0
