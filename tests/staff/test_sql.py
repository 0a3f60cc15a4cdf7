"""``staff.sql``: the batch paths' set-based writes keep every value exactly as given.

On PostgreSQL ``insert_rows`` sends each column as one array literal and ``copy_rows``
writes COPY's text format: both quote and escape by hand, so any text a gateway may send
(quotes, backslashes, tabs, line breaks, the words NULL and ``\\N``, any script) must
arrive as it was, ``None`` as NULL, and the rows in the order given.
"""

import datetime as dt

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.messaging.models import InboundSms
from staff.sql import copy_rows, insert_rows

pytestmark = pytest.mark.django_db

# PostgreSQL text holds any character but NUL; lone surrogates cannot be encoded.
TEXT = st.text(
    alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
    max_size=40,
)
TRICKY = st.sampled_from(['"', "\\", "\\N", "NULL", "a\tb", "c\nd\r", "{x,y}", "", " 汉字 "])
VALUES = st.one_of(TEXT, TRICKY)
FIELDS = ["provider", "message_id", "text", "reply", "received_at", "outcome_ref", "status"]
FIELDS += ["phone_hash", "phone_masked", "to_number", "code"]
RECEIVED = dt.datetime(2026, 12, 3, 8, 30, 15, 123456, tzinfo=dt.UTC)


def rows_of(texts: list[str], replies: list[str | None]) -> list[list[object]]:
    return [
        [
            "generic",
            f"m{n}",
            text,
            reply or "",
            RECEIVED if n % 2 else None,
            None if n % 3 else 10**12 + n,
            "help",
            *("", "", "", ""),
        ]
        for n, (text, reply) in enumerate(zip(texts, replies, strict=True))
    ]


def stored() -> list[tuple]:
    return list(
        InboundSms.objects.order_by("id").values_list(
            "message_id", "text", "reply", "received_at", "outcome_ref"
        )
    )


def expected(rows: list[list[object]]) -> list[tuple]:
    return [(row[1], row[2], row[3], row[4], row[5]) for row in rows]


def insert(rows: list[list[object]]) -> None:
    returned = insert_rows(InboundSms, FIELDS, rows, tail="RETURNING message_id")
    assert [row[0] for row in returned] == [row[1] for row in rows]


def copy(rows: list[list[object]]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    copy_rows(InboundSms, FIELDS, rows)


@pytest.mark.parametrize("write", [insert, copy])
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), size=st.integers(1, 12))
def test_any_text_is_stored_as_given_in_order(write, data, size):
    texts = data.draw(st.lists(VALUES, min_size=size, max_size=size))
    replies = data.draw(st.lists(st.one_of(st.none(), VALUES), min_size=size, max_size=size))
    rows = rows_of(texts, replies)
    with transaction.atomic():
        InboundSms.objects.all().delete()
        write(rows)

        assert stored() == expected(rows)
        transaction.set_rollback(True)


def test_insert_rows_on_conflict_skips_taken_keys_and_returns_only_the_new():
    insert_rows(InboundSms, FIELDS, rows_of(["first"], [None]))
    rows = rows_of(["again", "new"], [None, None])

    returned = insert_rows(
        InboundSms,
        FIELDS,
        rows,
        tail="ON CONFLICT (provider, message_id) DO NOTHING RETURNING message_id",
    )

    assert returned == [("m1",)]
    assert [text for _id, text, *_rest in stored()] == ["first", "new"]


def test_no_rows_runs_no_statement(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert insert_rows(InboundSms, FIELDS, []) == []
        if connection.vendor == "postgresql":
            copy_rows(InboundSms, FIELDS, [])


# ``__among``: the rows ``__in`` finds, for any values, with one parameter.


def message_ids(**lookup: object) -> set[str]:
    return set(InboundSms.objects.filter(**lookup).values_list("message_id", flat=True))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stored_texts=st.lists(VALUES, min_size=1, max_size=8, unique=True),
    asked=st.lists(st.one_of(VALUES, st.none()), max_size=10),
)
def test_among_finds_what_in_finds_for_any_text(stored_texts, asked):
    with transaction.atomic():
        InboundSms.objects.all().delete()
        insert_rows(InboundSms, FIELDS, rows_of(stored_texts, [None] * len(stored_texts)))
        # Ask by the stored texts (some of them), and by any other text.
        asked = asked + stored_texts[::2]

        found = message_ids(text__among=asked)

        assert found == message_ids(text__in=asked)
        assert found == {f"m{n}" for n, text in enumerate(stored_texts) if text in asked}
        transaction.set_rollback(True)


def test_among_matches_keys_and_never_a_cut_value():
    insert_rows(InboundSms, FIELDS, rows_of(["a", "b", "c"], [None] * 3))
    pks = sorted(InboundSms.objects.values_list("pk", flat=True))
    long_id = "m1" + "x" * 200  # longer than the column: a varchar(100) cast would cut it

    assert message_ids(pk__among=[pks[0], pks[2], 10**15]) == {"m0", "m2"}
    assert message_ids(pk__among={pks[1]}) == {"m1"}
    assert message_ids(message_id__among=["m", long_id, "m1 "]) == set()
    assert message_ids(message_id__among=[]) == set()
    assert message_ids(message_id__among=["m2", None]) == {"m2"}


def test_among_sends_one_parameter_for_a_thousand_values():
    values = [f"hash-{n}" for n in range(1000)]
    sent = []

    def record(execute, sql, params, many, context):
        sent.append(params)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        among = message_ids(phone_hash__among=values)
    with connection.execute_wrapper(record):
        listed = message_ids(phone_hash__in=values)

    assert among == listed == set()
    assert [len(params) for params in sent] == [1, 1000]
