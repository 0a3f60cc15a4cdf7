"""Fixtures of the staff tests."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group

GROUPS_MIGRATION = "staff.migrations.0005_hr_admin_and_judge_groups"


@pytest.fixture
def migrated_groups(db) -> None:
    """The groups of the data migration. A transactional test's flush empties every table,
    data migrations' rows included, so they are rebuilt by the migration's own function
    when missing (it is idempotent)."""
    if Group.objects.filter(name__in=["HR admins", "Judges"]).count() < 2:
        importlib.import_module(GROUPS_MIGRATION).create_groups(apps, None)
