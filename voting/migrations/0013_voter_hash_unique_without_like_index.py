"""The voter key stays unique through a named constraint instead of ``unique=True``, so
PostgreSQL loses the ``varchar_pattern_ops`` twin index that ``unique=True`` adds for LIKE:
no query reads the voter key by pattern, and every new voter of an SMS batch paid for it
(as the receipt code's twin went in 0011). The unique index the voter locks' ``ON CONFLICT
(voter_hash)`` infer is built again under its new name, in the migration's transaction.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("voting", "0012_hr_admins_wrong_code_permissions"),
    ]

    operations = [
        migrations.AlterField(
            model_name="voter",
            name="voter_hash",
            field=models.CharField(max_length=64, verbose_name="voter key"),
        ),
        migrations.AddConstraint(
            model_name="voter",
            constraint=models.UniqueConstraint(fields=("voter_hash",), name="voter_unique_hash"),
        ),
    ]
