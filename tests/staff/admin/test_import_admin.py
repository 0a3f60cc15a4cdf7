"""The HR admin's import pages: upload -> preview -> confirm or discard."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from staff.choices import AuditAction, StaffImportStatus
from staff.models import AuditEvent, StaffImport, StaffMember
from tests.factories.staff import OrgUnitFactory, PositionFactory, UserFactory
from tests.staff.test_importing import LI, ZHANG, csv_bytes

pytestmark = pytest.mark.django_db

BAD = ["1003", "", "X999", "clerk", "13700137000", "", ""]


@pytest.fixture(autouse=True)
def directory():
    OrgUnitFactory(code="S001")
    PositionFactory(code="clerk", name="营业员")


@pytest.fixture
def hr_client(admin_client):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return admin_client


def upload_url():
    return reverse("admin:staff_staffmember_import")


def preview_url(staff_import):
    return reverse("admin:staff_staffmember_import_preview", args=[staff_import.pk])


def upload(client, rows, *, skip_bad=False, name="staff.csv", data=None):
    file = SimpleUploadedFile(name, data if data is not None else csv_bytes(rows))
    payload = {"file": file, **({"skip_bad": "on"} if skip_bad else {})}
    return client.post(upload_url(), payload)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def test_upload_page_shows_the_form(hr_client):
    response = hr_client.get(upload_url())

    assert response.status_code == 200
    assert list(response.context["form"].fields) == ["file", "skip_bad"]
    assert response.templates[0].name == "admin/staff/import_upload.html"


def test_upload_stores_a_preview_and_redirects_to_it(hr_client, admin_user):
    response = upload(hr_client, [ZHANG, LI])

    staff_import = StaffImport.objects.get()
    assert (response.status_code, response.url) == (302, preview_url(staff_import))
    assert (staff_import.status, staff_import.created_by) == (
        StaffImportStatus.PREVIEWED,
        admin_user,
    )
    assert (staff_import.row_count, staff_import.error_count, staff_import.skip_bad) == (
        2,
        0,
        False,
    )
    assert StaffMember.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_upload_shows_a_file_level_error_on_the_form(hr_client):
    response = upload(hr_client, [], data=b"\xff\xfe\x00\xff")

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "file": [
            "Unsupported text encoding. Save the file as CSV (UTF-8) or as .xlsx and try again."
        ]
    }
    assert StaffImport.objects.count() == 0


def test_preview_page_lists_bad_rows_and_masked_sample(hr_client):
    upload(hr_client, [ZHANG, BAD, LI], skip_bad=True)
    staff_import = StaffImport.objects.get()

    response = hr_client.get(preview_url(staff_import))

    assert response.status_code == 200
    assert response.context["bad_rows"] == [
        {
            "line": 3,
            "employee_no": "1003",
            "messages": ["Name is missing.", "Unknown unit code “X999”."],
        }
    ]
    assert [row["phone_masked"] for row in response.context["sample"]] == [
        "138****8000",
        "139****9000",
    ]
    plan = response.context["plan"]
    assert (plan.created, plan.updated, plan.unchanged) == (2, 0, 0)
    assert response.context["can_confirm"] is True
    assert "Unknown unit code “X999”." in response.text
    assert "138****8000" in response.text
    for full in ("13800138000", "13900139000", "13700137000"):
        assert full not in response.text


@pytest.mark.parametrize("rows", [1, 3])
def test_preview_page_query_count_does_not_grow_with_rows(
    hr_client, rows, django_assert_num_queries
):
    data = [
        [f"{1000 + n}", "员工", "S001", "clerk", f"1380013{8000 + n}", "", ""] for n in range(rows)
    ]
    upload(hr_client, data)
    staff_import = StaffImport.objects.get()

    # session, user, the import, existing staff for the plan
    # (+ 2: an HR admin's own and group permissions, read once per request)
    with django_assert_num_queries(6):
        response = hr_client.get(preview_url(staff_import))

    assert len(response.context["sample"]) == rows


def test_confirm_writes_staff_and_lands_on_the_changelist(hr_client, admin_user):
    upload(hr_client, [ZHANG, LI])
    staff_import = StaffImport.objects.get()

    response = hr_client.post(preview_url(staff_import), {"action": "confirm"}, follow=True)

    assert response.redirect_chain == [(reverse("admin:staff_staffmember_changelist"), 302)]
    assert messages_of(response) == ["2 created, 0 updated, 0 unchanged."]
    assert set(StaffMember.objects.values_list("employee_no", flat=True)) == {"1001", "1002"}
    staff_import.refresh_from_db()
    assert (staff_import.status, staff_import.handled_by) == (
        StaffImportStatus.IMPORTED,
        admin_user,
    )
    assert AuditEvent.objects.get().action == AuditAction.STAFF_IMPORTED


def test_confirm_with_skipped_rows_says_so(hr_client):
    upload(hr_client, [ZHANG, BAD], skip_bad=True)
    staff_import = StaffImport.objects.get()

    response = hr_client.post(preview_url(staff_import), {"action": "confirm"}, follow=True)

    assert messages_of(response) == ["1 created, 0 updated, 0 unchanged. 1 bad rows skipped."]
    assert list(StaffMember.objects.values_list("employee_no", flat=True)) == ["1001"]


def test_confirm_of_a_file_with_bad_rows_is_refused_on_the_page(hr_client):
    upload(hr_client, [ZHANG, BAD])
    staff_import = StaffImport.objects.get()

    response = hr_client.post(preview_url(staff_import), {"action": "confirm"}, follow=True)

    assert response.redirect_chain == [(preview_url(staff_import), 302)]
    assert messages_of(response) == [
        "1 rows have errors. Fix the file and upload it again, or tick “Skip bad rows” to "
        "import only the good rows."
    ]
    assert response.context["asks_to_skip"]
    assert StaffMember.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_confirm_skipping_bad_rows_on_the_preview_needs_no_new_upload(hr_client):
    upload(hr_client, [ZHANG, BAD, LI])
    staff_import = StaffImport.objects.get()
    page = hr_client.get(preview_url(staff_import))

    response = hr_client.post(
        preview_url(staff_import), {"action": "confirm", "skip_bad": "on"}, follow=True
    )

    assert 'name="skip_bad"' in page.text
    assert "Row that will not be imported (1)" in page.text
    assert messages_of(response) == ["2 created, 0 updated, 0 unchanged. 1 bad rows skipped."]
    assert sorted(StaffMember.objects.values_list("employee_no", flat=True)) == ["1001", "1002"]
    assert StaffImport.objects.count() == 1


def test_confirm_twice_shows_already_imported(hr_client):
    upload(hr_client, [ZHANG])
    staff_import = StaffImport.objects.get()
    hr_client.post(preview_url(staff_import), {"action": "confirm"}, follow=True)

    response = hr_client.post(preview_url(staff_import), {"action": "confirm"}, follow=True)

    assert response.status_code == 200
    assert messages_of(response) == ["This file has already been imported."]
    assert StaffMember.objects.count() == 1
    assert AuditEvent.objects.count() == 1


def test_discard_drops_the_preview(hr_client):
    upload(hr_client, [ZHANG])
    staff_import = StaffImport.objects.get()

    response = hr_client.post(preview_url(staff_import), {"action": "discard"}, follow=True)

    assert response.redirect_chain == [(upload_url(), 302)]
    assert messages_of(response) == ["The import was discarded; nothing was written."]
    staff_import.refresh_from_db()
    assert staff_import.status == StaffImportStatus.DISCARDED
    assert StaffMember.objects.count() == 0
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [
        AuditAction.STAFF_IMPORT_DISCARDED
    ]


def test_import_pages_need_add_and_change_permission(client):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_staffmember"),
        Permission.objects.get(codename="add_staffmember"),
    )
    client.force_login(viewer)
    staff_import = StaffImport.objects.create(file_name="a.csv")

    responses = [
        client.get(upload_url()),
        client.post(upload_url(), {"file": SimpleUploadedFile("a.csv", csv_bytes([ZHANG]))}),
        client.get(preview_url(staff_import)),
        client.post(preview_url(staff_import), {"action": "confirm"}),
    ]

    assert [response.status_code for response in responses] == [403, 403, 403, 403]
    assert StaffImport.objects.count() == 1
    assert StaffMember.objects.count() == 0


def test_staff_import_history_is_read_only(hr_client):
    upload(hr_client, [ZHANG])
    staff_import = StaffImport.objects.get()

    changelist = hr_client.get(reverse("admin:staff_staffimport_changelist"))
    add = hr_client.get(reverse("admin:staff_staffimport_add"))
    change = hr_client.post(
        reverse("admin:staff_staffimport_change", args=[staff_import.pk]), {"file_name": "x.csv"}
    )

    assert changelist.status_code == 200
    assert [obj.pk for obj in changelist.context["cl"].result_list] == [staff_import.pk]
    assert f'href="{preview_url(staff_import)}"' in changelist.text
    assert changelist.context["has_add_permission"] is False
    assert add.status_code == 403
    assert change.status_code == 403
    staff_import.refresh_from_db()
    assert staff_import.file_name == "staff.csv"
