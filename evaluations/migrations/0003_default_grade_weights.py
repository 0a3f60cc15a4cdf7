from django.db import migrations


def create_weights(apps, schema_editor):
    weights = apps.get_model("evaluations", "StoreGradeWeights")
    weights.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    """The one row of store grade weights (edited in the admin, never added there)."""

    dependencies = [("evaluations", "0002_service_measurement")]

    operations = [migrations.RunPython(create_weights, migrations.RunPython.noop)]
