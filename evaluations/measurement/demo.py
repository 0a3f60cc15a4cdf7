"""Demo service measurement: three months of transactions, ratings, KPIs and inspections.

``manage.py seed_demo`` sends ``campaigns.signals.demo_campaign_seeded``;
``evaluations.receivers`` answers by calling ``seed_demo_measurement``. Generated, not
ingested (the API path would take minutes), with one seeded ``random.Random``:

* **Served customers.** Every active staff member serves customers each month
  (``SERVED_PER_MONTH`` on average), from a pool of demo customer numbers (hashed and masked
  like real ones; numbers never stored). Each transaction has its invitation, sent 30
  minutes after the service (moved out of the quiet hours); about 60 % are answered.
* **Ratings.** Most are 9-10. Each store has a quality drawn once; about one store in ten
  is clearly worse (more 6-8s and some low ratings), and a few staff shine.
* **KPIs.** Call-centre agents get one ``KpiRecord`` a month, scored by the formula.
* **Inspections.** Each store gets one or two visits a month by the demo inspector
  (``inspector`` / ``inspector-demo``) against the demo checklist; worse stores miss more
  items and sometimes get a deduction.
* Then the three months are rolled up and graded in order, and stage 1 of the demo
  campaign gets a minimum of ``DEMO_MIN_RATINGS`` ratings, so its satisfaction component
  shows real-looking data.

Idempotent: a second run finds the ``demo`` system's transactions and adds nothing.
"""

import datetime as dt
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Stage
from evaluations.measurement.choices import (
    ChecklistItemKind,
    InspectionKind,
    InvitationStatus,
    TransactionChannel,
)
from evaluations.measurement.grades import compute_store_grades
from evaluations.measurement.inspections import inspection_score
from evaluations.measurement.invitations import outside_quiet_hours
from evaluations.measurement.kpi import kpi_score
from evaluations.measurement.rollups import compute_month_rollup, month_bounds
from evaluations.models import (
    ChecklistItem,
    EvaluationStageRule,
    Inspection,
    InspectionMark,
    KpiFormula,
    KpiRecord,
    Rating,
    RatingInvitation,
    ServiceTransaction,
)
from staff.choices import UnitKind
from staff.models import OrgUnit, StaffMember
from staff.phones import hash_phone, mask_phone

Progress = Callable[[str, int, int], None]

DEMO_SYSTEM = "demo"
SEED = 20260512
SERVED_PER_MONTH = 6
ANSWER_RATE = 0.6
CUSTOMERS = 60_000
DEMO_MIN_RATINGS = 5
STAFF_CHUNK = 500
INSPECTOR = ("inspector", "inspector-demo")
CHANNELS = {
    UnitKind.STORE: TransactionChannel.STORE,
    UnitKind.CALL_CENTRE_TEAM: TransactionChannel.CALL_CENTRE,
    UnitKind.ACCOUNT_MANAGER_TEAM: TransactionChannel.ACCOUNT_MANAGER,
}
CHECKLIST = (
    ("greeting", "主动问候、微笑服务", ChecklistItemKind.CHECK, 15),
    ("queue", "排队等候不超过 15 分钟", ChecklistItemKind.CHECK, 20),
    ("tidy", "营业厅整洁、标识清晰", ChecklistItemKind.CHECK, 15),
    ("explain", "资费解释清楚、无误导", ChecklistItemKind.CHECK, 30),
    ("farewell", "办理完毕后致谢道别", ChecklistItemKind.CHECK, 20),
    ("praise", "顾客当场表扬", ChecklistItemKind.BONUS, 5),
    ("phone", "服务中使用私人手机", ChecklistItemKind.DEDUCTION, 10),
    ("misleading", "违规承诺或误导销售", ChecklistItemKind.VETO, 0),
)
# Score distributions (scores 10..1) of a good and of a clearly worse store.
GOOD = (62, 24, 7, 3, 1.5, 1, 0.5, 0.4, 0.3, 0.3)
WORSE = (30, 22, 17, 12, 7, 5, 3, 2, 1, 1)


@dataclass(frozen=True)
class DemoMeasurementSummary:
    transactions: int
    ratings: int
    kpi_records: int
    inspections: int
    created: bool

    def __str__(self) -> str:
        if not self.created:
            return _(
                "Service measurement: demo data already there (%(transactions)s transactions)."
            ) % {"transactions": self.transactions}
        return _(
            "Service measurement: %(transactions)s transactions, %(ratings)s ratings, "
            "%(kpi)s KPI records, %(inspections)s inspections over three months; "
            "inspector login %(user)s / %(password)s."
        ) % {
            "transactions": self.transactions,
            "ratings": self.ratings,
            "kpi": self.kpi_records,
            "inspections": self.inspections,
            "user": INSPECTOR[0],
            "password": INSPECTOR[1],
        }


def demo_months(now: dt.datetime) -> list[dt.date]:
    """The current local month and the two before it, oldest first."""
    current = timezone.localdate(now).replace(day=1)
    previous = (current - dt.timedelta(days=1)).replace(day=1)
    return [(previous - dt.timedelta(days=1)).replace(day=1), previous, current]


def _customers(rng: random.Random) -> list[tuple[str, str]]:
    """``(phone_hash, masked)`` of the demo customers; the numbers themselves are dropped."""
    numbers = rng.sample(range(10**8), CUSTOMERS)
    return [(hash_phone(e164), mask_phone(e164)) for e164 in (f"+86136{n:08d}" for n in numbers)]


def _score(rng: random.Random, worse: bool, shine: bool) -> int:
    weights = WORSE if worse else GOOD
    if shine:
        weights = (80, 15, 3, 1, 0.5, 0.2, 0.1, 0.1, 0.05, 0.05)
    return 10 - rng.choices(range(10), weights=weights)[0]


def _service_time(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    """Opening hours (09:00-20:00 local) of a random day in ``[start, end)``."""
    day = rng.randrange(0, max((end - start).days, 1))
    return start + dt.timedelta(days=day, hours=rng.randrange(9, 20), minutes=rng.randrange(60))


def bulk_insert(model: type[models.Model], field_names: list[str], rows: list[tuple]) -> None:
    """Insert ``rows`` (Python values in ``field_names`` order) with one multi-row statement
    per page: ``execute_values`` on PostgreSQL, ``executemany`` on SQLite. About ten times
    faster than ``bulk_create`` for the hundreds of thousands of demo rows."""
    if not rows:
        return
    fields = [model._meta.get_field(name) for name in field_names]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    prepared = [
        tuple(
            field.get_db_prep_save(value, connection)
            for field, value in zip(fields, row, strict=True)
        )
        for row in rows
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from psycopg2.extras import execute_values  # noqa: PLC0415 -- PostgreSQL only

            sql = f"INSERT INTO {table} ({columns}) VALUES %s"  # noqa: S608 -- names from _meta
            execute_values(cursor.cursor, sql, prepared, page_size=5000)
        else:
            marks = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 -- as above
            cursor.executemany(sql, prepared)


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(top=Max("id"))["top"] or 0) + 1


def reset_sequences(*models_: type[models.Model]) -> None:
    """Move the id sequences past the explicit ids the demo wrote (PostgreSQL)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(models_))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


TX_FIELDS = [
    "id",
    "system",
    "external_id",
    "staff_member",
    "unit",
    "channel",
    "phone_hash",
    "phone_masked",
    "served_at",
    "received_at",
    "batch_id",
]
INVITATION_FIELDS = [
    "id",
    "service_transaction",
    "staff_member",
    "phone_hash",
    "phone_masked",
    "phone_e164",
    "status",
    "skip_reason",
    "created_at",
    "due_at",
    "sent_at",
]
RATING_FIELDS = ["invitation", "staff_member", "unit", "phone_hash", "score", "comment", "rated_at"]


def _seed_staff_month(
    rng: random.Random,
    staff: list[tuple[int, int, str]],
    *,
    month: dt.date,
    now: dt.datetime,
    customers: list[tuple[str, str]],
    worse_units: set[int],
    shining: set[int],
) -> tuple[int, int]:
    start, end = month_bounds(month)
    end = min(end, now - dt.timedelta(hours=2))
    if end <= start:
        return 0, 0
    tx_id, inv_id = _next_id(ServiceTransaction), _next_id(RatingInvitation)
    transactions, invitations, ratings = [], [], []
    batch = uuid.uuid4()
    for staff_id, unit_id, kind in staff:
        for _n in range(rng.randint(SERVED_PER_MONTH - 4, SERVED_PER_MONTH + 4)):
            served_at = _service_time(rng, start, end)
            if served_at >= end:
                continue
            phone_hash, masked = rng.choice(customers)
            transactions.append(
                (
                    tx_id,
                    DEMO_SYSTEM,
                    uuid.UUID(int=rng.getrandbits(128)).hex,
                    staff_id,
                    unit_id,
                    CHANNELS.get(kind, TransactionChannel.STORE),
                    phone_hash,
                    masked,
                    served_at,
                    served_at,
                    batch,
                )
            )
            sent_at = outside_quiet_hours(served_at + dt.timedelta(minutes=30))
            answered = rng.random() < ANSWER_RATE and sent_at < now
            status = InvitationStatus.ANSWERED if answered else InvitationStatus.SENT
            invitations.append(
                (
                    inv_id,
                    tx_id,
                    staff_id,
                    phone_hash,
                    masked,
                    "",
                    status,
                    "",
                    served_at,
                    sent_at,
                    sent_at,
                )
            )
            if answered:
                rated_at = min(sent_at + dt.timedelta(minutes=rng.randrange(1, 240)), now)
                score = _score(rng, unit_id in worse_units, staff_id in shining)
                ratings.append((inv_id, staff_id, unit_id, phone_hash, score, "", rated_at))
            tx_id, inv_id = tx_id + 1, inv_id + 1
    bulk_insert(ServiceTransaction, TX_FIELDS, transactions)
    bulk_insert(RatingInvitation, INVITATION_FIELDS, invitations)
    bulk_insert(Rating, RATING_FIELDS, ratings)
    return len(transactions), len(ratings)


def _inspector():
    user, created = get_user_model().objects.get_or_create(username=INSPECTOR[0])
    if created:
        user.set_password(INSPECTOR[1])
        user.save(update_fields=["password"])
        user.user_permissions.add(Permission.objects.get(codename="add_inspection"))
    return user


def _checklist() -> list[ChecklistItem]:
    for order, (code, label, kind, points) in enumerate(CHECKLIST):
        ChecklistItem.objects.get_or_create(
            code=code,
            defaults={"label": label, "kind": kind, "points": points, "sort_order": order},
        )
    return list(ChecklistItem.objects.filter(is_active=True))


def _seed_inspections(
    rng: random.Random, months: list[dt.date], *, now: dt.datetime, worse_units: set[int]
) -> int:
    items, inspector = _checklist(), _inspector()
    stores = list(OrgUnit.objects.filter(kind=UnitKind.STORE).values_list("id", flat=True))
    visits, ticks = [], []
    for month in months:
        start, end = month_bounds(month)
        end = min(end, now - dt.timedelta(hours=2))
        for store_id in stores:
            for _n in range(rng.choice((1, 1, 2))):
                visited_at = _service_time(rng, start, end)
                if visited_at >= end:
                    continue
                miss = 0.35 if store_id in worse_units else 0.07
                ticked = set()
                for item in items:
                    chance = {
                        ChecklistItemKind.CHECK: 1 - miss,
                        ChecklistItemKind.BONUS: 0.15,
                        ChecklistItemKind.DEDUCTION: miss / 2,
                        ChecklistItemKind.VETO: 0.002,
                    }[item.kind]
                    if rng.random() < chance:
                        ticked.add(item.pk)
                score, vetoed = inspection_score(items, ticked)
                visits.append(
                    Inspection(
                        series=uuid.UUID(int=rng.getrandbits(128)),
                        store_id=store_id,
                        kind=rng.choice(InspectionKind.values),
                        visited_at=visited_at,
                        inspector=inspector,
                        score=score,
                        is_vetoed=vetoed,
                        created_at=visited_at,
                    )
                )
                ticks.append(ticked)
    visits = Inspection.objects.bulk_create(visits, batch_size=2000)
    InspectionMark.objects.bulk_create(
        (
            InspectionMark(
                inspection_id=visit.pk,
                item_id=item.pk,
                is_ticked=item.pk in ticked,
                points=item.points if item.pk in ticked else Decimal(0),
            )
            for visit, ticked in zip(visits, ticks, strict=True)
            for item in items
        ),
        batch_size=5000,
    )
    return len(visits)


def _seed_kpis(rng: random.Random, months: list[dt.date]) -> int:
    agents = list(
        StaffMember.objects.active()
        .filter(unit__kind=UnitKind.CALL_CENTRE_TEAM)
        .values_list("id", "position_id")
    )
    formulas = {f.position_id: f for f in KpiFormula.objects.all()}
    records = []
    for month in months[:-1]:  # the current month's KPIs arrive after it ends
        for staff_id, position_id in agents:
            rates = {
                "satisfaction_rate": Decimal(rng.randint(8200, 9990)) / 100,
                "quality_score": Decimal(rng.randint(7000, 9900)) / 100,
                "first_call_resolution": Decimal(rng.randint(6000, 9500)) / 100,
            }
            calls = rng.randint(700, 1500)
            formula = formulas.get(position_id, KpiFormula())
            records.append(
                KpiRecord(
                    staff_member_id=staff_id,
                    month=month,
                    calls_handled=calls,
                    **rates,
                    score=kpi_score(formula, calls=calls, rates=rates),
                )
            )
    KpiRecord.objects.bulk_create(records, batch_size=2000, ignore_conflicts=True)
    return len(records)


@transaction.atomic
def seed_demo_measurement(
    *, stage: Stage | None = None, progress: Progress | None = None
) -> DemoMeasurementSummary:
    """Write three months of demo measurement data, roll it up and grade the stores.

    Bulk inserts only; one transaction. ``stage`` (the demo campaign's stage 1) gets an
    ``EvaluationStageRule`` with ``DEMO_MIN_RATINGS``. Does nothing if the demo system's
    transactions exist.
    """
    existing = ServiceTransaction.objects.filter(system=DEMO_SYSTEM).count()
    if existing:
        return DemoMeasurementSummary(existing, 0, 0, 0, created=False)
    rng = random.Random(SEED)  # noqa: S311 -- demo data, not secrets
    now = timezone.now()
    months = demo_months(now)
    customers = _customers(rng)
    staff = list(
        StaffMember.objects.active().values_list("id", "unit_id", "unit__kind").order_by("id")
    )
    units = sorted({unit_id for _s, unit_id, _k in staff})
    worse_units = {unit for unit in units if rng.random() < 0.1}
    shining = {staff_id for staff_id, _u, _k in staff if rng.random() < 0.02}
    total_tx = total_ratings = 0
    steps = len(months) * max(1, -(-len(staff) // STAFF_CHUNK))
    for month in months:
        for offset in range(0, len(staff), STAFF_CHUNK):
            tx, ratings = _seed_staff_month(
                rng,
                staff[offset : offset + STAFF_CHUNK],
                month=month,
                now=now,
                customers=customers,
                worse_units=worse_units,
                shining=shining,
            )
            total_tx, total_ratings = total_tx + tx, total_ratings + ratings
            if progress is not None:
                done = months.index(month) * -(-len(staff) // STAFF_CHUNK) + offset // STAFF_CHUNK
                progress("measurement", done + 1, steps)
    reset_sequences(ServiceTransaction, RatingInvitation, Rating)
    kpis = _seed_kpis(rng, months)
    inspections = _seed_inspections(rng, months, now=now, worse_units=worse_units)
    for month in months:
        compute_month_rollup(month)
        compute_store_grades(month)
    if stage is not None:
        EvaluationStageRule.objects.update_or_create(
            stage=stage, defaults={"min_ratings": DEMO_MIN_RATINGS}
        )
    return DemoMeasurementSummary(total_tx, total_ratings, kpis, inspections, created=True)
