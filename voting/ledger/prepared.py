"""Server-side prepared statements for the web vote's statements (PostgreSQL only).

psycopg2 fills parameters in on the client and sends plain SQL text, so PostgreSQL parses
and plans every statement anew. For the vote's facts ``SELECT`` (a dozen joins and
subqueries) planning was 0.3 ms of the 0.45 ms it costs the server (``EXPLAIN ANALYZE``),
on every vote. A statement ``PREPARE``d once per connection and then run by ``EXECUTE`` is
parsed once; PostgreSQL (``plan_cache_mode = auto``, the default) plans its first five
executions with their values, then switches to one generic plan, made once and reused, if
it costs no more than those: the facts read went from 0.67 to 0.21 ms a call
(docs/benchmarks.md, "Vote paths, issue 12").

Prepared statements belong to the database session, not to a transaction: one prepared in a
transaction that rolls back stays prepared. Django opens a new session when it reconnects
(``CONN_MAX_AGE``, a failed health check), so what is prepared is remembered per psycopg2
connection object, weakly: a closed connection's record goes with it. A statement's name is
its label plus a digest of its text, so each rendering of a template is its own statement.
Nothing else on these connections deallocates statements (Django's PostgreSQL backend uses
none); a pooler that shares server sessions between clients (PgBouncer in transaction mode)
would break them, and is not part of this deployment. Should a session lose a statement, or
a migration change the type of a column a statement returns, that execution fails and the
session is closed after the request, so the next request starts afresh.
"""

import hashlib
import re
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import DatabaseError
from django.db.backends.utils import CursorWrapper

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
# SQLSTATEs of a statement the session no longer has (26000: invalid_sql_statement_name)
# or whose plan no longer fits (0A000: "cached plan must not change result type").
_STALE = {"26000", "0A000"}
# psycopg2 connection -> names of the statements prepared in its session.
_prepared: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class _Statement:
    name: str
    prepare: str  # PREPARE <name> AS <the statement with $1, $2, …>
    execute: str  # EXECUTE <name>(%s, …), for psycopg2 to fill in
    params: tuple[str, ...]  # the parameter names, in $n order


@lru_cache(maxsize=64)
def _statement(label: str, sql: str) -> _Statement:
    """``sql`` (psycopg2's ``%(name)s`` placeholders) as a named prepared statement."""
    params: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:  # "%%", a literal percent sign
            return "%"
        if name not in params:
            params.append(name)
        return f"${params.index(name) + 1}"

    body = _PLACEHOLDER.sub(number, sql)
    name = f"{label}_{hashlib.blake2b(sql.encode(), digest_size=6).hexdigest()}"
    arguments = f"({', '.join(['%s'] * len(params))})" if params else ""
    return _Statement(
        name, f"PREPARE {name} AS {body}", f"EXECUTE {name}{arguments}", tuple(params)
    )


def execute_prepared(
    cursor: CursorWrapper,
    statements: Sequence[tuple[str, str, Mapping[str, Any]]],
    *,
    begin: bool = False,
    commit: bool = False,
) -> None:
    """Run ``statements`` — ``(label, sql, params)``, ``sql`` with ``%(name)s``
    placeholders — in this order and in one round trip, each as a prepared statement of
    the cursor's connection; the cursor then holds the last one's result.

    Several statements travel as one simple-protocol query (``EXECUTE a(…); EXECUTE
    b(…)``): inside the caller's transaction, each is still a statement of its own, with
    its own snapshot in READ COMMITTED (``voting.ledger.sql.read_facts_sql`` relies on
    it). A statement not yet prepared on this connection is prepared first, once, in a
    round trip of its own that is not logged as a query (it happens once per connection,
    and tests count a vote's statements). PostgreSQL only.

    ``begin`` puts ``BEGIN`` in front of the statements and ``commit`` ``COMMIT`` after
    them, in the same round trip, for a caller in autocommit mode that runs its own
    transaction (``voting.ledger.services.cast_vote``): with ``commit`` the cursor holds
    no result. On an error the rest of the round trip is skipped, so a ``COMMIT`` after a
    failed statement never runs and the caller must end the transaction (``ROLLBACK``).
    """
    prepared = _prepared.setdefault(cursor.db.connection, set())
    parts = [_statement(label, sql) for label, sql, _params in statements]
    for part in parts:
        if part.name not in prepared:
            with cursor.db.wrap_database_errors:
                cursor.cursor.execute(part.prepare)
            prepared.add(part.name)
    values = [
        params[name]
        for part, (_label, _sql, params) in zip(parts, statements, strict=True)
        for name in part.params
    ]
    sql = "; ".join(part.execute for part in parts)
    sql = f"BEGIN; {sql}" if begin else sql
    try:
        cursor.execute(f"{sql}; COMMIT" if commit else sql, values)
    except DatabaseError as exc:
        if getattr(exc.__cause__, "pgcode", None) in _STALE:
            # The session lost a statement or its plan no longer fits the tables (a
            # migration changed a column's type under a running worker). Nothing can run
            # in this aborted transaction; the session is closed at the end of the request
            # (Django's close_at), and the next one prepares everything again.
            _prepared.pop(cursor.db.connection, None)
            cursor.db.close_at = time.monotonic()
        raise
