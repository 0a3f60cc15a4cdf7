"""Counting: the tally outbox folded into tallies (``tallies``), published leaderboards
(``publication`` writes, ``leaderboards`` reads, ``boards`` shapes them for pages), the
recount that checks it all against the ledger (``recount``), and the vote components of
the result engine (``components``)."""
