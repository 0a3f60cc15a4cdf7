"""Plain multi-row ``INSERT`` statements for the hot batch paths (SMS ingest, outbox).

``bulk_create`` compiles every value through the field machinery; at 1,000 rows per batch
that cost more than the database's own work (docs/benchmarks.md, "SMS batch ingest"). The
column names come from the model's ``_meta``, so a renamed column cannot drift; every value
is a query parameter, already adapted by the caller for the database (times through
``connection.ops.adapt_datetimefield_value``, JSON as text).
"""

from collections.abc import Sequence

from django.db import connection, models


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    tail: str = "",
) -> list[tuple]:
    """One ``INSERT`` of ``rows`` (values in ``fields`` order) plus ``tail`` (``ON CONFLICT
    …``, ``RETURNING …``); returns the fetched rows when ``tail`` has ``RETURNING``.

    Runs in the caller's transaction; nothing is executed for no rows.
    """
    if not rows:
        return []
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # S608: names come from the model, ``tail`` from the calling module; values are parameters.
    sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(rows))} {tail}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])
        return cursor.fetchall() if "RETURNING" in tail else []
