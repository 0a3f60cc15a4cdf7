"""The batch's read of the ids seen before probes the unique index once per id, however many
messages the provider has, with statistics or without (a young table has none)."""

import pytest
from django.db import connection, transaction

from campaigns.messaging.inbound.router import _originals, _plan_for_key_lists, originals_sql
from campaigns.messaging.models import InboundSms
from tests.factories.messaging import InboundSmsFactory
from tests.plans import explain, rows_read, shown

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's"),
]


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
        plan = explain(originals_sql(), [list(ids), "generic"])

    assert _originals("generic", ids) == {f"old-{n}": f"reply {n}" for n in range(19901, 20001)}
    assert rows_read(plan, InboundSms._meta.db_table) <= 100, shown(plan)
