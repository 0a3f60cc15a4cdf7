"""Set-based writes for the hot batch paths (SMS ingest, outbox): one statement per batch.

``bulk_create`` compiles every value through the field machinery; at 1,000 rows per batch
that cost more than the database's own work (docs/benchmarks.md, "SMS batch ingest"). The
column names come from the model's ``_meta``, so a renamed column cannot drift; every value
is a query parameter, already adapted by the caller for the database (times through
``connection.ops.adapt_datetimefield_value``, JSON as text).

* ``insert_rows``: an ``INSERT`` that may carry ``ON CONFLICT`` and ``RETURNING``. On
  PostgreSQL the values travel as one array literal per column (``SELECT … FROM
  unnest(%s::varchar(16)[], …)``): a 1,000-row ``VALUES`` list is 10,000-odd parameters,
  each quoted by the driver and parsed by the server as an expression of its own, which
  cost more than the write itself (43 ms against 17 ms for 1,000 inbound SMS rows,
  docs/benchmarks.md, "Vote paths, issue 12"). Elsewhere, a multi-row ``VALUES``.
* ``copy_rows``: ``COPY`` (PostgreSQL), for rows that cannot conflict; the cheapest way in.
* ``Among``, the ``__among`` lookup: ``filter(phone_hash__among=hashes)`` is ``__in`` for a
  batch's worth of values, sent as one parameter (below).
"""

import io
import json
import time
from collections.abc import Collection, Sequence

from django.db import connection, models


def quoted_table(model: type[models.Model]) -> str:
    """``model``'s table name, quoted, for SQL written by hand."""
    return connection.ops.quote_name(model._meta.db_table)


def quoted_columns(model: type[models.Model], *fields: str) -> list[str]:
    """The column names of ``model``'s ``fields``, quoted, for SQL written by hand."""
    quote = connection.ops.quote_name
    return [quote(model._meta.get_field(name).column) for name in fields]


def _columns(model: type[models.Model], fields: Sequence[str]) -> str:
    return ", ".join(quoted_columns(model, *fields))


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    tail: str = "",
) -> list[tuple]:
    """One ``INSERT`` of ``rows`` (values in ``fields`` order) plus ``tail`` (``ON CONFLICT
    …``, ``RETURNING …``); returns the fetched rows when ``tail`` has ``RETURNING``.

    Rows are inserted in the order given (callers sort them to take unique index entries
    in one order across concurrent batches). Runs in the caller's transaction; nothing is
    executed for no rows.
    """
    if not rows:
        return []
    table = quoted_table(model)
    columns = _columns(model, fields)
    if connection.vendor == "postgresql":
        # One array per column, unnested in the order given (WITH ORDINALITY … ORDER BY).
        types = [model._meta.get_field(name).db_type(connection) for name in fields]
        arrays = ", ".join(f"%s::{db_type}[]" for db_type in types)
        params: list[object] = [_array_literal(column) for column in zip(*rows, strict=True)]
        names = ", ".join(f"c{n}" for n in range(len(fields)))
        # S608: column types come from the model's fields, not from input.
        unnested = f"unnest({arrays}) WITH ORDINALITY AS u({names}, ord)"
        source = f"SELECT {names} FROM {unnested} ORDER BY ord"  # noqa: S608
    else:
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        source = "VALUES " + ", ".join([one] * len(rows))
        params = [value for row in rows for value in row]
    # Names come from the model, ``tail`` from the calling module; values are parameters.
    sql = f"INSERT INTO {table} ({columns}) {source} {tail}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if "RETURNING" in tail else []


def _text(value: object) -> str:
    """A value that is neither a string nor a boolean as PostgreSQL's input text (ISO
    dates and times, ``str`` of the rest)."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


_AS_GIVEN = frozenset({str, type(None)})
_INTS = frozenset({int})  # ``type(True)`` is ``bool``, never in here
_BOOLS = frozenset({bool})


def _texts(column: Sequence[object]) -> list[str | None]:
    """A column's values as input text, ``None`` kept. Column by column, with one
    conversion per distinct non-string value (a batch's rows share their times and ids of
    stage and candidate): per value calls were most of the Python time of a batch's
    writes. A column of strings (and ``None``) or of plain ints is taken whole."""
    kinds = set(map(type, column))
    if kinds <= _AS_GIVEN:
        return list(column)  # type: ignore[arg-type] -- str or None, as checked
    if kinds == _INTS:
        return list(map(str, column))
    if kinds == _BOOLS:
        return ["t" if value else "f" for value in column]
    if len(kinds) == 1:  # one other type (a batch's times, days): no True == 1 to mix up
        text_of = {value: _text(value) for value in set(column)}
        return [text_of[value] for value in column]
    converted: dict[object, str] = {}
    out: list[str | None] = []
    for value in column:
        if value is None or type(value) is str:
            out.append(value)  # type: ignore[arg-type] -- str or None, as the list says
        elif value is True or value is False:  # not in the dict: True == 1
            out.append("t" if value else "f")
        else:
            text = converted.get(value)
            if text is None:
                text = converted[value] = _text(value)
            out.append(text)
    return out


def _array_literal(column: Sequence[object]) -> str:
    """A column as one array literal (``{"a","b",NULL}``): every element quoted, with
    backslash and double quote escaped, ``None`` as ``NULL``."""
    texts = _texts(column)
    if None not in texts:
        joined = '","'.join(texts)  # type: ignore[arg-type] -- no None, checked above
        if "\\" not in joined and '"' not in "".join(texts):  # type: ignore[arg-type]
            return '{"' + joined + '"}'
    elements = (
        "NULL" if text is None else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        for text in texts
    )
    return "{" + ",".join(elements) + "}"


# Backslash first: the other escapes add backslashes of their own.
_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def _copy_escape(text: str) -> str:
    for special, escaped in _COPY_ESCAPES:
        text = text.replace(special, escaped)
    return text


def _copy_column(column: Sequence[object]) -> list[str]:
    """A column in COPY's text format: ``\\N`` for NULL; backslash, tab and line breaks
    escaped (a gateway's message id or an SMS text is any text) — looked for once in the
    whole column, escaped value by value only where one occurs."""
    texts = _texts(column)
    nulls = None in texts
    present = [text for text in texts if text is not None] if nulls else texts
    joined = "".join(present)  # type: ignore[arg-type] -- the None are left out
    if any(special in joined for special, _escaped in _COPY_ESCAPES):
        return ["\\N" if text is None else _copy_escape(text) for text in texts]
    if not nulls:
        return texts  # type: ignore[return-value] -- no None, checked above
    return ["\\N" if text is None else text for text in texts]


def copy_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence]) -> None:
    """``COPY`` ``rows`` (values in ``fields`` order) into ``model``'s table (PostgreSQL
    only), from one in-memory buffer; runs in the caller's transaction. A unique
    violation raises ``IntegrityError`` (COPY cannot skip conflicts)."""
    if not rows:
        return
    table = quoted_table(model)
    columns = [_copy_column(column) for column in zip(*rows, strict=True)]
    buffer = io.StringIO("".join("\t".join(row) + "\n" for row in zip(*columns, strict=True)))
    sql = f"COPY {table} ({_columns(model, fields)}) FROM STDIN"
    began = time.monotonic()
    with connection.cursor() as cursor, connection.wrap_database_errors:
        # psycopg2's copy_expert, under Django's cursor wrapper (which has no COPY): errors
        # are turned into Django's, and the statement is logged where Django logs queries
        # (tests count statements by that log).
        cursor.cursor.copy_expert(sql, buffer)
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{sql} -- {len(rows)} rows", "time": f"{time.monotonic() - began:.3f}"}
        )


# Fields whose values are text: their lookup array is ``text[]``, never ``varchar(n)[]``
# (a cast to ``varchar(n)`` cuts a longer value to ``n`` characters, and the cut value
# could match).
_TEXT_FIELDS = frozenset({"CharField", "TextField", "SlugField", "EmailField"})


class Among(models.Lookup):
    """``field__among=values``: the rows whose ``field`` is one of ``values``, as ``__in``
    does, for the batch paths' lists of a thousand values.

    ``__in`` prepares and compiles every value in Python (two calls each) and sends each as
    a parameter of its own, which the server parses as an expression: a thousand-message
    SMS batch asks six such lists, about 4,500 values (docs/benchmarks.md, "Vote paths,
    issue 12"). Here the values travel as one parameter: on PostgreSQL one array literal
    (``= ANY(%s::bigint[])``, which uses the same indexes as ``IN``), elsewhere one JSON
    list (``IN (SELECT value FROM json_each(%s))``). Values are taken as given: strings
    for text fields, ints for keys and numbers (no model instances, no per-value
    conversion); ``None`` matches nothing, as with ``__in``.
    """

    lookup_name = "among"
    prepare_rhs = False

    def get_db_prep_lookup(self, value: Collection[object], connection) -> tuple[str, list]:
        values = list(value)
        if connection.vendor == "postgresql":
            return "%s", [_array_literal(values)]
        return "%s", [json.dumps(values)]

    def as_sql(self, compiler, connection) -> tuple[str, list]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            field = self.lhs.output_field
            text = field.get_internal_type() in _TEXT_FIELDS
            db_type = "text" if text else field.cast_db_type(connection)
            return f"{lhs} = ANY({rhs}::{db_type}[])", [*lhs_params, *rhs_params]
        # The column's compiled SQL and a placeholder: values travel as parameters.
        sql = f"{lhs} IN (SELECT value FROM json_each({rhs}))"  # noqa: S608
        return sql, [*lhs_params, *rhs_params]
