"""The inbound router (``campaigns.messaging.inbound.router``): claims, handler order, help
for what nobody took, one transaction, duplicates. Handlers here are fakes registered by
the test (a plug-in boundary, like the result-engine components); the database is real."""

import datetime as dt

import pytest
from django.db import connection
from django.utils.translation import gettext as _

from campaigns.messaging.choices import InboundStatus
from campaigns.messaging.inbound import router
from campaigns.messaging.inbound.router import (
    KEYWORD_ORDER,
    REPLY_ORDER,
    InboundItem,
    InboundMessage,
    register_inbound_handler,
    route_sms_batch,
)
from campaigns.messaging.models import InboundSms, OutboundSms
from campaigns.messaging.services import SmsRequest, queue_sms_bulk
from tests.campaigns.messaging.conftest import in_zh
from tests.factories.messaging import OutboundSmsFactory
from voting.models import Vote

pytestmark = pytest.mark.django_db


def sms(id: str, text: str, sender: str = "13812345678") -> InboundMessage:
    return InboundMessage(id=id, sender=sender, text=text, to="10690000")


class Taker:
    """A handler that decides the texts it is given, and remembers what it was offered."""

    def __init__(self, texts: set[str], *, status: str = InboundStatus.EVALUATION) -> None:
        self.texts, self.status = texts, status
        self.offered: list[list[str]] = []

    def __call__(self, items: list[InboundItem], *, now: dt.datetime) -> None:
        self.offered.append([item.message.id for item in items])
        for item in items:
            if item.text in self.texts:
                item.status, item.reply = self.status, f"took {item.text}"
                item.outcome_ref, item.outcome_label = 7, f"R-{item.text}"


@pytest.fixture
def handlers(monkeypatch) -> dict:
    """An empty registry for the test (voting's handler is put back afterwards)."""
    registry: dict = {}
    monkeypatch.setattr(router, "_handlers", registry)
    return registry


def outcomes() -> list[tuple]:
    rows = InboundSms.objects.order_by("message_id")
    return list(rows.values_list("message_id", "status", "handled_by", "outcome_ref", "reply"))


def test_handlers_are_offered_what_is_still_undecided_in_order(handlers):
    first, second = Taker({"a"}), Taker({"a", "b"})
    register_inbound_handler("second", second, order=20)
    register_inbound_handler("first", first, order=10, help_text=lambda: "Send a or b.")

    results = route_sms_batch([sms("1", "A"), sms("2", "b"), sms("3", "c")], provider="generic")

    assert (first.offered, second.offered) == ([["1", "2", "3"]], [["2", "3"]])
    assert [(r.id, r.status, r.handled_by, r.reply) for r in results] == [
        ("1", "evaluation", "first", "took a"),
        ("2", "evaluation", "second", "took b"),
        ("3", "help", "", "Send a or b."),
    ]
    assert outcomes() == [
        ("1", "evaluation", "first", 7, "took a"),
        ("2", "evaluation", "second", 7, "took b"),
        ("3", "help", "", None, "Send a or b."),
    ]
    assert InboundSms.objects.get(message_id="1").outcome_label == "R-a"


def test_help_joins_the_handlers_sentences_and_has_a_default(handlers):
    [alone] = route_sms_batch([sms("1", "hi")], provider="generic")
    register_inbound_handler("x", Taker(set()), order=10, help_text=lambda: "One.")
    register_inbound_handler("y", Taker(set()), order=20, help_text=lambda: "Two.")

    [joined] = route_sms_batch([sms("2", "hi")], provider="generic")

    assert alone.reply == in_zh(
        lambda: _("[Service Star] This number could not understand your message.")
    )
    assert (joined.status, joined.reply) == ("help", "One. Two.")


def test_registration_is_idempotent_and_refuses_conflicts(handlers):
    taker = Taker(set())
    register_inbound_handler("x", taker, order=10)
    register_inbound_handler("x", taker, order=10)

    with pytest.raises(ValueError, match="already registered"):
        register_inbound_handler("x", Taker(set()), order=10)
    with pytest.raises(ValueError, match="order 10 is taken"):
        register_inbound_handler("y", Taker(set()), order=10)
    assert [entry.name for entry in router.registered_handlers()] == ["x"]


def test_a_handler_raising_rolls_the_whole_batch_back(handlers):
    def breaks(items: list[InboundItem], *, now: dt.datetime) -> None:
        queue_sms_bulk([SmsRequest(items[0].phone, "vote_receipt", {"n": 1}, "en")], now=now)
        raise RuntimeError("handler bug")

    register_inbound_handler("breaks", breaks, order=10)

    with pytest.raises(RuntimeError, match="handler bug"):
        route_sms_batch([sms("1", "x"), sms("2", "y")], provider="generic")

    assert (InboundSms.objects.count(), OutboundSms.objects.count()) == (0, 0)


def test_a_handler_setting_an_unknown_status_is_an_error(handlers):
    register_inbound_handler("odd", Taker({"x"}, status="maybe"), order=10)

    with pytest.raises(ValueError, match="set status 'maybe'"):
        route_sms_batch([sms("1", "x")], provider="generic")

    assert not InboundSms.objects.exists()


def test_duplicates_in_a_batch_and_across_deliveries_get_the_original_reply(handlers):
    taker = Taker({"a"})
    register_inbound_handler("t", taker, order=10)

    first = route_sms_batch([sms("1", "a"), sms("1", "a"), sms("2", "z")], provider="generic")
    again = route_sms_batch([sms("2", "z"), sms("1", "a")], provider="generic")

    assert [(r.id, r.status, r.reply) for r in first] == [
        ("1", "evaluation", "took a"),
        ("1", "duplicate", "took a"),
        ("2", "help", first[2].reply),
    ]
    assert [(r.id, r.status, r.reply) for r in again] == [
        ("2", "duplicate", first[2].reply),
        ("1", "duplicate", "took a"),
    ]
    assert taker.offered == [["1", "2"]]  # the second delivery offered nothing
    assert InboundSms.objects.count() == 2


def test_unreadable_messages_are_refused_by_the_router_and_never_offered(handlers):
    taker = Taker(set())
    register_inbound_handler("t", taker, order=10)

    results = route_sms_batch(
        [
            sms("1", "x", sender="abc"),
            InboundMessage(id="2", sender="13812345678", text=None),
            InboundMessage(id=None, sender="13812345678", text="x"),
            sms("4", "y"),
        ],
        provider="generic",
    )

    assert [(r.id, r.status, r.code) for r in results] == [
        ("1", "refused", "bad_phone"),
        ("2", "refused", "bad_text"),
        (None, "refused", "bad_message"),
        ("4", "help", ""),
    ]
    assert results[1].reply == in_zh(
        lambda: (
            _("[Service Star] Your message could not be handled: %(reason)s")
            % {"reason": _("This message could not be read.")}
        )
    )
    assert taker.offered == [["4"]]
    assert sorted(InboundSms.objects.values_list("message_id", "code")) == [
        ("1", "bad_phone"),
        ("2", "bad_text"),
        ("4", ""),
    ]
    assert not OutboundSms.objects.exists()


def test_handlers_see_the_normalised_text_and_the_senders_language(handlers):
    seen: list[tuple[str, str, str]] = []

    def looks(items: list[InboundItem], *, now: dt.datetime) -> None:
        seen.extend((item.text, item.language, item.provider) for item in items)

    register_inbound_handler("looks", looks, order=10)
    OutboundSmsFactory(phone="13812345678", template="otp", params={"code": "1"}, language="en")

    route_sms_batch(
        [sms("1", "ＴＤ\u200b"), sms("2", "x" * 201), sms("3", "1 0", sender="13900001111")],
        provider="aliyun",
    )

    assert seen == [("td", "en", "aliyun"), ("", "en", "aliyun"), ("1 0", "zh-hans", "aliyun")]


def test_a_vote_keyword_stays_a_vote_whatever_registers_after_it(voting):
    greedy = Taker({"tp 1234", "7"})
    # The real reply handler (evaluations' ratings) holds REPLY_ORDER: stand in for it.
    real = [entry for entry in router.registered_handlers() if entry.order == REPLY_ORDER]
    for entry in real:
        router.unregister_inbound_handler(entry.name)
    register_inbound_handler("replies", greedy, order=REPLY_ORDER)
    try:
        results = route_sms_batch([sms("1", "TP 1234"), sms("2", "7")], provider="generic")
    finally:
        router.unregister_inbound_handler("replies")
        for entry in real:
            register_inbound_handler(
                entry.name,
                entry.handle,
                order=entry.order,
                help_text=entry.help_text,
                find_labels=entry.find_labels,
            )

    assert [(r.status, r.handled_by) for r in results] == [
        ("counted", "votes"),
        ("evaluation", "replies"),
    ]
    assert greedy.offered == [["2"]]
    assert Vote.objects.get().provider_message_id == "generic:1"
    assert KEYWORD_ORDER < REPLY_ORDER


def _page_cost() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_batch_plans_its_key_lookups_for_index_probes_only_in_its_own_transaction(
    handlers,
):
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL planner setting")
    register_inbound_handler("taker", Taker({"A"}), order=KEYWORD_ORDER)
    seen_in_batch = []

    def look(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith("SELECT now()"):
            seen_in_batch.append(_page_cost())
        return result

    before = _page_cost()
    with connection.execute_wrapper(look):
        route_sms_batch([sms("1", "A")], provider="generic")

    assert seen_in_batch == [router._BATCH_RANDOM_PAGE_COST]
    assert before != router._BATCH_RANDOM_PAGE_COST
    assert _page_cost() == before
