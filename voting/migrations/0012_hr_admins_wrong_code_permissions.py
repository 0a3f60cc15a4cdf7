"""The HR admins' group gets the permissions of the wrong-code counter (``WrongCode``, added
by 0009 after the group was made): the groups migration's own rule, applied again (data
only; staff 0005 explains why a model added later needs this)."""

from importlib import import_module

from django.db import migrations

_groups = import_module("staff.migrations.0005_hr_admin_and_judge_groups")


def grant(apps, schema_editor):
    _groups.create_groups(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("voting", "0011_ledger_indexes_for_the_hot_path"),
        ("staff", "0005_hr_admin_and_judge_groups"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
