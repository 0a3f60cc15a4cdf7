"""Employee numbers with letters and vote codes: import, allocation, lookup, constraints."""

import csv
import io

import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from staff.exceptions import DomainError
from staff.importing.checking import check_staff_rows
from staff.importing.reading import read_staff_file
from staff.importing.services import confirm_staff_import, import_staff, preview_staff_import
from staff.models import StaffMember
from staff.selectors import staff_by_vote_code_or_employee_no
from staff.services import FIRST_ASSIGNED_VOTE_CODE, allocate_vote_codes
from tests.factories.staff import OrgUnitFactory, PositionFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db

HEADER = ["工号", "姓名", "单位编码", "岗位", "手机"]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def directory():
    OrgUnitFactory(code="S001")
    PositionFactory(code="clerk", name="营业员")


def csv_bytes(rows, header=HEADER):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def row(employee_no, n, *extra):
    return [employee_no, f"员工{n}", "S001", "clerk", f"1380013{8000 + n}", *extra]


def run_import(data):
    parsed = read_staff_file(data, filename="staff.csv")
    return import_staff(check_staff_rows(parsed), actor=None)


def codes():
    return dict(StaffMember.objects.values_list("employee_no", "vote_code"))


def errors_of(data):
    return [
        error["messages"]
        for error in check_staff_rows(read_staff_file(data, filename="x.csv")).errors
    ]


def test_a_file_with_letter_employee_numbers_imports_and_each_gets_a_vote_code():
    data = csv_bytes(
        [row("BJ010086", 1), row("bj010087", 2), row("ＳＸ－００４２", 3), row("1001", 4)]
    )

    staff_import = run_import(data)

    assert staff_import.result == {"created": 4, "updated": 0, "unchanged": 0, "skipped": 0}
    assert codes() == {
        "BJ010086": "800001",
        "BJ010087": "800002",
        "SX-0042": "800003",
        "1001": "1001",
    }


def test_importing_the_same_file_again_keeps_every_vote_code():
    data = csv_bytes([row("BJ010086", 1), row("1001", 2)])
    run_import(data)
    before = codes()

    again = run_import(data)

    assert again.result == {"created": 0, "updated": 0, "unchanged": 2, "skipped": 0}
    assert codes() == before


def test_assigned_vote_codes_continue_after_the_highest_and_skip_held_codes():
    StaffMemberFactory(employee_no="HZ1", vote_code="800005")
    StaffMemberFactory(employee_no="800007")

    with transaction.atomic():
        allocated = allocate_vote_codes(3, reserved={"800008"})

    assert FIRST_ASSIGNED_VOTE_CODE == 800_001
    assert allocated == ["800006", "800009", "800010"]


def test_a_digit_employee_number_that_is_someone_elses_vote_code_is_a_row_error():
    StaffMemberFactory(employee_no="BJ1", vote_code="800001")

    assert errors_of(csv_bytes([row("800001", 1)])) == [
        ["Vote code 800001 already belongs to staff member BJ1."]
    ]


def test_a_vote_code_column_sets_the_code_of_letter_numbers_and_must_repeat_digit_ones():
    header = [*HEADER, "投票编号"]
    data = csv_bytes(
        [row("BJ1", 1, "555"), row("1002", 2, "1002"), row("1003", 3, "")], header=header
    )

    run_import(data)

    assert codes() == {"BJ1": "555", "1002": "1002", "1003": "1003"}
    assert errors_of(csv_bytes([row("1004", 4, "77")], header=header)) == [
        ["The vote code of employee number 1004 is the number itself."]
    ]
    assert errors_of(csv_bytes([row("BJ2", 5, "7a")], header=header)) == [
        ["Vote code “7a” must be 1 to 16 digits."]
    ]
    assert errors_of(csv_bytes([row("BJ3", 6, "555")], header=header)) == [
        ["Vote code 555 already belongs to staff member BJ1."]
    ]
    assert errors_of(csv_bytes([row("BJ4", 7, "66"), row("BJ5", 8, "66")], header=header)) == [
        ["Vote code 66 already appears on line 2."]
    ]


def test_confirm_refuses_a_vote_code_taken_after_the_preview():
    staff_import = preview_staff_import(
        data=csv_bytes([row("900001", 1)]), filename="staff.csv", actor=None
    )
    StaffMemberFactory(employee_no="BJ9", vote_code="900001")

    with pytest.raises(DomainError) as excinfo:
        confirm_staff_import(staff_import, actor=None)

    assert excinfo.value.code == "stale_preview"
    assert not StaffMember.objects.filter(employee_no="900001").exists()


def test_lookup_by_vote_code_or_employee_number(django_assert_num_queries):
    letters = StaffMemberFactory(employee_no="BJ010086", vote_code="800001")
    digits = StaffMemberFactory(employee_no="1001")

    with django_assert_num_queries(1):
        assert staff_by_vote_code_or_employee_no("800001") == letters
    assert staff_by_vote_code_or_employee_no(" bj010086 ") == letters
    assert staff_by_vote_code_or_employee_no("１００１") == digits
    assert staff_by_vote_code_or_employee_no("1002") is None
    with django_assert_num_queries(0):
        assert staff_by_vote_code_or_employee_no("9" * 40) is None
        assert staff_by_vote_code_or_employee_no("BJ 01") is None
        assert staff_by_vote_code_or_employee_no("") is None


@pytest.mark.parametrize(
    ("employee_no", "vote_code"),
    [
        ("1001", "1002"),  # a digit employee number is its own vote code
        ("BJ1", "12a"),  # vote codes are digits
        ("bj1", "12"),  # employee numbers are stored upper case
        ("-BJ1", "13"),
    ],
)
def test_the_database_refuses_inconsistent_codes(employee_no, vote_code):
    member = StaffMemberFactory.build(
        employee_no=employee_no,
        vote_code=vote_code,
        unit=OrgUnitFactory(),
        position=PositionFactory(),
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        member.save()


def test_two_staff_cannot_share_a_vote_code():
    StaffMemberFactory(employee_no="BJ1", vote_code="700")

    with pytest.raises(IntegrityError), transaction.atomic():
        StaffMemberFactory(employee_no="BJ2", vote_code="700")
