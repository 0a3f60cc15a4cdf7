"""Only messages with an outcome reference (a vote's receipt code) are indexed by it: the
admin's search looks a reference up by value, never "", and a third of the messages of a
blast (refusals, help replies, junk) have none. ``outcome_label IN (…)`` still uses the
index (EXPLAIN on PostgreSQL); the admin's search as a whole scans the table with either
index (its other terms are case-insensitive matches).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0006_stage_served_vote_rule"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="inboundsms",
            name="inboundsms_outcome_label",
        ),
        migrations.AddIndex(
            model_name="inboundsms",
            index=models.Index(
                condition=models.Q(("outcome_label", ""), _negated=True),
                fields=["outcome_label"],
                name="inboundsms_outcome_label",
            ),
        ),
    ]
