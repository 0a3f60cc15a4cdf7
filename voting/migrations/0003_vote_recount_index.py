"""The recount's covering index on the vote ledger, built without locking out writers.

PostgreSQL: ``CREATE INDEX CONCURRENTLY`` (outside a transaction, hence ``atomic = False``).
Other databases (the embedded SQLite default) get a plain ``CREATE INDEX``.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(
            self, app_label, schema_editor, from_state, to_state
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(
            self, app_label, schema_editor, from_state, to_state
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("voting", "0002_tally_outbox"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="vote",
            index=models.Index(
                fields=["stage", "status", "contestant", "channel"], name="vote_recount"
            ),
        ),
    ]
