"""The ledger's indexes, each one paid for on every inserted vote (docs/benchmarks.md,
"The ledger's indexes"): the two per-voter indexes become one covering index, the stage's
own index and ``vote_stage_status`` go (``vote_recount`` starts with both), the receipt
code keeps its unique index but loses the pattern-matching twin that ``unique=True``
adds, the actor of an invalidation is indexed only where set, and the tally outbox's
copies of the vote's stage and candidate lose their database constraints.

The new indexes are created before the old ones are dropped. On SQLite, altering a field
rebuilds the table, which drops its triggers: the frozen-stage trigger of 0008 is created
again at the end (on PostgreSQL it survives ``ALTER TABLE``).
"""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

_FROZEN = importlib.import_module("voting.migrations.0008_vote_frozen_stage_trigger")


def recreate_frozen_trigger_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        _FROZEN.drop_trigger(apps, schema_editor)
        _FROZEN.create_trigger(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0006_stage_served_vote_rule"),
        ("voting", "0010_served_votes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="vote",
            index=models.Index(
                fields=["voter_hash", "stage"],
                include=("local_day", "contestant"),
                name="vote_voter_usage",
            ),
        ),
        migrations.RemoveIndex(model_name="vote", name="vote_voter_stage_day"),
        migrations.RemoveIndex(model_name="vote", name="vote_voter_stage_cand"),
        migrations.RemoveIndex(model_name="vote", name="vote_stage_status"),
        migrations.AlterField(
            model_name="vote",
            name="stage",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="votes",
                to="campaigns.stage",
                verbose_name="stage",
            ),
        ),
        migrations.AddIndex(
            model_name="vote",
            index=models.Index(
                condition=models.Q(("invalidated_by__isnull", False)),
                fields=["invalidated_by"],
                name="vote_invalidated_by",
            ),
        ),
        migrations.AlterField(
            model_name="vote",
            name="invalidated_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="invalidated by",
            ),
        ),
        migrations.AlterField(
            model_name="vote",
            name="receipt_code",
            field=models.CharField(max_length=10, verbose_name="receipt code"),
        ),
        migrations.AddConstraint(
            model_name="vote",
            constraint=models.UniqueConstraint(
                fields=("receipt_code",), name="vote_unique_receipt_code"
            ),
        ),
        migrations.AlterField(
            model_name="tallyevent",
            name="stage",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="campaigns.stage",
                verbose_name="stage",
            ),
        ),
        migrations.AlterField(
            model_name="tallyevent",
            name="contestant",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="campaigns.contestant",
                verbose_name="candidate",
            ),
        ),
        migrations.RunPython(recreate_frozen_trigger_on_sqlite, migrations.RunPython.noop),
    ]
