"""Benchmark: staff import of 7,000 rows.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/service_star_bench \\
      .venv/bin/python bench/import_staff.py

Creates the database if it is missing and migrates it, builds a 7,000-row CSV over units
and positions it creates, then times, in one run on one machine:

* the ceiling: a bare ``StaffMember.objects.bulk_create`` of 7,000 prepared rows;
* the first import: ``preview_staff_import`` (read, check, store) + ``confirm_staff_import``;
* a re-import of the same file (everything unchanged, nothing written).

Prints one markdown table and deletes every row it made.
"""

import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402 -- after the path set-up

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

ROWS = 7_000
STORES = 200
UNIT_PREFIX = "BN"
EMPLOYEE_BASE = 90_000_000
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
BENCH_FILE = "bench-staff.csv"
MOBILE_PREFIXES = ("134", "135", "136", "137", "138", "139", "150", "151", "158", "186", "188")


def ensure_database() -> None:
    """Create the PostgreSQL database named by DATABASE_URL when it does not exist."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        common.ensure_database(url)


def build_csv(units: list[str], positions: list[str]) -> bytes:
    rng = random.Random(7000)
    lines = ["工号,姓名,单位编码,岗位,手机,入职日期,简介"]
    for n in range(ROWS):
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
        phone = f"{MOBILE_PREFIXES[n % len(MOBILE_PREFIXES)]}{n:08d}"
        hired = f"{rng.randint(2000, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        story = f"{name}在营业厅服务{rng.randint(1, 20)}年、耐心细致、深受客户好评。"
        lines.append(
            f"{EMPLOYEE_BASE + n},{name},{units[n % len(units)]},{positions[n % len(positions)]},"
            f"{phone},{hired},{story}"
        )
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from staff import services
    from staff.choices import UnitKind
    from staff.importing.services import confirm_staff_import, preview_staff_import
    from staff.models import AuditEvent, OrgUnit, Position, StaffImport, StaffMember
    from staff.phones import parse_phone

    call_command("migrate", verbosity=0)

    def raw_delete(model: type, where: str, params: list) -> None:
        # Plain SQL: the ORM's cascade collector would visit every app's relations, and
        # the bench owns only the rows it names here.
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE {where}", params)  # noqa: S608 -- table from _meta, values bound

    def cleanup() -> None:
        imports = [
            str(pk)
            for pk in StaffImport.objects.filter(file_name=BENCH_FILE).values_list("pk", flat=True)
        ]
        AuditEvent.objects.filter(target_type__model="staffimport", target_id__in=imports).delete()
        StaffImport.objects.filter(file_name=BENCH_FILE).delete()
        raw_delete(StaffMember, "employee_no LIKE %s", [f"{EMPLOYEE_BASE // 10_000}%"])
        for depth in (2, 1, 0):
            raw_delete(OrgUnit, "code LIKE %s AND depth = %s", [f"{UNIT_PREFIX}-%", depth])
        raw_delete(Position, "code LIKE %s", ["bench-%"])

    cleanup()
    company = services.create_unit(
        code=f"{UNIT_PREFIX}-HQ", name="基准公司", kind=UnitKind.COMPANY, parent=None
    )
    branches = [
        services.create_unit(
            code=f"{UNIT_PREFIX}-B{b:02d}", name=f"分公司{b}", kind=UnitKind.BRANCH, parent=company
        )
        for b in range(10)
    ]
    stores = [
        services.create_unit(
            code=f"{UNIT_PREFIX}-S{s:03d}",
            name=f"营业厅{s}",
            kind=UnitKind.STORE,
            parent=branches[s % len(branches)],
        )
        for s in range(STORES)
    ]
    positions = [
        Position.objects.create(code=f"bench-{code}", name=name)
        for code, name in [
            ("clerk", "基准营业员"),
            ("agent", "基准客服代表"),
            ("manager", "基准客户经理"),
            ("lead", "基准值班经理"),
        ]
    ]
    data = build_csv([s.code for s in stores], [p.name for p in positions])

    results: list[tuple[str, float]] = []
    try:
        # Ceiling: the bare insert of rows that are already parsed, checked and hashed.
        prepared = [
            StaffMember(
                employee_no=str(EMPLOYEE_BASE + n),
                vote_code=str(EMPLOYEE_BASE + n),
                name="基准",
                unit=stores[n % STORES],
                position=positions[n % len(positions)],
                phone_hash=(phone := parse_phone(f"138{n:08d}")).hash,
                phone_masked=phone.masked,
            )
            for n in range(ROWS)
        ]
        started = time.perf_counter()
        StaffMember.objects.bulk_create(prepared, batch_size=1000)
        results.append(
            ("ceiling: bare bulk_create of prepared rows", time.perf_counter() - started)
        )
        raw_delete(StaffMember, "employee_no LIKE %s", [f"{EMPLOYEE_BASE // 10_000}%"])

        for label in ("first import", "re-import of the same file"):
            started = time.perf_counter()
            staff_import = preview_staff_import(data=data, filename=BENCH_FILE, actor=None)
            previewed = time.perf_counter()
            done = confirm_staff_import(staff_import, actor=None)
            finished = time.perf_counter()
            if staff_import.error_count:
                raise SystemExit(f"bench file has bad rows: {staff_import.errors[:3]}")
            results.append((f"{label}: preview (read, check, store)", previewed - started))
            results.append((f"{label}: confirm (write, audit)", finished - previewed))
            outcome = ", ".join(f"{count} {key}" for key, count in done.result.items() if count)
            results.append((f"{label}: total ({outcome})", finished - started))
    finally:
        cleanup()

    ceiling_rate = ROWS / results[0][1]
    print(f"Staff import, {ROWS:,} rows, {connection.vendor} ({connection.settings_dict['NAME']})")
    print()
    print("| case | rows | seconds | rows/s | ratio to ceiling |")
    print("|---|---:|---:|---:|---:|")
    for label, seconds in results:
        rate = ROWS / seconds
        print(f"| {label} | {ROWS:,} | {seconds:.2f} | {rate:,.0f} | {rate / ceiling_rate:.2f} |")


if __name__ == "__main__":
    main()
