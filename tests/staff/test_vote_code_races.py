"""Concurrent imports of staff with letter employee numbers never share a vote code.

On real PostgreSQL connections in threads. Seen to fail (an ``IntegrityError`` on the
unique vote code in all but one import) with ``lock_vote_codes`` made a no-op.
"""

import threading

import pytest
from django.db import connection

from staff.importing.checking import check_staff_rows
from staff.importing.reading import read_staff_file
from staff.importing.services import import_staff
from staff.models import StaffMember
from tests.factories.staff import OrgUnitFactory, PositionFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL locks"),
]

THREADS = 4
ROWS = 5


def test_concurrent_imports_allocate_distinct_vote_codes():
    OrgUnitFactory(code="S001")
    PositionFactory(code="clerk", name="营业员")
    files = [
        "工号,姓名,单位编码,岗位,手机\r\n"
        + "".join(f"T{t}-{n},员工,S001,clerk,1380013{8000 + t * 100 + n}\r\n" for n in range(ROWS))
        for t in range(THREADS)
    ]
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    guard = threading.Lock()  # guards the Python list only

    def worker(text: str) -> None:
        try:
            checked = check_staff_rows(read_staff_file(text.encode(), filename="x.csv"))
            barrier.wait()
            import_staff(checked, actor=None)
            outcome = "ok"
        except Exception as exc:  # noqa: BLE001 -- any failure is the outcome under test
            outcome = type(exc).__name__
        finally:
            connection.close()
        with guard:
            outcomes.append(outcome)

    threads = [threading.Thread(target=worker, args=(text,)) for text in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    codes = sorted(StaffMember.objects.values_list("vote_code", flat=True))
    assert outcomes == ["ok"] * THREADS
    assert codes == [str(800_001 + i) for i in range(THREADS * ROWS)]
