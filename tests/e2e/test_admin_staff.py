"""Browser journeys: an HR admin logs in and finds staff in the directory (by name, and by
phone without the number in the address); exports the staff to Excel and imports the file
back unchanged."""

import pytest

from tests.factories.staff import OrgUnitFactory, StaffMemberFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_hr_admin_logs_in_and_searches_the_staff_list(live_server, page, screenshot_dir):
    UserFactory(username="hr", password="pass-word-123", hr_admin=True)
    store = OrgUnitFactory(name="人民路营业厅")
    StaffMemberFactory(employee_no="10001", name="张晓明", unit=store, phone="13800138000")
    StaffMemberFactory(employee_no="10002", name="李静", unit=store, phone="13900139000")

    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("用户名").fill("hr")
    page.get_by_label("密码").fill("pass-word-123")
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="员工", exact=True).first.click()
    page.wait_for_selector("#result_list")
    page.screenshot(path=screenshot_dir / "admin-staff-list.png", full_page=True)
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    assert "138****8000" in page.content()
    assert "13800138000" not in page.content()

    page.locator("#searchbar").fill("李静")
    page.keyboard.press("Enter")
    page.wait_for_url("**/?q=*")

    assert rows.count() == 1
    # Once as the employee number, once as the vote code (a digit number is its own code).
    assert rows.first.inner_text().count("10002") == 2


def test_hr_admin_exports_staff_and_imports_the_file_back_unchanged(
    live_server, page, screenshot_dir, tmp_path
):
    UserFactory(username="hr", password="pass-word-123", hr_admin=True)
    store = OrgUnitFactory(name="人民路营业厅")
    StaffMemberFactory(employee_no="10001", name="张晓明", unit=store, phone="13800138000")
    StaffMemberFactory(employee_no="BJ0002", name="李静", unit=store, phone="13900139000")
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("用户名").fill("hr")
    page.get_by_label("密码").fill("pass-word-123")
    page.get_by_role("button", name="登录").click()

    page.goto(f"{live_server.url}/admin/staff/staffmember/export/")
    assert page.get_by_label("工号", exact=True).is_checked()
    assert page.get_by_label("全选").is_checked()
    assert page.locator("#id_format").input_value() == "1"  # xlsx
    assert "Employee No" not in page.content()
    page.screenshot(path=screenshot_dir / "admin-staff-export.png", full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="导出").click()
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.suffix == ".xlsx"

    page.goto(f"{live_server.url}/admin/staff/staffmember/import/")
    page.get_by_label("员工名单文件").set_input_files(str(saved))
    page.get_by_role("button", name="检查文件").click()
    page.wait_for_selector("#import-counts")
    page.screenshot(path=screenshot_dir / "admin-staff-reimport.png", full_page=True)
    counts = {
        row.locator("th").inner_text(): row.locator("td").inner_text()
        for row in page.locator("#import-counts tr").all()
    }
    assert counts["有误行数"] == "0"
    assert counts["已是最新的员工"] == "2"
    assert page.locator("#bad-rows").count() == 0


def test_hr_admin_finds_a_member_by_phone_without_the_number_in_the_address(
    live_server, page, screenshot_dir
):
    UserFactory(username="hr", password="pass-word-123", hr_admin=True)
    store = OrgUnitFactory(name="人民路营业厅")
    StaffMemberFactory(employee_no="10001", name="张晓明", unit=store, phone="13800138000")
    StaffMemberFactory(employee_no="10002", name="李静", unit=store, phone="13900139000")

    page.goto(f"{live_server.url}/admin/staff/staffmember/")
    page.get_by_label("用户名").fill("hr")
    page.get_by_label("密码").fill("pass-word-123")
    page.get_by_role("button", name="登录").click()
    page.wait_for_selector("#result_list")
    page.get_by_label("按手机号查找").fill("+86 139-0013-9000")
    page.get_by_role("button", name="查找", exact=True).click()
    page.wait_for_url("**/?phone_hash=*")
    page.screenshot(path=screenshot_dir / "admin-staff-phone-search.png", full_page=True)

    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "李静" in rows.first.inner_text()
    assert "0013" not in page.url
    assert "13900139000" not in page.content()
