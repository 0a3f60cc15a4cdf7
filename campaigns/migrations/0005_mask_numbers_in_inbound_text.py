"""Phone numbers customers typed into inbound SMS are masked before they are stored; this
masks them in the texts stored before (data only; not reversible: the numbers are gone)."""

from django.db import migrations

from staff.phone_masking import mask_numbers_in_stored_texts


def mask_inbound_texts(apps, schema_editor):
    InboundSms = apps.get_model("campaigns", "InboundSms")
    mask_numbers_in_stored_texts(InboundSms.objects.all(), "text")


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0004_inboundsms_votes_outcome_data")]

    operations = [migrations.RunPython(mask_inbound_texts, migrations.RunPython.noop)]
