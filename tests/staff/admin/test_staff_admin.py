import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from staff.choices import AuditAction, UnitKind
from staff.models import AuditEvent, StaffMember
from staff.phones import parse_phone
from tests.factories.staff import OrgUnitFactory, PositionFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:staff_staffmember_changelist")


def _png(size=(300, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("count", [1, 3])
def test_changelist_query_count_does_not_grow_with_rows(
    admin_client, count, django_assert_num_queries
):
    StaffMemberFactory.create_batch(count)

    # session, user, branch filter lookups, count, full count, page rows, position filter lookups
    # (+ 2: an HR admin's own and group permissions, read once per request)
    with django_assert_num_queries(9):
        response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == count


def test_changelist_shows_masked_phone_only(admin_client):
    StaffMemberFactory(phone="13800138000", name="张晓明")

    response = admin_client.get(CHANGELIST)

    assert "138****8000" in response.text
    assert "13800138000" not in response.text
    assert 'class="staff-avatar"' in response.text


def test_changelist_search_by_employee_number_and_name(admin_client):
    StaffMemberFactory(employee_no="20001", name="王芳")
    StaffMemberFactory(employee_no="20002", name="李静")

    by_number = admin_client.get(CHANGELIST, {"q": " 20002 "})
    by_name = admin_client.get(CHANGELIST, {"q": "王芳"})

    assert [m.employee_no for m in by_number.context["cl"].result_list] == ["20002"]
    assert [m.employee_no for m in by_name.context["cl"].result_list] == ["20001"]


def test_branch_and_unit_filters_follow_the_tree(admin_client):
    east_store = OrgUnitFactory(code="E-S1")
    east = east_store.parent
    east_team = OrgUnitFactory(code="E-C1", kind=UnitKind.CALL_CENTRE_TEAM, parent=east)
    west_store = OrgUnitFactory(code="W-S1")
    StaffMemberFactory(employee_no="1", unit=east_store)
    StaffMemberFactory(employee_no="2", unit=east_team)
    StaffMemberFactory(employee_no="3", unit=west_store)

    by_branch = admin_client.get(CHANGELIST, {"branch": east.pk})
    by_unit = admin_client.get(CHANGELIST, {"branch": east.pk, "unit": east_team.pk})
    bogus = admin_client.get(CHANGELIST, {"branch": "x' OR 1=1"})

    assert sorted(m.employee_no for m in by_branch.context["cl"].result_list) == ["1", "2"]
    assert [m.employee_no for m in by_unit.context["cl"].result_list] == ["2"]
    assert "E-C1" in by_unit.text or east_team.name in by_unit.text
    assert bogus.status_code == 200


def test_add_staff_member_stores_only_hash_and_mask(admin_client):
    unit = OrgUnitFactory()
    position = PositionFactory()

    response = admin_client.post(
        reverse("admin:staff_staffmember_add"),
        {
            "employee_no": "30001",
            "name": "赵磊",
            "unit": unit.pk,
            "position": position.pk,
            "phone": "+86 138 0013 8000",
            "is_active": "on",
            "story": "",
            "video_url": "",
            "hire_date": "2020-03-01",
        },
    )

    member = StaffMember.objects.get(employee_no="30001")
    assert response.status_code == 302
    assert member.phone_hash == parse_phone("13800138000").hash
    assert member.phone_masked == "138****8000"


@pytest.mark.parametrize(
    ("employee_no", "phone", "error"),
    [
        ("BJ#01", "13800138000", "工号由 1 到 16 位字母、数字或连字符组成"),
        ("30002", "1.38001E+10", "表格数字"),
        ("30003", "", "请填写手机号"),
    ],
)
def test_add_staff_member_refuses_bad_input_and_saves_nothing(
    admin_client, employee_no, phone, error
):
    unit, position = OrgUnitFactory(), PositionFactory()

    response = admin_client.post(
        reverse("admin:staff_staffmember_add"),
        {
            "employee_no": employee_no,
            "name": "x",
            "unit": unit.pk,
            "position": position.pk,
            "phone": phone,
        },
    )

    assert response.status_code == 200
    assert error in response.text
    assert StaffMember.objects.count() == 0


def test_photo_upload_generates_a_thumbnail(admin_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    member = StaffMemberFactory()
    url = reverse("admin:staff_staffmember_change", args=[member.pk])
    data = {
        "employee_no": member.employee_no,
        "name": member.name,
        "unit": member.unit_id,
        "position": member.position_id,
        "is_active": "on",
        "photo": SimpleUploadedFile("me.png", _png(), content_type="image/png"),
    }

    response = admin_client.post(url, data)

    member.refresh_from_db()
    assert response.status_code == 302
    assert member.photo.name.startswith("staff/photos/")
    with Image.open(member.thumbnail.path) as thumb:
        assert thumb.size == (160, 160)
    assert member.phone_masked.endswith("****" + member.phone_masked[-4:])


def test_photo_upload_refuses_a_file_that_is_not_an_image(admin_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    member = StaffMemberFactory()
    url = reverse("admin:staff_staffmember_change", args=[member.pk])

    response = admin_client.post(
        url,
        {
            "employee_no": member.employee_no,
            "name": member.name,
            "unit": member.unit_id,
            "position": member.position_id,
            "photo": SimpleUploadedFile("evil.png", b"<?php echo 1; ?>", content_type="image/png"),
        },
    )

    member.refresh_from_db()
    assert response.status_code == 200
    assert member.photo.name == ""


def test_export_csv_has_masked_phones_and_escaped_formulas(admin_client):
    StaffMemberFactory(employee_no="40001", name="=HYPERLINK(1)", phone="13800138000")

    response = admin_client.post(
        reverse("admin:staff_staffmember_export"),
        {
            "format": "0",
            "resource": "0",
            **{
                f"staffmemberresource_{f}": "on"
                for f in (
                    "employee_no",
                    "name",
                    "branch",
                    "unit_code",
                    "unit_name",
                    "position",
                    "phone",
                    "hire_date",
                    "is_active",
                    "story",
                    "video_url",
                )
            },
        },
    )

    body = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert response.status_code == 200
    assert rows[1][0] == "40001"
    assert rows[1][1] == "'=HYPERLINK(1)" or not rows[1][1].startswith("=")
    assert "138****8000" in body
    assert "13800138000" not in body


def test_deactivate_action_writes_an_audit_event(admin_client):
    member = StaffMemberFactory(is_active=True)

    admin_client.post(
        CHANGELIST, {"action": "deactivate_selected", "_selected_action": [member.pk]}
    )

    member.refresh_from_db()
    event = AuditEvent.objects.get()
    assert member.is_active is False
    assert (event.action, event.actor_label, event.target_id) == (
        AuditAction.STAFF_DEACTIVATED,
        "hr",
        str(member.pk),
    )
    assert event.data == {"before": {"is_active": True}, "after": {"is_active": False}}


def test_audit_log_is_read_only_in_the_admin(admin_client):
    member = StaffMemberFactory()
    admin_client.post(
        CHANGELIST, {"action": "deactivate_selected", "_selected_action": [member.pk]}
    )
    event = AuditEvent.objects.get()

    listing = admin_client.get(reverse("admin:staff_auditevent_changelist"))
    add = admin_client.get(reverse("admin:staff_auditevent_add"))
    delete = admin_client.post(
        reverse("admin:staff_auditevent_delete", args=[event.pk]), {"post": "yes"}
    )
    change = admin_client.post(
        reverse("admin:staff_auditevent_change", args=[event.pk]), {"reason": "tampered"}
    )

    event.refresh_from_db()
    assert listing.status_code == 200
    assert add.status_code == 403
    assert delete.status_code == 403
    assert change.status_code == 403
    assert event.reason == ""
    assert AuditEvent.objects.count() == 1


def _change_form_data(member, **changes):
    data = {
        "employee_no": member.employee_no,
        "name": member.name,
        "unit": member.unit_id,
        "position": member.position_id,
        "phone": "",
        "story": member.story,
        "video_url": member.video_url,
        "hire_date": "",
        "status_reason": "",
    }
    if member.is_active:
        data["is_active"] = "on"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_deactivating_on_the_change_form_writes_the_same_audit_event_as_the_action(admin_client):
    member = StaffMemberFactory(is_active=True)

    response = admin_client.post(
        reverse("admin:staff_staffmember_change", args=[member.pk]),
        _change_form_data(member, is_active=None, status_reason="Left the company\r\non 1 May"),
    )

    member.refresh_from_db()
    event = AuditEvent.objects.get()
    assert response.status_code == 302
    assert member.is_active is False
    assert (event.action, event.actor_label, event.target_id, event.reason) == (
        AuditAction.STAFF_DEACTIVATED,
        "hr",
        str(member.pk),
        "Left the company\non 1 May",
    )
    assert event.data == {"before": {"is_active": True}, "after": {"is_active": False}}


def test_a_change_form_reason_over_the_limit_is_refused_and_changes_nothing(admin_client):
    member = StaffMemberFactory(is_active=True)

    response = admin_client.post(
        reverse("admin:staff_staffmember_change", args=[member.pk]),
        _change_form_data(member, is_active=None, status_reason="x" * 1001),
    )

    member.refresh_from_db()
    assert response.status_code == 200
    assert "status_reason" in response.context["adminform"].form.errors
    assert member.is_active is True
    assert AuditEvent.objects.count() == 0


def test_saving_the_change_form_without_a_status_change_writes_no_audit_event(admin_client):
    member = StaffMemberFactory(is_active=True)

    admin_client.post(
        reverse("admin:staff_staffmember_change", args=[member.pk]),
        _change_form_data(member, name="新名字"),
    )

    member.refresh_from_db()
    assert member.name == "新名字"
    assert AuditEvent.objects.count() == 0


def test_adding_a_staff_member_with_letters_assigns_a_vote_code_shown_in_list_and_search(
    admin_client,
):
    unit, position = OrgUnitFactory(), PositionFactory()

    admin_client.post(
        reverse("admin:staff_staffmember_add"),
        {
            "employee_no": " bj010086 ",
            "name": "赵磊",
            "unit": unit.pk,
            "position": position.pk,
            "phone": "13800138000",
            "is_active": "on",
        },
    )
    member = StaffMember.objects.get()
    by_code = admin_client.get(CHANGELIST, {"q": "800001"})
    by_number = admin_client.get(CHANGELIST, {"q": "BJ010086"})
    detail = admin_client.get(reverse("admin:staff_staffmember_change", args=[member.pk]))

    assert (member.employee_no, member.vote_code) == ("BJ010086", "800001")
    assert [m.pk for m in by_code.context["cl"].result_list] == [member.pk]
    assert [m.pk for m in by_number.context["cl"].result_list] == [member.pk]
    assert "800001" in by_code.text
    assert "800001" in detail.text


def test_a_digit_employee_number_held_as_a_vote_code_is_refused_on_the_form(admin_client):
    StaffMemberFactory(employee_no="BJ1", vote_code="800001")
    unit, position = OrgUnitFactory(), PositionFactory()

    response = admin_client.post(
        reverse("admin:staff_staffmember_add"),
        {
            "employee_no": "800001",
            "name": "x",
            "unit": unit.pk,
            "position": position.pk,
            "phone": "13800138000",
        },
    )

    assert response.status_code == 200
    assert "800001" in str(response.context["adminform"].form.errors["employee_no"])
    assert StaffMember.objects.count() == 1


EXPORT_COLUMNS = (
    "employee_no",
    "vote_code",
    "name",
    "branch",
    "unit_code",
    "unit_name",
    "position",
    "phone",
    "hire_date",
    "is_active",
    "story",
    "video_url",
)


def _export(client, file_format: str, **headers):
    return client.post(
        reverse("admin:staff_staffmember_export"),
        {
            "format": file_format,
            "resource": "0",
            **{f"staffmemberresource_{name}": "on" for name in EXPORT_COLUMNS},
        },
        **headers,
    )


def test_export_page_labels_columns_by_their_file_headers_and_preselects_xlsx(admin_client):
    response = admin_client.get(
        reverse("admin:staff_staffmember_export"), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    form = response.context["form"]
    labels = [form.fields[f"staffmemberresource_{name}"].label for name in EXPORT_COLUMNS]
    page = response.content.decode()
    assert labels == [
        "工号",
        "投票编号",
        "姓名",
        "分公司",
        "单位编码",
        "单位",
        "岗位",
        "手机",
        "入职日期",
        "在职",
        "简介",
        "视频链接",
    ]
    assert form.fields["format"].choices == [("0", "csv"), ("1", "xlsx")]
    assert '<option value="1" selected>xlsx</option>' in page
    assert "---" not in page
    assert "全选" in page
    assert "Select all" not in page
    assert "Employee No" not in page


def test_export_with_no_column_ticked_says_so_in_chinese(admin_client):
    response = admin_client.post(
        reverse("admin:staff_staffmember_export"),
        {"format": "0", "resource": "0"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["请至少勾选一列再导出。"]


def test_export_csv_starts_with_a_byte_order_mark_and_names_the_file(admin_client):
    StaffMemberFactory(employee_no="40001", name="张晓明")

    response = _export(admin_client, "0")

    assert response.content.startswith(b"\xef\xbb\xbf\xe5\xb7\xa5\xe5\x8f\xb7,")  # BOM + 工号
    assert "张晓明".encode() in response.content
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="staff-{today}.csv"'


@pytest.mark.parametrize(("file_format", "file_name"), [("0", "staff.csv"), ("1", "staff.xlsx")])
def test_an_exported_file_imports_back_unchanged(admin_client, file_format, file_name):
    StaffMemberFactory(employee_no="BJ010086", vote_code="800001", story="多行\n简介")
    StaffMemberFactory(employee_no="40002", hire_date=dt.date(2019, 3, 1))
    exported = _export(admin_client, file_format).content

    response = admin_client.post(
        reverse("admin:staff_staffmember_import"),
        {"file": SimpleUploadedFile(file_name, exported)},
        follow=True,
    )

    staff_import = response.context["staff_import"]
    plan = response.context["plan"]
    assert staff_import.error_count == 0
    assert staff_import.row_count == 2
    assert (plan.created, plan.updated, plan.unchanged) == (0, 0, 2)
    assert [(r["employee_no"], r["vote_code"]) for r in staff_import.rows] == [
        ("40002", "40002"),
        ("BJ010086", "800001"),
    ]
