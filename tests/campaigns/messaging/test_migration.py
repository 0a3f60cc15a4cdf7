"""The move of the SMS tables to ``campaigns.messaging`` loses nothing on a database that
holds rows (issue 9): migrate back to before the move, write outbox and inbound rows the
old way (the historical models), migrate forward, and find every row as it was, the
counted message linked to its vote by id, with handler and receipt filled in.

Runs on SQLite and PostgreSQL alike (``transaction=True``: migrations run DDL outside the
test's transaction; the schema is migrated forward again whatever happens).
"""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from campaigns.messaging.models import InboundSms, OutboundSms
from tests.factories.campaigns import ContestantFactory

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("voting", "0005_vote_ip_subnet_hash"),
    ("campaigns", "0001_campaigns_stages_contestants"),
]
AT = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def _migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _write_old_rows(apps, contestant) -> dict[str, int]:
    """Rows as the voting app wrote them before the move."""
    vote_model = apps.get_model("voting", "Vote")
    old_outbound = apps.get_model("voting", "OutboundSms")
    old_inbound = apps.get_model("voting", "InboundSms")
    vote = vote_model.objects.create(
        stage_id=contestant.stage_id,
        contestant_id=contestant.pk,
        voter_hash="v" * 64,
        phone_masked="138****5678",
        channel="sms",
        cast_at=AT,
        local_day=AT.date(),
        receipt_code="ABCDEFGHJK",
        provider_message_id="generic:m1",
    )
    sent = old_outbound.objects.create(
        phone_hash="h" * 64,
        phone_masked="138****5678",
        template="vote_receipt",
        params={"receipt": "ABCDEFGHJK"},
        language="zh-hans",
        body="receipt text",
        status="sent",
        created_at=AT,
        next_attempt_at=AT,
    )
    pending = old_outbound.objects.create(
        to_e164="+8613812345678",
        phone_hash="h" * 64,
        phone_masked="138****5678",
        template="otp",
        params={"code": "123456"},
        language="en",
        created_at=AT,
        next_attempt_at=AT,
    )
    counted = old_inbound.objects.create(
        provider="generic",
        message_id="m1",
        phone_hash="h" * 64,
        phone_masked="138****5678",
        text="TP 1234",
        status="counted",
        reply="counted reply",
        vote=vote,
        created_at=AT,
    )
    helped = old_inbound.objects.create(
        provider="twilio", message_id="SM2", text="hello", status="help", reply="help reply"
    )
    return {
        "vote": vote.pk,
        "sent": sent.pk,
        "pending": pending.pk,
        "counted": counted.pk,
        "helped": helped.pk,
    }


def test_the_move_keeps_every_outbound_and_inbound_row():
    contestant = ContestantFactory()
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        ids = _write_old_rows(_migrate(BEFORE), contestant)
    finally:
        _migrate(latest)

    outbound = {row.pk: row for row in OutboundSms.objects.all()}
    assert sorted(outbound) == sorted([ids["sent"], ids["pending"]])
    sent, pending = outbound[ids["sent"]], outbound[ids["pending"]]
    assert (sent.template, sent.status, sent.body, sent.params) == (
        "vote_receipt",
        "sent",
        "receipt text",
        {"receipt": "ABCDEFGHJK"},
    )
    assert (pending.template, pending.status, pending.to_e164, pending.language) == (
        "otp",
        "pending",
        "+8613812345678",
        "en",
    )
    inbound = {row.pk: row for row in InboundSms.objects.all()}
    assert sorted(inbound) == sorted([ids["counted"], ids["helped"]])
    counted, helped = inbound[ids["counted"]], inbound[ids["helped"]]
    assert (counted.message_id, counted.status, counted.reply, counted.text) == (
        "m1",
        "counted",
        "counted reply",
        "TP 1234",
    )
    assert (counted.handled_by, counted.outcome_ref, counted.outcome_label) == (
        "votes",
        ids["vote"],
        "ABCDEFGHJK",
    )
    assert (helped.provider, helped.status, helped.handled_by, helped.outcome_ref) == (
        "twilio",
        "help",
        "",
        None,
    )
    # The outbox takes templates no migration knew of (the constraint is gone).
    OutboundSms.objects.create(
        phone_hash="h", phone_masked="138****0000", template="rating_invite", language="en"
    )
