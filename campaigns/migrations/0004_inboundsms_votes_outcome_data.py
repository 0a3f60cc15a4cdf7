"""Existing inbound SMS that counted a vote were decided by the vote handler: mark them
``handled_by = "votes"`` and copy the vote's receipt code into ``outcome_label`` (the
admin's reference column and search), in one UPDATE each. Reversible: the columns
simply go back to empty."""

from django.db import migrations
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce


def forwards(apps, schema_editor):
    InboundSms = apps.get_model("campaigns", "InboundSms")
    Vote = apps.get_model("voting", "Vote")
    counted = InboundSms.objects.filter(outcome_ref__isnull=False)
    receipt = Vote.objects.filter(pk=OuterRef("outcome_ref")).values("receipt_code")[:1]
    counted.update(handled_by="votes", outcome_label=Coalesce(Subquery(receipt), Value("")))


def backwards(apps, schema_editor):
    InboundSms = apps.get_model("campaigns", "InboundSms")
    InboundSms.objects.update(handled_by="", outcome_label="")


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0003_inboundsms_handler_outcome"),
        ("voting", "0006_sms_models_move_to_campaigns_messaging"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
