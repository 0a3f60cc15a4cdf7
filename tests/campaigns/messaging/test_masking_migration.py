"""The data migrations that mask numbers in texts stored before masking on the way in
(``campaigns 0005``, ``evaluations 0004``), run on rows written in clear."""

import importlib

import pytest
from django.apps import apps

from campaigns.messaging.choices import InboundStatus
from campaigns.messaging.models import InboundSms

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("campaigns.migrations.0005_mask_numbers_in_inbound_text")


def test_stored_inbound_texts_are_masked_and_others_left_alone():
    texts = {
        "m1": "TP 1234 call +86 139 1234 5678",
        "m2": "TP 1234",
        "m3": "９ 很好 １３９１２３４５６７８",
        "m4": "",
    }
    for message_id, text in texts.items():
        InboundSms.objects.create(
            provider="generic", message_id=message_id, text=text, status=InboundStatus.HELP
        )

    MIGRATION.mask_inbound_texts(apps, None)
    MIGRATION.mask_inbound_texts(apps, None)  # a second run finds nothing to change

    assert dict(InboundSms.objects.values_list("message_id", "text")) == {
        "m1": "TP 1234 call +86 139****5678",
        "m2": "TP 1234",
        "m3": "９ 很好 139****5678",
        "m4": "",
    }
