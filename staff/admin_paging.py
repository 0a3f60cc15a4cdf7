"""Change lists of the big tables (the vote ledger, SMS logs, the audit log, ratings and
transactions): pages without counting the whole table.

Django's change list counts the rows it pages through with ``COUNT(*)``. On a table of a
million votes that is a scan of the whole table on every page view, whatever the page shows.
Unfiltered, PostgreSQL already knows the size well enough for a pager: the planner's
estimate in ``pg_class.reltuples``, kept current by autovacuum's ANALYZE. Filtered lists
are counted exactly (a filter narrows through an index, and the admin needs the real number
to say how many rows a bulk action would touch).

The stock filter of a plain text column (``AllValuesFieldListFilter``) has the same cost: a
``SELECT DISTINCT`` over every row on every page view. ``RecentValuesFilter`` offers the
values of the newest rows instead.
"""

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

# Below this estimate an exact count is cheap, and exact numbers are nicer to read.
EXACT_COUNT_BELOW = 100_000


def estimated_row_count(queryset: QuerySet) -> int | None:
    """The planner's row estimate of ``queryset``'s table, or ``None`` where there is none
    (not PostgreSQL, or a table never analysed: ``reltuples`` is -1 then)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)",
            [connection.ops.quote_name(queryset.model._meta.db_table)],
        )
        found = cursor.fetchone()
    if found is None or found[0] is None or found[0] < 0:
        return None
    return int(found[0])


def is_unfiltered(queryset: QuerySet) -> bool:
    """True when ``queryset`` is its whole table: no WHERE, no DISTINCT, no slice."""
    query = queryset.query
    return not query.where and not query.distinct and not query.is_sliced


class EstimatedCountPaginator(Paginator):
    """A paginator whose ``count`` of an unfiltered big table is the planner's estimate."""

    exact_count_below = EXACT_COUNT_BELOW
    # True once ``count`` is the estimate: the change list then says "about N".
    is_estimate = False

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, QuerySet) and is_unfiltered(self.object_list):
            estimate = estimated_row_count(self.object_list)
            if estimate is not None and estimate >= self.exact_count_below:
                self.is_estimate = True
                return estimate
        return super().count


class BigTableAdminMixin:
    """For the change lists of big tables: no whole-table count, neither for the pager
    (``EstimatedCountPaginator``) nor for the "N total" beside a filtered result.

    The admin using it also needs a default ``ordering`` an index serves, and no
    ``date_hierarchy`` (its year and month links are a ``SELECT DISTINCT`` over every row);
    a date filter in ``list_filter`` asks the database nothing.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False


class RecentValuesFilter(admin.AllValuesFieldListFilter):
    """The values of a plain column found in the newest ``RECENT_ROWS`` rows (read through
    the primary key's index), plus the value chosen in the URL.

    A value seen only in older rows is not offered as a link, but it still filters when it
    is in the URL (and the search box finds it).
    """

    RECENT_ROWS = 10_000

    def __init__(self, field, request, params, model, model_admin, field_path) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        newest = model_admin.get_queryset(request).order_by("-pk")[: self.RECENT_ROWS]
        values = set(newest.values_list(field_path, flat=True)) - {None}
        shown = {str(value) for value in values}
        values.update(value for value in self.lookup_val or () if value not in shown)
        self.lookup_choices = sorted(values, key=str)
