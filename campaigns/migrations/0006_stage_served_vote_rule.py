"""The stage's served-customer rule (``served_vote_weight``, ``served_votes_only``) and the
served customers' votes of a stage result.

The two stage columns are added with ``ALTER TABLE … ADD COLUMN`` on every database, never
by Django's SQLite table rebuild: ``voting``'s frozen-stage trigger (voting 0008) names
``campaigns_stage``, and SQLite refuses to drop and rename a table a trigger refers to, so a
rebuild fails on any SQLite database that already has the trigger. Existing stages get
weight 1 and "all votes count" (the column defaults).
"""

from decimal import Decimal

from django.db import migrations, models

WEIGHT = "served_vote_weight"
ONLY = "served_votes_only"
# Column definitions per database: NOT NULL with the model defaults.
_COLUMNS = {
    "postgresql": {WEIGHT: "numeric(4, 2) NOT NULL DEFAULT 1", ONLY: "boolean NOT NULL DEFAULT false"},
    "sqlite": {WEIGHT: "decimal NOT NULL DEFAULT 1", ONLY: "bool NOT NULL DEFAULT 0"},
}


def _stage_table(apps, schema_editor) -> str:
    return schema_editor.quote_name(apps.get_model("campaigns", "Stage")._meta.db_table)


def add_stage_columns(apps, schema_editor):
    table = _stage_table(apps, schema_editor)
    for name, definition in _COLUMNS[schema_editor.connection.vendor].items():
        schema_editor.execute(
            f"ALTER TABLE {table} ADD COLUMN {schema_editor.quote_name(name)} {definition}"
        )


def drop_stage_columns(apps, schema_editor):
    table = _stage_table(apps, schema_editor)
    for name in (WEIGHT, ONLY):
        schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0005_mask_numbers_in_inbound_text"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(add_stage_columns, drop_stage_columns)],
            state_operations=[
                migrations.AddField(
                    model_name="stage",
                    name=WEIGHT,
                    field=models.DecimalField(
                        decimal_places=2,
                        default=Decimal("1"),
                        help_text="How many votes one vote of a customer the candidate served counts as, from 1 to 10 (1: like any other vote). A customer is served when a business system reported a transaction with the candidate for that phone in the stage's window.",
                        max_digits=4,
                        verbose_name="served customers' vote weight",
                    ),
                ),
                migrations.AddField(
                    model_name="stage",
                    name=ONLY,
                    field=models.BooleanField(
                        default=False,
                        help_text="If set, the vote components count only votes of customers the candidate served; the others stay in the ledger but do not count.",
                        verbose_name="count only served customers' votes",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="stageresult",
            name="served_votes",
            field=models.BigIntegerField(default=0, verbose_name="served customers' votes"),
        ),
    ]
