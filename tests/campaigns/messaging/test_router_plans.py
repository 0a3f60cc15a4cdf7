"""The batch's read of the ids seen before probes the unique index once per id, however many
messages the provider has, with statistics or without (a young table has none)."""

import json

import pytest
from django.db import connection, transaction

from campaigns.messaging.inbound.router import _originals, _plan_for_key_lists, originals_sql
from campaigns.messaging.models import InboundSms
from tests.factories.messaging import InboundSmsFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's"),
]


def _rows_read(node: dict, table: str) -> int:
    """How many rows of ``table`` the plan under ``node`` read (kept or filtered out)."""
    own = 0
    if node.get("Relation Name") == table:
        own = (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"]
        own += node.get("Rows Removed by Index Recheck", 0)
    return own + sum(_rows_read(child, table) for child in node.get("Plans", []))


@pytest.mark.parametrize("analyzed", [False, True])
def test_the_ids_seen_before_are_probed_not_the_providers_messages(analyzed):
    template = InboundSmsFactory.build()
    table = InboundSms._meta.db_table
    with connection.cursor() as cursor:
        # 20,000 messages of each of two gateways, the same ids (another gateway's are not these).
        cursor.execute(
            f"INSERT INTO {table} (provider, message_id, phone_hash, phone_masked, to_number, "  # noqa: S608
            "text, created_at, status, code, reply, handled_by, outcome_label) "
            "SELECT p, 'old-' || n, '', %s, '', %s, now(), %s, '', 'reply ' || n, '', '' "
            "FROM generate_series(1, 20000) AS n, unnest(ARRAY['generic', 'aliyun']) AS p",
            [template.phone_masked, template.text, template.status],
        )
        if analyzed:
            cursor.execute(f"ANALYZE {table}")
    ids = {f"old-{n}" for n in range(19901, 20001)} | {f"new-{n}" for n in range(100)}

    with transaction.atomic():
        _plan_for_key_lists()  # as the batch's transaction plans
        with connection.cursor() as cursor:
            cursor.execute(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {originals_sql()}", ["generic", list(ids)]
            )
            raw = cursor.fetchone()[0]
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]

    assert _originals("generic", ids) == {f"old-{n}": f"reply {n}" for n in range(19901, 20001)}
    assert _rows_read(plan, InboundSms._meta.db_table) <= 100, json.dumps(plan, indent=1)
