"""A NUL byte in a staff import cell is a row error, never a 500 (issue 13 item 12).

PostgreSQL text and jsonb cannot hold NUL: before the fix the unit lookup and the stored
preview failed with a ValueError. Kept apart from test_importing.py while that module is
being split.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from staff.importing.services import preview_staff_import
from staff.models import StaffMember
from tests.factories.staff import OrgUnitFactory, PositionFactory, UserFactory
from tests.staff.test_importing import HEADER, ZHANG, csv_bytes

pytestmark = pytest.mark.django_db

NUL_MESSAGE = "This line contains a NUL character (is the file really CSV or XLSX?)."


@pytest.fixture
def directory():
    OrgUnitFactory(code="S001", name="人民路营业厅")
    PositionFactory(code="clerk", name="营业员")


@pytest.mark.parametrize("column", ["employee_no", "name", "unit_code", "position", "phone"])
def test_a_nul_in_any_cell_is_an_error_of_that_row(directory, column):
    bad = list(ZHANG)
    bad[0] = "1002"
    bad[HEADER.index(column)] = bad[HEADER.index(column)] + "\x00"

    staff_import = preview_staff_import(
        data=csv_bytes([ZHANG, bad]), filename="staff.csv", actor=UserFactory(hr_admin=True)
    )

    staff_import.refresh_from_db()
    assert (staff_import.row_count, staff_import.error_count) == (2, 1)
    assert [row["employee_no"] for row in staff_import.rows] == ["1001"]
    assert staff_import.errors == [{"line": 3, "employee_no": "1002", "messages": [NUL_MESSAGE]}]


def test_the_admin_upload_of_a_file_with_a_nul_shows_the_row_error(directory, admin_client):
    bad = ["1002\x00", "李\x00静", "S0\x0001", "clerk", "13900139000", "", ""]
    upload = SimpleUploadedFile("staff.csv", csv_bytes([ZHANG, bad]))

    # The row messages are stored in the language of the upload.
    response = admin_client.post(
        reverse("admin:staff_staffmember_import"), {"file": upload}, HTTP_ACCEPT_LANGUAGE="en"
    )
    preview = admin_client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302
    assert preview.status_code == 200
    assert NUL_MESSAGE in preview.content.decode()
    assert StaffMember.objects.count() == 0
