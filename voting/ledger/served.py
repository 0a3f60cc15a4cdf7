"""Which votes are served customers' votes: decided with the vote, written with it.

A vote is *served* when the voter's phone had a transaction reported with the candidate's
staff member in the stage's voting window (docs/served-votes.md). ``voting`` never reads
the transactions itself: it asks ``campaigns.served.served_pairs``, the lookup
``evaluations`` registers, once per web vote and once per SMS batch. Without a registered
lookup no vote is served.

The window is ``[opens_at, closes_at)``; a bound the stage does not set is the stage's
whole past (no start) or the moment of the vote (no end: a transaction reported later
cannot be in it, and the flag is frozen with the vote).
"""

import datetime as dt
from collections.abc import Iterable

from campaigns.served import served_pairs

# The lower bound of a window whose stage has no opening time: before any transaction.
_NO_START = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

ServedPair = tuple[int, str]  # (staff_member_id, voter_hash)


def served_window(
    opens_at: dt.datetime | None, closes_at: dt.datetime | None, *, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """The stage's voting window as ``(start, end)`` for the lookup (module docstring)."""
    return opens_at or _NO_START, closes_at or now


def served_voters(
    pairs: Iterable[tuple[ServedPair, dt.datetime | None, dt.datetime | None]],
    *,
    now: dt.datetime,
) -> set[ServedPair]:
    """The served ``(staff_member_id, voter_hash)`` pairs among ``pairs``, each given with
    its stage's ``opens_at`` and ``closes_at``: one lookup per distinct window (an SMS
    batch names one stage per candidate, nearly always one window)."""
    by_window: dict[tuple[dt.datetime, dt.datetime], set[ServedPair]] = {}
    for pair, opens_at, closes_at in pairs:
        window = served_window(opens_at, closes_at, now=now)
        by_window.setdefault(window, set()).add(pair)
    served: set[ServedPair] = set()
    for (start, end), window_pairs in by_window.items():
        served |= served_pairs(window_pairs, start=start, end=end)
    return served
