"""Served-customer votes: ``Vote.is_served``, ``TallyEvent.is_served`` and
``Tally.served_votes``, all false / 0 for existing rows (database defaults).

On SQLite adding a column to the vote table rebuilds it, which drops the frozen-stage
trigger of 0008; it is created again after the columns are added (and after they are
removed, when migrating back). PostgreSQL adds the columns in place and keeps its trigger.
"""

from importlib import import_module

from django.db import migrations, models

_frozen = import_module("voting.migrations.0008_vote_frozen_stage_trigger")


def restore_sqlite_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    _frozen.drop_trigger(apps, schema_editor)
    _frozen.create_trigger(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("voting", "0009_wrong_code"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, restore_sqlite_trigger),
        migrations.AddField(
            model_name="tally",
            name="served_votes",
            field=models.BigIntegerField(db_default=0, default=0, verbose_name="served votes"),
        ),
        migrations.AddField(
            model_name="tallyevent",
            name="is_served",
            field=models.BooleanField(
                db_default=False, default=False, verbose_name="served customer"
            ),
        ),
        migrations.AddField(
            model_name="vote",
            name="is_served",
            field=models.BooleanField(
                db_default=False, default=False, verbose_name="served customer"
            ),
        ),
        migrations.RunPython(restore_sqlite_trigger, migrations.RunPython.noop),
    ]
