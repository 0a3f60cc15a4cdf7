"""Staff import: reading files, checking rows, preview, confirm, discard."""

import csv
import datetime as dt
import io
import json
import zipfile

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from staff.choices import AuditAction, StaffImportStatus, UnitKind
from staff.exceptions import DomainError, ImportAlreadyHandledError, StaffImportError
from staff.importing.checking import check_staff_rows
from staff.importing.reading import read_staff_file
from staff.importing.services import (
    confirm_staff_import,
    discard_staff_import,
    import_staff,
    plan_staff_import,
    preview_staff_import,
    purge_stale_imports,
)
from staff.models import AuditEvent, StaffImport, StaffMember
from staff.phones import parse_phone
from tests.factories.staff import OrgUnitFactory, PositionFactory, StaffMemberFactory, UserFactory
from tests.race import race

pytestmark = pytest.mark.django_db

HEADER = ["employee_no", "name", "unit_code", "position", "phone", "hire_date", "story"]
CHINESE_HEADER = ["工号", "姓名", "单位编码", "岗位", "手机", "入职日期", "简介"]
ZHANG = ["1001", "张晓明", "S001", "clerk", "13800138000", "2020-03-01", "热心服务"]
LI = ["1002", "李静", "S001", "营业员", "139 0013 9000", "2021/07/15", ""]


def csv_bytes(rows, header=HEADER, *, encoding="utf-8", delimiter=","):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def replace_in_zip(data, member, old, new):
    """Rewrite one member of a zip: to forge what Excel (not openpyxl) would have written."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == member:
                assert old in content
                content = content.replace(old, new)
            target.writestr(info.filename, content)
    return buffer.getvalue()


def expected_row(line, employee_no, name, phone, *, unit, position, vote_code=None, **optional):
    """A checked row; the vote code defaults to the employee number when that is digits."""
    parsed = parse_phone(phone)
    return {
        "line": line,
        "employee_no": employee_no,
        "vote_code": vote_code
        if vote_code is not None
        else (employee_no if employee_no.isdigit() else ""),
        "name": name,
        "unit_id": unit.pk,
        "unit_code": unit.code,
        "position_id": position.pk,
        "position": position.name,
        "phone_hash": parsed.hash,
        "phone_masked": parsed.masked,
        **optional,
    }


def check(data, filename="staff.csv"):
    return check_staff_rows(read_staff_file(data, filename=filename))


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def store():
    return OrgUnitFactory(code="S001", name="人民路营业厅")


@pytest.fixture
def clerk():
    return PositionFactory(code="clerk", name="营业员")


@pytest.fixture
def hr():
    return UserFactory(username="hr", hr_admin=True)


# ------------------------------------------------------------------------------
# Headers, encodings, formats
# ------------------------------------------------------------------------------


def test_preview_stores_checked_rows_when_headers_are_english(store, clerk, hr):
    staff_import = preview_staff_import(data=csv_bytes([ZHANG, LI]), filename="staff.csv", actor=hr)

    staff_import.refresh_from_db()
    assert staff_import.status == StaffImportStatus.PREVIEWED
    assert (staff_import.file_name, staff_import.created_by) == ("staff.csv", hr)
    assert (staff_import.row_count, staff_import.error_count) == (2, 0)
    assert staff_import.errors == []
    assert staff_import.rows == [
        expected_row(
            2,
            "1001",
            "张晓明",
            "13800138000",
            unit=store,
            position=clerk,
            hire_date="2020-03-01",
            story="热心服务",
        ),
        expected_row(
            3,
            "1002",
            "李静",
            "13900139000",
            unit=store,
            position=clerk,
            hire_date="2021-07-15",
            story="",
        ),
    ]
    assert StaffMember.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_read_maps_chinese_headers(store, clerk):
    checked = check(csv_bytes([ZHANG], header=CHINESE_HEADER))

    assert checked.columns == tuple(HEADER)
    assert checked.errors == ()
    assert checked.rows == (
        expected_row(
            2,
            "1001",
            "张晓明",
            "13800138000",
            unit=store,
            position=clerk,
            hire_date="2020-03-01",
            story="热心服务",
        ),
    )


def test_read_maps_mixed_reordered_headers_and_ignores_extra_columns(store, clerk):
    header = [
        " Phone ",
        "姓名",
        "ＥＭＰＬＯＹＥＥ＿ＮＯ",
        "备注",
        "单位编码",
        "POSITION",
        "Video URL",
    ]
    row = ["13800138000", "张晓明", "1001", "anything", "S001", "CLERK", "https://v.example.com/1"]

    checked = check(csv_bytes([row], header=header))

    assert checked.columns == ("employee_no", "name", "unit_code", "position", "phone", "video_url")
    assert checked.rows == (
        expected_row(
            2,
            "1001",
            "张晓明",
            "13800138000",
            unit=store,
            position=clerk,
            video_url="https://v.example.com/1",
        ),
    )


def test_read_refuses_missing_required_columns_naming_them_in_both_languages():
    data = csv_bytes([["1001", "张晓明", "clerk"]], header=["工号", "name", "岗位"])

    with pytest.raises(StaffImportError) as exc_info:
        read_staff_file(data, filename="staff.csv")

    assert exc_info.value.code == "missing_columns"
    assert str(exc_info.value.message) == (
        "The file is missing these required columns: unit_code / 单位编码, phone / 手机."
    )


def test_read_refuses_a_column_given_twice():
    with pytest.raises(StaffImportError) as exc_info:
        read_staff_file(csv_bytes([], header=[*HEADER, "姓名"]), filename="staff.csv")

    assert exc_info.value.code == "duplicate_columns"
    assert str(exc_info.value.message) == "The column “name / 姓名” appears more than once."


def test_read_refuses_a_file_with_only_a_header():
    with pytest.raises(StaffImportError) as exc_info:
        read_staff_file(csv_bytes([["", "", "", "", "", "", ""]]), filename="staff.csv")

    assert exc_info.value.code == "no_rows"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_read_decodes_utf8_with_and_without_bom_and_gb18030(encoding, store, clerk):
    data = csv_bytes([ZHANG], header=CHINESE_HEADER, encoding=encoding)

    parsed = read_staff_file(data, filename="staff.csv")

    assert parsed.columns == tuple(HEADER)
    assert [row.cells["name"] for row in parsed.rows] == ["张晓明"]
    assert [row.cells["employee_no"] for row in parsed.rows] == ["1001"]


def test_read_refuses_undecodable_bytes_with_one_clear_error():
    data = b"employee_no,name\n1001," + b"\xff\xfe\x80\xff" + b"\n"

    with pytest.raises(StaffImportError) as exc_info:
        read_staff_file(data, filename="staff.csv")

    assert exc_info.value.code == "bad_encoding"
    assert str(exc_info.value.message) == (
        "Unsupported text encoding. Save the file as CSV (UTF-8) or as .xlsx and try again."
    )


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_read_accepts_comma_semicolon_and_tab(delimiter, store, clerk):
    data = csv_bytes([ZHANG, LI], delimiter=delimiter)

    checked = check(data)

    assert [row["employee_no"] for row in checked.rows] == ["1001", "1002"]
    assert checked.errors == ()


def test_read_xlsx_accepts_integer_phone_and_date_cells(store, clerk):
    data = xlsx_bytes(
        [
            [1001, "张晓明", "S001", "clerk", 13800138000, dt.date(2020, 3, 1), "热心服务"],
            ["1002", "李静", "S001", "营业员", "13900139000", "2021.07.15", None],
        ]
    )

    checked = check(data, filename="员工.xlsx")

    assert checked.errors == ()
    assert checked.rows == (
        expected_row(
            2,
            "1001",
            "张晓明",
            "13800138000",
            unit=store,
            position=clerk,
            hire_date="2020-03-01",
            story="热心服务",
        ),
        expected_row(
            3,
            "1002",
            "李静",
            "13900139000",
            unit=store,
            position=clerk,
            hire_date="2021-07-15",
            story="",
        ),
    )


def test_read_xlsx_refuses_a_float_phone_cell_that_lost_digits(store, clerk):
    data = xlsx_bytes([["1001", "张晓明", "S001", "clerk", 13800138000, None, None]])
    # What Excel stores after a CSV round trip displayed the number as 1.38001E+10.
    data = replace_in_zip(
        data, "xl/worksheets/sheet1.xml", b"<v>13800138000</v>", b"<v>1.38001E+10</v>"
    )

    checked = check(data, filename="staff.xlsx")

    assert checked.rows == ()
    assert checked.errors == (
        {
            "line": 2,
            "employee_no": "1001",
            "messages": [
                "Phone number is stored as a decimal or scientific number in the "
                "spreadsheet; format the column as text."
            ],
        },
    )


def test_read_xlsx_counts_lines_across_empty_rows(store, clerk):
    data = xlsx_bytes([ZHANG, [], [None, "  ", None], ["1003", "", "S001", "clerk", "13700137000"]])

    checked = check(data, filename="staff.xlsx")

    assert [row["line"] for row in checked.rows] == [2]
    assert checked.errors == ({"line": 5, "employee_no": "1003", "messages": ["Name is missing."]},)


def test_read_refuses_an_xlsx_that_is_not_a_zip():
    with pytest.raises(StaffImportError) as exc_info:
        read_staff_file(b"employee_no,name\n1001,x\n", filename="staff.xlsx")

    assert exc_info.value.code == "bad_file"
    assert str(exc_info.value.message) == (
        "This is not a readable .xlsx workbook. Save it as .xlsx or as CSV (UTF-8)."
    )


def test_read_refuses_a_truncated_zip():
    data = xlsx_bytes([ZHANG])[:300]

    with pytest.raises(StaffImportError) as exc_info:
        read_staff_file(data, filename="staff.xlsx")

    assert exc_info.value.code == "bad_file"


def test_read_refuses_xlsm_by_name():
    with pytest.raises(StaffImportError) as exc_info:
        read_staff_file(xlsx_bytes([ZHANG]), filename="staff.XLSM")

    assert exc_info.value.code == "macros"
    assert str(exc_info.value.message) == (
        "Workbooks with macros (.xlsm) are not accepted. Save the file as .xlsx or CSV."
    )


def test_read_refuses_a_workbook_containing_vba_whatever_its_name():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "a") as archive:
        source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([ZHANG])))
        for info in source.infolist():
            archive.writestr(info.filename, source.read(info.filename))
        archive.writestr("xl/vbaProject.bin", b"\x00" * 64)

    with pytest.raises(StaffImportError) as exc_info:
        read_staff_file(buffer.getvalue(), filename="staff.xlsx")

    assert exc_info.value.code == "macros"


def _zip_with_zeros(megabytes):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(megabytes):
                member.write(chunk)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "megabytes",
    [
        pytest.param(200, id="unpacks-beyond-100-MB"),
        pytest.param(20, id="absurd-compression-ratio"),
    ],
)
def test_read_refuses_a_zip_bomb_before_opening_it(megabytes):
    data = _zip_with_zeros(megabytes)
    assert len(data) < 300 * 1024  # a small upload that claims a lot

    with pytest.raises(StaffImportError) as exc_info:
        read_staff_file(data, filename="staff.xlsx")

    assert exc_info.value.code == "unpacked_too_large"
    assert str(exc_info.value.message) == (
        "The workbook unpacks to far more data than a staff list holds (limit 100 MB); "
        "it was not opened."
    )


@override_settings(STAFF_IMPORT_MAX_BYTES=1024 * 1024)
def test_read_refuses_a_file_over_the_size_limit():
    data = csv_bytes([ZHANG]) + b" " * (1024 * 1024)

    with pytest.raises(StaffImportError) as exc_info:
        read_staff_file(data, filename="staff.csv")

    assert exc_info.value.code == "file_too_large"
    assert str(exc_info.value.message) == (
        "The file is larger than 1 MB; split it into smaller files."
    )


@override_settings(STAFF_IMPORT_MAX_ROWS=2)
def test_read_refuses_more_rows_than_the_limit_but_not_empty_ones():
    rows = [ZHANG, LI, ["", "", "", "", "", "", ""]]
    assert len(read_staff_file(csv_bytes(rows), filename="staff.csv").rows) == 2

    with pytest.raises(StaffImportError) as exc_info:
        read_staff_file(csv_bytes([*rows, ["1003"]]), filename="staff.csv")

    assert exc_info.value.code == "too_many_rows"
    assert str(exc_info.value.message) == (
        "The file has more than 2 staff rows; split it into smaller files."
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.binary(max_size=400).map(lambda tail: b"PK\x03\x04" + tail),
        st.text(max_size=200).map(
            lambda text: ("employee_no,name,unit_code,position,phone\n" + text).encode()
        ),
    ),
    filename=st.sampled_from(["staff.csv", "staff.xlsx", "staff.txt"]),
)
def test_read_only_ever_raises_staff_import_error(data, filename):
    try:
        outcome = "parsed" if read_staff_file(data, filename=filename).rows else "empty"
    except StaffImportError as exc:
        outcome = exc.code

    assert outcome in {
        "parsed",
        "bad_encoding",
        "bad_file",
        "missing_columns",
        "duplicate_columns",
        "no_rows",
        "macros",
    }


# ------------------------------------------------------------------------------
# Rows
# ------------------------------------------------------------------------------

FUTURE = (timezone.localdate() + dt.timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("changes", "messages"),
    [
        ({2: "X999"}, ["Unknown unit code “X999”."]),
        ({2: ""}, ["Unit code is missing."]),
        ({3: "manager"}, ["Unknown position “manager”."]),
        ({3: ""}, ["Position is missing."]),
        ({4: "1380013800"}, ["This is not a valid mainland China mobile number."]),
        ({4: "138-0013-800a"}, ["Phone number may only contain digits, spaces, + and -."]),
        (
            {4: "1.38001E+10"},
            ["Phone number looks like a spreadsheet number (e.g. 1.38E+10); format it as text."],
        ),
        ({4: ""}, ["Phone number is empty."]),
        ({1: ""}, ["Name is missing."]),
        ({1: "名" * 65}, ["Name is longer than 64 characters."]),
        ({0: ""}, ["Employee number is missing."]),
        (
            {0: "A#1001"},
            [
                "Employee number “A#1001” must be 1 to 16 letters, digits or hyphens, starting with a letter or digit."
            ],
        ),
        (
            {0: "-1001"},
            [
                "Employee number “-1001” must be 1 to 16 letters, digits or hyphens, starting with a letter or digit."
            ],
        ),
        (
            {0: "12345678901234567"},
            [
                "Employee number “12345678901234567” must be 1 to 16 letters, digits or hyphens, starting with a letter or digit."
            ],
        ),
        ({5: "2020-13-01"}, ["Hire date “2020-13-01” is not a date; use YYYY-MM-DD."]),
        ({5: "01/03/2020"}, ["Hire date “01/03/2020” is not a date; use YYYY-MM-DD."]),
        ({5: FUTURE}, [f"Hire date {FUTURE} is in the future."]),
        ({5: "1949-12-31"}, ["Hire date 1949-12-31 is before 1950."]),
        ({6: "好" * 2001}, ["Story is longer than 2000 characters."]),
    ],
)
def test_check_reports_each_kind_of_bad_row(changes, messages, store, clerk):
    row = list(ZHANG)
    for index, value in changes.items():
        row[index] = value
    employee_no = row[0]

    checked = check(csv_bytes([LI, row]))

    assert [valid["employee_no"] for valid in checked.rows] == ["1002"]
    assert checked.errors == ({"line": 3, "employee_no": employee_no, "messages": messages},)


def test_check_refuses_a_unit_that_is_not_frontline(store, clerk):
    branch = store.parent
    row = [*ZHANG[:2], branch.code, *ZHANG[3:]]

    checked = check(csv_bytes([row]))

    assert branch.kind == UnitKind.BRANCH
    assert checked.errors == (
        {
            "line": 2,
            "employee_no": "1001",
            "messages": [
                f"Unit “{branch.code}” is a Branch; staff must belong to a store, "
                "a call-centre team or an account-manager team."
            ],
        },
    )


def test_check_refuses_an_inactive_position(store):
    PositionFactory(code="clerk", name="营业员", is_active=False)

    checked = check(csv_bytes([ZHANG]))

    assert checked.errors == (
        {"line": 2, "employee_no": "1001", "messages": ["Position “营业员” is no longer in use."]},
    )


@pytest.mark.parametrize(
    ("video_url", "error"),
    [
        ("https://v.example.com/a", None),
        ("http://v.example.com/a", None),
        ("", None),
        ("ftp://v.example.com/a", True),
        ("javascript:alert(1)", True),
        ("https://v.example.com/" + "a" * 200, True),
    ],
)
def test_check_accepts_only_http_video_links(video_url, error, store, clerk):
    data = csv_bytes([[*ZHANG, video_url]], header=[*HEADER, "视频链接"])

    checked = check(data)

    if error:
        assert checked.errors == (
            {
                "line": 2,
                "employee_no": "1001",
                "messages": [
                    "Video link must be an http:// or https:// address of at most 200 characters."
                ],
            },
        )
    else:
        assert [row["video_url"] for row in checked.rows] == [video_url]


def test_check_reports_duplicate_employee_numbers_on_the_later_rows(store, clerk):
    again = ["1001", "张三", "S001", "clerk", "13700137000", "", ""]

    checked = check(csv_bytes([ZHANG, LI, again, again]))

    assert [row["line"] for row in checked.rows] == [2, 3]
    assert checked.errors == (
        {
            "line": 4,
            "employee_no": "1001",
            "messages": ["Employee number 1001 already appears on line 2."],
        },
        {
            "line": 5,
            "employee_no": "1001",
            "messages": ["Employee number 1001 already appears on line 2."],
        },
    )


def test_check_collects_every_problem_of_a_row(store, clerk):
    row = ["１００Ａ！", "", "X999", "manager", "1.38001E+10", FUTURE, ""]

    checked = check(csv_bytes([row]))

    assert checked.errors == (
        {
            "line": 2,
            "employee_no": "100A!",
            "messages": [
                "Employee number “100A!” must be 1 to 16 letters, digits or hyphens, starting with a letter or digit.",
                "Name is missing.",
                "Unknown unit code “X999”.",
                "Unknown position “manager”.",
                "Phone number looks like a spreadsheet number (e.g. 1.38E+10); format it as text.",
                f"Hire date {FUTURE} is in the future.",
            ],
        },
    )


def test_check_normalises_full_width_digits_and_trims(store, clerk):
    row = [
        "  １００１ ",
        " 张晓明\t",
        " S001 ",
        " Clerk ",
        "１３８ ００１３ ８０００",
        "20200301",
        " 热心 ",
    ]

    checked = check(csv_bytes([row]))

    assert checked.errors == ()
    assert checked.rows == (
        expected_row(
            2,
            "1001",
            "张晓明",
            "13800138000",
            unit=store,
            position=clerk,
            hire_date="2020-03-01",
            story="热心",
        ),
    )


def test_check_stores_formula_looking_cells_as_plain_text(store, clerk):
    row = [
        "1001",
        '=HYPERLINK("http://x","y")',
        "S001",
        "clerk",
        "13800138000",
        "",
        "+1 @SUM(A1) -2",
    ]

    checked = check(csv_bytes([row, ["1002", "@name", "S001", "clerk", "13900139000", "", "-5"]]))

    assert [(row["name"], row["story"]) for row in checked.rows] == [
        ('=HYPERLINK("http://x","y")', "+1 @SUM(A1) -2"),
        ("@name", "-5"),
    ]


def test_check_skips_empty_rows_and_keeps_spreadsheet_line_numbers(store, clerk):
    rows = [ZHANG, ["", "", "", "", "", "", ""], [" ", "\t", "", "", "", "", ""], ["1003"]]

    checked = check(csv_bytes(rows))

    assert [row["line"] for row in checked.rows] == [2]
    assert [error["line"] for error in checked.errors] == [5]


def test_preview_never_stores_a_full_phone_number(store, clerk):
    bad = ["1003", "", "S001", "clerk", "13700137000", "", ""]
    staff_import = preview_staff_import(
        data=csv_bytes([ZHANG, LI, bad]), filename="staff.csv", actor=None
    )

    stored = json.dumps([staff_import.rows, staff_import.errors], ensure_ascii=False)

    for national in ("13800138000", "13900139000", "13700137000"):
        assert national not in stored
        assert f"+86{national}" not in stored
    assert [row["phone_masked"] for row in staff_import.rows] == ["138****8000", "139****9000"]


@pytest.mark.parametrize("rows", [1, 3])
def test_preview_query_count_does_not_grow_with_rows(rows, store, clerk, django_assert_num_queries):
    data = csv_bytes(
        [
            [f"{1000 + n}", "员工", "S001", "clerk", f"1380013{8000 + n}", "", ""]
            for n in range(rows)
        ]
    )

    # units by code, all positions, holders of the file's vote codes, insert the preview
    with django_assert_num_queries(4):
        staff_import = preview_staff_import(data=data, filename="staff.csv", actor=None)

    assert (staff_import.row_count, staff_import.error_count) == (rows, 0)


# ------------------------------------------------------------------------------
# Confirm, discard, purge
# ------------------------------------------------------------------------------


def test_confirm_creates_staff_and_writes_one_audit_event(store, clerk, hr):
    staff_import = preview_staff_import(data=csv_bytes([ZHANG, LI]), filename="staff.csv", actor=hr)

    confirmed = confirm_staff_import(staff_import, actor=hr)

    confirmed.refresh_from_db()
    assert confirmed.status == StaffImportStatus.IMPORTED
    assert confirmed.handled_by == hr
    assert confirmed.result == {"created": 2, "updated": 0, "unchanged": 0, "skipped": 0}
    zhang = StaffMember.objects.get(employee_no="1001")
    assert (zhang.name, zhang.unit, zhang.position, zhang.hire_date, zhang.story) == (
        "张晓明",
        store,
        clerk,
        dt.date(2020, 3, 1),
        "热心服务",
    )
    assert (zhang.phone_hash, zhang.phone_masked) == (
        parse_phone("13800138000").hash,
        "138****8000",
    )
    assert (zhang.video_url, zhang.is_active) == ("", True)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.target_id) == (
        AuditAction.STAFF_IMPORTED,
        hr,
        str(staff_import.pk),
    )
    assert event.data == {
        "file_name": "staff.csv",
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
    }
    assert "138" not in json.dumps(event.data)


def test_reimporting_the_same_file_changes_nothing(store, clerk, hr):
    data = csv_bytes([ZHANG, LI])
    confirm_staff_import(preview_staff_import(data=data, filename="a.csv", actor=hr), actor=hr)
    before = dict(StaffMember.objects.values_list("employee_no", "updated_at"))

    second = confirm_staff_import(
        preview_staff_import(data=data, filename="a.csv", actor=hr), actor=hr
    )

    assert second.result == {"created": 0, "updated": 0, "unchanged": 2, "skipped": 0}
    assert dict(StaffMember.objects.values_list("employee_no", "updated_at")) == before


def test_confirm_updates_changed_staff_only(store, clerk, hr):
    other_store = OrgUnitFactory(code="S002")
    zhang = StaffMemberFactory(
        employee_no="1001",
        name="张晓明",
        unit=store,
        position=clerk,
        phone="13800138000",
        hire_date=dt.date(2020, 3, 1),
        story="热心服务",
        video_url="https://v.example.com/z",
    )
    li = StaffMemberFactory(
        employee_no="1002",
        name="李静",
        unit=store,
        position=clerk,
        phone="13900139000",
        hire_date=dt.date(2021, 7, 15),
    )
    li_before = StaffMember.objects.get(pk=li.pk)
    moved = ["1001", "张晓明", "S002", "clerk", "13600136000", "2020-03-01", "新简介"]
    new = ["1003", "王芳", "S002", "clerk", "13700137000", "", ""]

    staff_import = preview_staff_import(
        data=csv_bytes([moved, LI, new]), filename="b.csv", actor=hr
    )
    confirmed = confirm_staff_import(staff_import, actor=hr)

    assert confirmed.result == {"created": 1, "updated": 1, "unchanged": 1, "skipped": 0}
    zhang_after = StaffMember.objects.get(pk=zhang.pk)
    assert (zhang_after.unit, zhang_after.story, zhang_after.phone_masked) == (
        other_store,
        "新简介",
        "136****6000",
    )
    # The file has no video_url column: the stored link is left alone.
    assert zhang_after.video_url == "https://v.example.com/z"
    assert zhang_after.created_at == zhang.created_at
    assert zhang_after.updated_at > zhang.updated_at
    assert StaffMember.objects.get(pk=li.pk).updated_at == li_before.updated_at
    assert StaffMember.objects.get(employee_no="1003").hire_date is None


def test_plan_counts_what_a_confirm_would_do(store, clerk):
    StaffMemberFactory(employee_no="1001", name="旧名", unit=store, position=clerk)

    plan = plan_staff_import(check(csv_bytes([ZHANG, LI])).rows)

    assert (plan.created, plan.updated, plan.unchanged) == (1, 1, 0)


def test_confirm_twice_is_refused_and_changes_nothing(store, clerk, hr):
    staff_import = preview_staff_import(data=csv_bytes([ZHANG]), filename="a.csv", actor=hr)
    confirm_staff_import(staff_import, actor=hr)

    with pytest.raises(ImportAlreadyHandledError) as exc_info:
        confirm_staff_import(staff_import, actor=hr)

    assert exc_info.value.code == "already_imported"
    assert str(exc_info.value.message) == "This file has already been imported."
    assert StaffMember.objects.count() == 1
    assert AuditEvent.objects.count() == 1


def test_confirm_refuses_bad_rows_unless_skipping_them(store, clerk, hr):
    bad = ["1003", "", "S001", "clerk", "13700137000", "", ""]
    staff_import = preview_staff_import(data=csv_bytes([ZHANG, bad]), filename="a.csv", actor=hr)

    with pytest.raises(DomainError) as exc_info:
        confirm_staff_import(staff_import, actor=hr)

    assert exc_info.value.code == "has_bad_rows"
    assert str(exc_info.value.message) == (
        "1 rows have errors. Fix the file and upload it again, or tick “Skip bad rows” to "
        "import only the good rows."
    )
    staff_import.refresh_from_db()
    assert staff_import.status == StaffImportStatus.PREVIEWED
    assert StaffMember.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_confirm_skips_bad_rows_when_asked_at_confirm_time(store, clerk, hr):
    bad = ["1003", "", "S001", "clerk", "13700137000", "", ""]
    staff_import = preview_staff_import(data=csv_bytes([ZHANG, bad]), filename="a.csv", actor=hr)

    confirmed = confirm_staff_import(staff_import, actor=hr, skip_bad=True)

    assert confirmed.status == StaffImportStatus.IMPORTED
    assert confirmed.result == {"created": 1, "updated": 0, "unchanged": 0, "skipped": 1}
    assert StaffImport.objects.get(pk=staff_import.pk).skip_bad is True
    assert list(StaffMember.objects.values_list("employee_no", flat=True)) == ["1001"]
    assert AuditEvent.objects.get().data["skipped"] == 1


def test_confirm_writes_the_good_rows_when_skipping_bad_ones(store, clerk, hr):
    bad = ["1003", "", "S001", "clerk", "13700137000", "", ""]
    staff_import = preview_staff_import(
        data=csv_bytes([ZHANG, bad, LI]), filename="a.csv", actor=hr, skip_bad=True
    )

    confirmed = confirm_staff_import(staff_import, actor=hr)

    assert confirmed.result == {"created": 2, "updated": 0, "unchanged": 0, "skipped": 1}
    assert set(StaffMember.objects.values_list("employee_no", flat=True)) == {"1001", "1002"}
    assert AuditEvent.objects.get().data["skipped"] == 1


def test_confirm_refuses_a_preview_whose_unit_was_deleted(store, clerk, hr):
    extra = OrgUnitFactory(code="S009")
    row = ["1003", "王芳", "S009", "clerk", "13700137000", "", ""]
    staff_import = preview_staff_import(data=csv_bytes([ZHANG, row]), filename="a.csv", actor=hr)
    extra.delete()

    with pytest.raises(DomainError) as exc_info:
        confirm_staff_import(staff_import, actor=hr)

    assert exc_info.value.code == "stale_preview"
    assert StaffMember.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_import_staff_rolls_back_the_stored_preview_when_refused(store, clerk):
    checked = check(csv_bytes([ZHANG, ["1003"]]))

    with pytest.raises(DomainError) as exc_info:
        import_staff(checked, actor=None)

    assert exc_info.value.code == "has_bad_rows"
    assert StaffImport.objects.count() == 0
    assert StaffMember.objects.count() == 0


def test_discard_marks_the_preview_and_audits_it(store, clerk, hr):
    staff_import = preview_staff_import(data=csv_bytes([ZHANG]), filename="a.csv", actor=hr)

    discard_staff_import(staff_import, actor=hr)

    staff_import.refresh_from_db()
    assert (staff_import.status, staff_import.handled_by) == (StaffImportStatus.DISCARDED, hr)
    event = AuditEvent.objects.get()
    assert (event.action, event.data) == (
        AuditAction.STAFF_IMPORT_DISCARDED,
        {"file_name": "a.csv", "rows": 1},
    )
    with pytest.raises(ImportAlreadyHandledError) as exc_info:
        confirm_staff_import(staff_import, actor=hr)
    assert str(exc_info.value.message) == "This import was discarded; upload the file again."
    assert StaffMember.objects.count() == 0
    assert AuditEvent.objects.count() == 1


def test_purge_deletes_only_stale_previews(store, clerk):
    data = csv_bytes([ZHANG])
    stale = preview_staff_import(data=data, filename="stale.csv", actor=None)
    fresh = preview_staff_import(data=data, filename="fresh.csv", actor=None)
    handled = preview_staff_import(data=data, filename="done.csv", actor=None)
    discard_staff_import(handled, actor=None)
    old = timezone.now() - dt.timedelta(hours=25)
    StaffImport.objects.filter(pk__in=[stale.pk, handled.pk]).update(created_at=old)

    purged = purge_stale_imports(max_age_hours=24)

    assert purged == 1
    assert set(StaffImport.objects.values_list("pk", flat=True)) == {fresh.pk, handled.pk}


@pytest.mark.django_db(transaction=True)
def test_concurrent_confirms_import_once():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    OrgUnitFactory(code="S001")
    PositionFactory(code="clerk", name="营业员")
    staff_import = preview_staff_import(data=csv_bytes([ZHANG, LI]), filename="a.csv", actor=None)
    outcomes = race(
        lambda: confirm_staff_import(StaffImport.objects.get(pk=staff_import.pk), actor=None), 2
    )

    assert outcomes == ["already_imported", "ok"]
    assert StaffMember.objects.count() == 2
    assert AuditEvent.objects.filter(action=AuditAction.STAFF_IMPORTED).count() == 1
