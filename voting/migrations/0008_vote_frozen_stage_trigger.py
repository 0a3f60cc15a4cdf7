"""Frozen means frozen, in the database too: no UPDATE may change a vote of a finalised stage.

``voting.ledger.corrections`` refuses such a change first, with a translated error; this
trigger refuses it whatever wrote it (a raw statement, a race with the finalisation, a
future code path). PostgreSQL gets a PL/pgSQL trigger function raising ``check_violation``
(``IntegrityError`` in Django); SQLite, the embedded default, the same rule as a trigger
with ``RAISE(ABORT, …)``. Table and column names come from the historical models.
"""

from django.db import migrations

TRIGGER = "vote_frozen_stage"
MESSAGE = "stage_frozen: the votes of a finalised stage cannot change"


def _names(apps, schema_editor):
    quote = schema_editor.connection.ops.quote_name
    vote = apps.get_model("voting", "Vote")
    stage = apps.get_model("campaigns", "Stage")
    return {
        "vote": quote(vote._meta.db_table),
        "stage": quote(stage._meta.db_table),
        "stage_id": quote(vote._meta.get_field("stage").column),
        "id": quote(stage._meta.get_field("id").column),
        "status": quote(stage._meta.get_field("status").column),
    }


def create_trigger(apps, schema_editor):
    n = _names(apps, schema_editor)
    frozen = (
        f"EXISTS (SELECT 1 FROM {n['stage']} WHERE {n['id']} IN (OLD.{n['stage_id']}, "
        f"NEW.{n['stage_id']}) AND {n['status']} = 'finalized')"
    )
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger AS $$ BEGIN "
                f"IF {frozen} THEN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation'; "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON {n['vote']} "
                f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()"
            )
        elif schema_editor.connection.vendor == "sqlite":
            cursor.execute(
                f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON {n['vote']} FOR EACH ROW "
                f"WHEN {frozen} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


def drop_trigger(apps, schema_editor):
    n = _names(apps, schema_editor)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}" + (
            f" ON {n['vote']}" if schema_editor.connection.vendor == "postgresql" else ""
        ))
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_campaigns_stages_contestants"),
        ("voting", "0007_vote_job"),
    ]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
