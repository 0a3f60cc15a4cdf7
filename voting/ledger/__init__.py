"""The vote ledger: every vote ever cast, append-only, and the rules that admit a vote.

Rooms: ``rules`` (the stage window, the limits, what is left: pure functions shared by the
web vote and the SMS ingest), ``locks`` (the per-voter row lock), ``receipts`` (receipt
codes), ``outbox`` (the tally events written with every ledger change), ``selectors``
(reads), ``sql`` (every raw SQL statement of the web vote, column lists from the models),
``services`` (casting a vote) and ``corrections`` (invalidating and restoring votes).
"""
