"""Reads of service measurement: rankings, trends and distributions for the admin."""

import datetime as dt

from django.db import connection
from django.db.models import Count, F, QuerySet, Sum, Window
from django.db.models.functions import Rank

from evaluations.measurement.choices import UnitLevel
from evaluations.measurement.rollups import month_bounds
from evaluations.models import Rating, ServiceTransaction, StaffMonth, StoreMonthScore, UnitMonth


def staff_ranking(
    month: dt.date, *, position_id: int | None = None, branch_id: int | None = None
) -> QuerySet[StaffMonth]:
    """Staff with ratings in ``month``, best shrunk mean first, annotated with ``rank``
    (competition ranking within the filtered group: a position, a branch, or both)."""
    rows = StaffMonth.objects.filter(month=month.replace(day=1), rating_count__gt=0)
    if position_id is not None:
        rows = rows.filter(position_id=position_id)
    if branch_id is not None:
        rows = rows.filter(branch_id=branch_id)
    return (
        rows.select_related("staff_member", "unit", "branch", "position")
        .annotate(rank=Window(Rank(), order_by=F("shrunk_mean").desc()))
        .order_by("rank", "staff_member__employee_no")
    )


def unit_ranking(month: dt.date, *, level: str = UnitLevel.STORE) -> QuerySet[UnitMonth]:
    """Stores (or branches) with ratings in ``month``, best shrunk mean first, with ``rank``."""
    return (
        UnitMonth.objects.filter(month=month.replace(day=1), level=level, rating_count__gt=0)
        .select_related("unit")
        .annotate(rank=Window(Rank(), order_by=F("shrunk_mean").desc()))
        .order_by("rank", "unit__code")
    )


def staff_trend(staff_member_id: int) -> QuerySet[StaffMonth]:
    """A staff member's months, oldest first."""
    return StaffMonth.objects.filter(staff_member_id=staff_member_id).order_by("month")


def score_distribution(month: dt.date, *, staff_member_id: int | None = None) -> dict[int, int]:
    """How many ratings of each score 1-10 the month has (every score present, 0 if none)."""
    start, end = month_bounds(month.replace(day=1))
    rows = Rating.objects.filter(rated_at__gte=start, rated_at__lt=end)
    if staff_member_id is not None:
        rows = rows.filter(staff_member_id=staff_member_id)
    counts = dict(rows.values_list("score").annotate(n=Count("id")).order_by())
    return {score: counts.get(score, 0) for score in range(1, 11)}


def monthly_totals() -> list[tuple[dt.date, int, int]]:
    """``(month, ratings, sum of scores)`` of every computed month, oldest first."""
    return list(
        StaffMonth.objects.values_list("month")
        .annotate(n=Sum("rating_count"), total=Sum("rating_sum"))
        .order_by("month")
    )


def store_timeline(store_id: int) -> QuerySet[StoreMonthScore]:
    """A store's service archive, oldest month first."""
    return StoreMonthScore.objects.filter(store_id=store_id).order_by("month")


def served_phone_hashes(
    staff_member_id: int, phone_hashes: set[str], *, start: dt.datetime, end: dt.datetime
) -> set[str]:
    """Which of ``phone_hashes`` this staff member served in ``[start, end)``, by reported
    transactions. One indexed query; the answer to "was this voter a served customer?"."""
    if not phone_hashes:
        return set()
    return set(
        ServiceTransaction.objects.filter(
            staff_member_id=staff_member_id,
            phone_hash__in=phone_hashes,
            served_at__gte=start,
            served_at__lt=end,
        ).values_list("phone_hash", flat=True)
    )


def served_pairs(
    pairs: set[tuple[int, str]], *, start: dt.datetime, end: dt.datetime
) -> set[tuple[int, str]]:
    """The ``(staff_member_id, phone_hash)`` pairs of ``pairs`` with a reported transaction
    in ``[start, end)``: the set-based form for a batch of votes (one query)."""
    if not pairs:
        return set()
    staff_ids = {staff_id for staff_id, _hash in pairs}
    hashes = {phone_hash for _staff, phone_hash in pairs}
    found = (
        ServiceTransaction.objects.filter(
            staff_member_id__in=staff_ids,
            phone_hash__among=hashes,
            served_at__gte=start,
            served_at__lt=end,
        )
        .order_by()  # a set is wanted: no sort by the model's ordering (once per vote)
        .values_list("staff_member_id", "phone_hash")
    )
    return set(found) & pairs


def served_exists_sql(*, staff: str, phone: str, start: str, end: str) -> str:
    """``served_pairs`` for one pair as an SQL ``EXISTS`` over the caller's SQL expressions
    (``campaigns.served.served_sql``): the web vote asks it inside its one read. Uses the
    ``(phone_hash, served_at)`` index."""
    meta = ServiceTransaction._meta
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return "st." + quote(meta.get_field(name).column)

    # Names from _meta and SQL expressions of the caller's own statement: no user input.
    return (
        f"EXISTS (SELECT 1 FROM {quote(meta.db_table)} AS st"  # noqa: S608
        f" WHERE {column('phone_hash')} = {phone} AND {column('staff_member')} = {staff}"
        f" AND {column('served_at')} >= {start} AND {column('served_at')} < {end})"
    )


def served_customers(
    staff_ids: list[int], *, start: dt.datetime, end: dt.datetime, per_staff: int
) -> list[tuple[int, str, str]]:
    """Up to ``per_staff`` distinct customers each of ``staff_ids`` served in ``[start,
    end)``, latest first, as ``(staff_member_id, phone_hash, phone_masked)`` (one query on
    the ``(staff_member, served_at)`` index; the demo's served voters)."""
    rows = (
        ServiceTransaction.objects.filter(
            staff_member_id__in=staff_ids, served_at__gte=start, served_at__lt=end
        )
        .order_by("staff_member_id", "-served_at")
        .values_list("staff_member_id", "phone_hash", "phone_masked")
    )
    found: dict[int, dict[str, str]] = {}
    for staff_id, phone_hash, masked in rows.iterator(chunk_size=2000):
        customers = found.setdefault(staff_id, {})
        if len(customers) < per_staff:
            customers.setdefault(phone_hash, masked)
    return [
        (staff_id, phone_hash, masked)
        for staff_id, customers in found.items()
        for phone_hash, masked in customers.items()
    ]
