"""A candidate's ``(id, stage)`` is unique (its id alone already is): the key a vote's one
foreign key references, so that a vote's candidate and stage are checked together
(voting 0014)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0007_inboundsms_outcome_label_partial_index"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="contestant",
            constraint=models.UniqueConstraint(
                fields=("id", "stage"), name="contestant_unique_id_stage"
            ),
        ),
    ]
