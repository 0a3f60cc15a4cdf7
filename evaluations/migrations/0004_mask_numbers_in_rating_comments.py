"""Phone numbers in rating comments (a customer's SMS reply) are masked before they are
stored; this masks them in the comments stored before (data only; not reversible)."""

from django.db import migrations

from staff.phone_masking import mask_numbers_in_stored_texts


def mask_rating_comments(apps, schema_editor):
    Rating = apps.get_model("evaluations", "Rating")
    mask_numbers_in_stored_texts(Rating.objects.all(), "comment")


class Migration(migrations.Migration):
    dependencies = [("evaluations", "0003_default_grade_weights")]

    operations = [migrations.RunPython(mask_rating_comments, migrations.RunPython.noop)]
