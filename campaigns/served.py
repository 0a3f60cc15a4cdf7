"""Served-customer lookup: was a voter a customer the candidate actually served?

``voting`` marks a vote *served* when the voter's phone had a reported transaction with the
candidate in the stage's window; ``evaluations`` knows the transactions. The two never
import each other, so ``evaluations`` registers its lookup here in ``AppConfig.ready()``
(as it registers result-engine components) and ``voting`` calls ``served_pairs``.

A lookup is ``lookup(pairs, *, start, end) -> set of pairs``: of the given
``(staff_member_id, phone_hash)`` pairs, those with a transaction in ``[start, end)``. One
set-based read per batch of votes. Without a registered lookup nothing is served.

For the demo, ``evaluations`` also registers ``customers(staff_ids, *, start, end,
per_staff) -> [(staff_member_id, phone_hash, phone_masked)]``: customers those staff
members served in the window, so ``voting``'s demo can let some of them vote.

For the web vote, which decides in one ``SELECT`` on PostgreSQL, ``evaluations`` also
registers ``served_sql(staff=, phone=, start=, end=) -> str``: the same question as an SQL
boolean expression over the given SQL expressions, so the vote's one read answers it
without a round trip of its own (``voting.ledger.sql``). Without it, the lookup is asked.

The other way round, ``voting`` registers a *served vote counter*
(``counter(stage) -> {contestant_id: served votes}``), so that the stage results, which
``campaigns`` computes, can show each candidate's served customers' votes.
"""

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from campaigns.models import Stage

ServedLookup = Callable[..., set[tuple[int, str]]]
ServedVoteCounter = Callable[["Stage"], Mapping[int, int]]

ServedCustomers = Callable[..., list[tuple[int, str, str]]]
ServedSql = Callable[..., str]

_lookup: list[ServedLookup] = []
_customers: list[ServedCustomers] = []
_sql: list[ServedSql] = []
_counter: list[ServedVoteCounter] = []


def register_served_lookup(lookup: ServedLookup) -> None:
    """Register the lookup (idempotent for the same function; one lookup at most)."""
    if _lookup and _lookup[0] is not lookup:
        raise ValueError("A served-customer lookup is already registered.")
    _lookup[:] = [lookup]


def unregister_served_lookup() -> None:
    """Remove the lookup, its SQL form and the customer list (used by tests)."""
    _lookup.clear()
    _customers.clear()
    _sql.clear()


def register_served_sql(render: ServedSql) -> None:
    """Register the lookup's SQL form (same rules as ``register_served_lookup``)."""
    if _sql and _sql[0] is not render:
        raise ValueError("A served-customer SQL form is already registered.")
    _sql[:] = [render]


def served_sql(*, staff: str, phone: str, start: str, end: str) -> str | None:
    """An SQL boolean expression: whether the phone hash ``phone`` had a transaction with
    the staff member ``staff`` in ``[start, end)`` (all four are SQL expressions of the
    caller's statement, never user input); ``None`` without a registered form."""
    if not _sql:
        return None
    return _sql[0](staff=staff, phone=phone, start=start, end=end)


def register_served_customers(customers: ServedCustomers) -> None:
    """Register the demo's customer list (same rules as ``register_served_lookup``)."""
    if _customers and _customers[0] is not customers:
        raise ValueError("A served-customer list is already registered.")
    _customers[:] = [customers]


def served_customers(
    staff_ids: list[int], *, start: dt.datetime, end: dt.datetime, per_staff: int
) -> list[tuple[int, str, str]]:
    """Up to ``per_staff`` customers each staff member served in ``[start, end)``, as
    ``(staff_member_id, phone_hash, phone_masked)``; empty without a registered list."""
    if not _customers or not staff_ids:
        return []
    return _customers[0](staff_ids, start=start, end=end, per_staff=per_staff)


def served_pairs(
    pairs: set[tuple[int, str]], *, start: dt.datetime, end: dt.datetime
) -> set[tuple[int, str]]:
    """The pairs of ``pairs`` whose phone was served by the staff member in ``[start, end)``."""
    if not _lookup or not pairs:
        return set()
    return _lookup[0](pairs, start=start, end=end)


def register_served_vote_counter(counter: ServedVoteCounter) -> None:
    """Register the served vote counter (``voting``; re-registering the same one is a
    no-op, a second one raises ``ValueError``)."""
    if _counter and _counter[0] is not counter:
        raise ValueError("A served vote counter is already registered.")
    _counter[:] = [counter]


def served_votes_by_contestant(stage: "Stage") -> dict[int, int]:
    """Valid votes of served customers per contestant of ``stage`` (empty without a
    registered counter)."""
    if not _counter:
        return {}
    return dict(_counter[0](stage))
