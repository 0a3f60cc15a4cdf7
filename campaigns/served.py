"""Served-customer lookup: was a voter a customer the candidate actually served?

``voting`` marks a vote *served* when the voter's phone had a reported transaction with the
candidate in the stage's window; ``evaluations`` knows the transactions. The two never
import each other, so ``evaluations`` registers its lookup here in ``AppConfig.ready()``
(as it registers result-engine components) and ``voting`` calls ``served_pairs``.

A lookup is ``lookup(pairs, *, start, end) -> set of pairs``: of the given
``(staff_member_id, phone_hash)`` pairs, those with a transaction in ``[start, end)``. One
set-based read per batch of votes. Without a registered lookup nothing is served.
"""

import datetime as dt
from collections.abc import Callable

ServedLookup = Callable[..., set[tuple[int, str]]]

_lookup: list[ServedLookup] = []


def register_served_lookup(lookup: ServedLookup) -> None:
    """Register the lookup (idempotent for the same function; one lookup at most)."""
    if _lookup and _lookup[0] is not lookup:
        raise ValueError("A served-customer lookup is already registered.")
    _lookup[:] = [lookup]


def unregister_served_lookup() -> None:
    """Remove the lookup (used by tests)."""
    _lookup.clear()


def served_pairs(
    pairs: set[tuple[int, str]], *, start: dt.datetime, end: dt.datetime
) -> set[tuple[int, str]]:
    """The pairs of ``pairs`` whose phone was served by the staff member in ``[start, end)``."""
    if not _lookup or not pairs:
        return set()
    return _lookup[0](pairs, start=start, end=end)
