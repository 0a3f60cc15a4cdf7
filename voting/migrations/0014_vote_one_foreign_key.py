"""A vote's candidate and stage are checked by one foreign key instead of two, and a tally
event's vote by none.

PostgreSQL checked three keys for every vote at commit: its stage, its candidate, and its
tally event's vote, each a key-share lock on the row referenced (the stage's and the
candidate's rows are the same for every concurrent vote of the stage; the vote's own row
got a WAL record for the lock). Now ``vote_contestant_in_stage``: ``(contestant_id,
stage_id)`` references the candidate's ``(id, stage_id)``, deferred to commit as before.
It also refuses what the two keys let through: a vote whose candidate is of another stage.
The tally event is written in its vote's own transaction and folded within a second.

Adding the key reads every vote once while the ledger is locked for writes: on a large
ledger, run this migration outside voting hours.

Django's ``on_delete`` rules (``PROTECT``, ``CASCADE``) do not depend on the database
constraints and stay. SQLite, the embedded default, cannot add a constraint to a table: it
keeps none of these keys. Changing a column's key there rebuilds the table, which drops its
triggers: the frozen-stage trigger of 0008 is made again after each rebuild, both ways.
"""

from importlib import import_module

from django.db import migrations, models

# Migration 0008's module (its name starts with a digit, so it is imported by name).
frozen_stage = import_module("voting.migrations.0008_vote_frozen_stage_trigger")

NAME = "vote_contestant_in_stage"


def _names(apps, schema_editor):
    quote = schema_editor.quote_name
    vote = apps.get_model("voting", "Vote")
    contestant = apps.get_model("campaigns", "Contestant")
    return {
        "vote": quote(vote._meta.db_table),
        "contestant": quote(contestant._meta.db_table),
        "vote_contestant": quote(vote._meta.get_field("contestant").column),
        "vote_stage": quote(vote._meta.get_field("stage").column),
        "id": quote(contestant._meta.get_field("id").column),
        "stage": quote(contestant._meta.get_field("stage").column),
    }


def add_key(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    n = _names(apps, schema_editor)
    schema_editor.execute(
        f"ALTER TABLE {n['vote']} ADD CONSTRAINT {NAME} "
        f"FOREIGN KEY ({n['vote_contestant']}, {n['vote_stage']}) "
        f"REFERENCES {n['contestant']} ({n['id']}, {n['stage']}) DEFERRABLE INITIALLY DEFERRED"
    )


def drop_key(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    n = _names(apps, schema_editor)
    schema_editor.execute(f"ALTER TABLE {n['vote']} DROP CONSTRAINT IF EXISTS {NAME}")


def frozen_stage_trigger_again(apps, schema_editor):
    """SQLite only: PostgreSQL alters the table in place and keeps the trigger."""
    if schema_editor.connection.vendor == "sqlite":
        frozen_stage.create_trigger(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0008_contestant_unique_id_stage"),
        ("voting", "0013_voter_hash_unique_without_like_index"),
    ]

    operations = [
        # Undone last, once the reversed field changes have rebuilt the table.
        migrations.RunPython(migrations.RunPython.noop, frozen_stage_trigger_again),
        migrations.AlterField(
            model_name="tallyevent",
            name="vote",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=models.deletion.CASCADE,
                related_name="+",
                to="voting.vote",
                verbose_name="vote",
            ),
        ),
        migrations.AlterField(
            model_name="vote",
            name="contestant",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=models.deletion.PROTECT,
                related_name="votes",
                to="campaigns.contestant",
                verbose_name="candidate",
            ),
        ),
        migrations.AlterField(
            model_name="vote",
            name="stage",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=models.deletion.PROTECT,
                related_name="votes",
                to="campaigns.stage",
                verbose_name="stage",
            ),
        ),
        migrations.RunPython(add_key, drop_key),
        migrations.RunPython(frozen_stage_trigger_again, migrations.RunPython.noop),
    ]
