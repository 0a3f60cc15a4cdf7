"""``manage.py import_staff``: exit status, output, --dry-run and --skip-bad."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import translation

from staff.choices import AuditAction, StaffImportStatus
from staff.models import AuditEvent, StaffImport, StaffMember
from tests.factories.staff import OrgUnitFactory, PositionFactory, StaffMemberFactory
from tests.staff.test_importing import CHINESE_HEADER, LI, ZHANG, csv_bytes

pytestmark = pytest.mark.django_db

BAD = ["1003", "", "X999", "clerk", "13700137000", "", ""]


@pytest.fixture(autouse=True)
def directory():
    with translation.override("en"):
        OrgUnitFactory(code="S001")
        PositionFactory(code="clerk", name="营业员")
        yield


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_staff", *map(str, args), stdout=out, stderr=err)
    return out.getvalue()


def test_command_imports_a_good_file(tmp_path):
    path = tmp_path / "员工.csv"
    path.write_bytes(csv_bytes([ZHANG, LI], header=CHINESE_HEADER, encoding="gb18030"))

    output = run(path)

    assert output == "Imported. Created 2, updated 0, unchanged 0, skipped 0.\n"
    assert set(StaffMember.objects.values_list("employee_no", flat=True)) == {"1001", "1002"}
    staff_import = StaffImport.objects.get()
    assert (staff_import.status, staff_import.file_name) == (StaffImportStatus.IMPORTED, "员工.csv")
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.actor_label) == (
        AuditAction.STAFF_IMPORTED,
        None,
        "system",
    )


def test_command_twice_reports_everything_unchanged(tmp_path):
    path = tmp_path / "staff.csv"
    path.write_bytes(csv_bytes([ZHANG, LI]))
    run(path)

    output = run(path)

    assert output == "Imported. Created 0, updated 0, unchanged 2, skipped 0.\n"


def test_command_fails_on_bad_rows_and_writes_nothing(tmp_path):
    path = tmp_path / "staff.csv"
    path.write_bytes(csv_bytes([ZHANG, BAD, LI]))
    out = io.StringIO()

    with pytest.raises(CommandError) as exc_info:
        call_command("import_staff", str(path), stdout=out, stderr=io.StringIO())

    assert exc_info.value.returncode == 1
    assert str(exc_info.value) == (
        "1 of 3 rows are bad; nothing was imported. Fix them or use --skip-bad."
    )
    assert out.getvalue() == (
        "Line 3 (employee 1003): Name is missing. Unknown unit code “X999”.\n"
    )
    assert StaffMember.objects.count() == 0
    assert StaffImport.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_command_skips_bad_rows_when_asked(tmp_path):
    path = tmp_path / "staff.csv"
    path.write_bytes(csv_bytes([ZHANG, BAD, LI]))

    output = run(path, "--skip-bad")

    assert output == (
        "Line 3 (employee 1003): Name is missing. Unknown unit code “X999”.\n"
        "Imported. Created 2, updated 0, unchanged 0, skipped 1.\n"
    )
    assert set(StaffMember.objects.values_list("employee_no", flat=True)) == {"1001", "1002"}


def test_command_dry_run_writes_nothing(tmp_path):
    StaffMemberFactory(employee_no="1001", name="旧名")
    path = tmp_path / "staff.csv"
    path.write_bytes(csv_bytes([ZHANG, LI]))

    output = run(path, "--dry-run")

    assert output == (
        "Dry run, nothing written. Would create 1, update 1, leave 0 unchanged, skip 0.\n"
    )
    assert list(StaffMember.objects.values_list("employee_no", "name")) == [("1001", "旧名")]
    assert StaffImport.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_command_dry_run_still_fails_on_bad_rows(tmp_path):
    path = tmp_path / "staff.csv"
    path.write_bytes(csv_bytes([ZHANG, BAD]))

    with pytest.raises(CommandError) as exc_info:
        run(path, "--dry-run")

    assert str(exc_info.value) == (
        "1 of 2 rows are bad; nothing was imported. Fix them or use --skip-bad."
    )


@override_settings(STAFF_IMPORT_MAX_ROWS=1)
def test_command_reports_a_file_level_error(tmp_path):
    path = tmp_path / "staff.csv"
    path.write_bytes(csv_bytes([ZHANG, LI]))

    with pytest.raises(CommandError) as exc_info:
        run(path)

    assert str(exc_info.value) == (
        "The file has more than 1 staff rows; split it into smaller files."
    )
    assert StaffImport.objects.count() == 0


def test_command_reports_a_missing_file(tmp_path):
    with pytest.raises(CommandError) as exc_info:
        run(tmp_path / "missing.csv")

    assert (
        str(exc_info.value) == f"Cannot read {tmp_path / 'missing.csv'}: No such file or directory"
    )
