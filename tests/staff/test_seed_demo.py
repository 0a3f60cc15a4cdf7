"""The demo operator: ``staff.demo`` and ``manage.py seed_demo``."""

import datetime
import io
import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import translation

from campaigns.models import Campaign
from staff.choices import UnitKind
from staff.demo import (
    DemoAccount,
    DemoSummary,
    demo_phone,
    ensure_demo_accounts,
    seed_demo_directory,
)
from staff.exceptions import DomainError
from staff.models import EMPLOYEE_NO_PATTERN, UNIT_CODE_PATTERN, OrgUnit, Position, StaffMember
from staff.phones import hash_phone
from tests.factories.staff import OrgUnitFactory

pytestmark = pytest.mark.django_db

SMALL = 300
EXPECTED_POSITIONS = {
    (UnitKind.STORE, "store_clerk", "营业员"),
    (UnitKind.CALL_CENTRE_TEAM, "call_centre_agent", "客服代表"),
    (UnitKind.ACCOUNT_MANAGER_TEAM, "account_manager", "客户经理"),
}


def _staff_snapshot() -> set[tuple[str, str, str, str, str]]:
    return set(
        StaffMember.objects.values_list(
            "employee_no", "name", "phone_hash", "phone_masked", "unit__code"
        )
    )


def _counts() -> dict[str, int]:
    return {
        "units": OrgUnit.objects.count(),
        "positions": Position.objects.count(),
        "staff": StaffMember.objects.count(),
        "users": get_user_model().objects.count(),
        "groups": Group.objects.count(),
    }


def test_seed_demo_directory_builds_the_operator_tree():
    summary = seed_demo_directory(staff_count=SMALL)

    assert summary == DemoSummary(
        company="HX",
        units=417,
        branches=16,
        frontline_units=400,
        units_created=417,
        positions=3,
        staff=SMALL,
        staff_created=SMALL,
    )
    kinds = dict(OrgUnit.objects.values_list("kind").annotate(n=Count("id")))
    assert kinds == {
        UnitKind.COMPANY: 1,
        UnitKind.BRANCH: 16,
        UnitKind.STORE: 314,
        UnitKind.CALL_CENTRE_TEAM: 31,
        UnitKind.ACCOUNT_MANAGER_TEAM: 55,
    }
    company = OrgUnit.objects.get(kind=UnitKind.COMPANY)
    assert (company.code, company.name, company.path, company.depth) == (
        "HX",
        "华信通信江南省公司",
        "HX/",
        0,
    )
    assert set(OrgUnit.objects.filter(kind=UnitKind.BRANCH).values_list("parent", flat=True)) == {
        company.pk
    }
    assert OrgUnit.objects.filter(kind=UnitKind.BRANCH, name__endswith="分公司").count() == 16
    assert OrgUnit.objects.filter(kind=UnitKind.STORE, name__endswith="营业厅").count() == 314
    assert OrgUnit.objects.filter(name__contains="客服中心").count() == 31
    assert OrgUnit.objects.filter(name__contains="客户经理").count() == 55
    # Names are unique across the province, so a leaderboard's unit column is unambiguous.
    assert OrgUnit.objects.values("name").distinct().count() == 417
    assert StaffMember.objects.count() == SMALL
    assert set(Position.objects.values_list("code", "name")) == {
        (code, name) for _kind, code, name in EXPECTED_POSITIONS
    }


def test_seed_demo_directory_units_have_service_paths():
    seed_demo_directory(staff_count=0)

    units = {unit.pk: unit for unit in OrgUnit.objects.all()}
    assert len(units) == 417
    for unit in units.values():
        parent = units.get(unit.parent_id)
        assert re.fullmatch(UNIT_CODE_PATTERN, unit.code), unit.code
        assert unit.path == (parent.path if parent else "") + unit.code + "/"
        assert unit.depth == (parent.depth + 1 if parent else 0)
    assert OrgUnit.objects.filter(depth=2).exclude(parent__kind=UnitKind.BRANCH).count() == 0
    assert OrgUnit.objects.get(code="B03-S017").path == "HX/B03/B03-S017/"


def test_seed_demo_directory_gives_staff_the_position_of_their_unit_kind():
    seed_demo_directory(staff_count=SMALL)

    pairs = set(StaffMember.objects.values_list("unit__kind", "position__code", "position__name"))
    assert pairs == EXPECTED_POSITIONS
    assert StaffMember.objects.exclude(unit__depth=2).count() == 0


def test_seed_demo_directory_staff_fields_are_plausible():
    seed_demo_directory(staff_count=SMALL)

    members = list(StaffMember.objects.select_related("unit").order_by("vote_code"))
    assert [m.vote_code for m in members] == [str(100_001 + i) for i in range(SMALL)]
    for member in members:
        assert re.fullmatch(EMPLOYEE_NO_PATTERN, member.employee_no)
        # Account managers have HR numbers with letters; everyone else votes by employee no.
        prefix = "KH" if member.unit.kind == UnitKind.ACCOUNT_MANAGER_TEAM else ""
        assert member.employee_no == f"{prefix}{member.vote_code}"
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,3}", member.name), member.name
        assert re.fullmatch(r"[\u4e00-\u9fff0-9，。“”]+。", member.story), member.story
        assert member.is_active is True
        assert member.photo.name == ""
        assert 2005 <= member.hire_date.year <= 2025
    assert len({m.name for m in members}) > SMALL * 0.9
    assert {m.employee_no.isdigit() for m in members} == {True, False}


def test_seed_demo_directory_stores_phones_only_hashed_and_masked():
    seed_demo_directory(staff_count=SMALL)

    phones = [demo_phone(i) for i in range(SMALL)]
    assert len(set(phones)) == SMALL
    rows = StaffMember.objects.order_by("vote_code").values()
    for phone, row in zip(phones, rows, strict=True):
        assert row["phone_hash"] == hash_phone(f"+86{phone}")
        assert row["phone_masked"] == f"{phone[:3]}****{phone[-4:]}"
        assert re.fullmatch(r"1\d{2}\*{4}\d{4}", row["phone_masked"])
        stored_text = " ".join(str(value) for value in row.values())
        assert phone not in stored_text
        assert phone[3:] not in stored_text


def test_seed_demo_directory_twice_changes_nothing():
    seed_demo_directory(staff_count=SMALL)
    ensure_demo_accounts()
    counts, staff = _counts(), _staff_snapshot()

    summary = seed_demo_directory(staff_count=SMALL)
    ensure_demo_accounts()

    assert (summary.units_created, summary.staff_created) == (0, 0)
    assert _counts() == counts
    assert _staff_snapshot() == staff
    assert counts == {"units": 417, "positions": 3, "staff": SMALL, "users": 5, "groups": 2}


def test_seed_demo_directory_keeps_edits_and_adds_only_missing_staff():
    seed_demo_directory(staff_count=100)
    StaffMember.objects.filter(employee_no="100001").update(name="改名", is_active=False)

    summary = seed_demo_directory(staff_count=SMALL)

    assert summary.staff_created == SMALL - 100
    assert StaffMember.objects.count() == SMALL
    assert StaffMember.objects.filter(employee_no="100001", name="改名", is_active=False).exists()


@pytest.mark.parametrize("staff_count", [100, SMALL])
def test_seed_demo_directory_is_the_same_whatever_the_count(staff_count):
    seed_demo_directory(staff_count=staff_count)

    rows = StaffMember.objects.filter(employee_no__in=["100001", "100100"]).values_list(
        "employee_no", "name", "unit__code", "position__code", "phone_masked", "hire_date", "story"
    )
    assert list(rows) == [
        (
            "100001",
            "梁秀旭",
            "B06-C01",
            "call_centre_agent",
            "139****9444",
            datetime.date(2012, 2, 11),
            "始终把客户的事当成自己的事，多次收到客户的表扬信。",
        ),
        (
            "100100",
            "吴海欣",
            "B16-S018",
            "store_clerk",
            "189****0804",
            datetime.date(2021, 9, 6),
            "把“客户满意”写在工作日志的第一页，9年来从未改变。",
        ),
    ]


def test_seed_demo_directory_reports_progress():
    calls: list[tuple[str, int, int]] = []

    seed_demo_directory(staff_count=2500, progress=lambda *call: calls.append(call))

    assert calls == [
        ("units", 17, 417),
        ("units", 417, 417),
        ("staff", 1000, 2500),
        ("staff", 2000, 2500),
        ("staff", 2500, 2500),
    ]


def test_seed_demo_directory_refuses_a_demo_code_of_another_kind():
    OrgUnitFactory(code="B01-S001", kind=UnitKind.CALL_CENTRE_TEAM)

    with pytest.raises(DomainError) as excinfo:
        seed_demo_directory(staff_count=10)

    assert excinfo.value.code == "demo_conflict"
    assert StaffMember.objects.count() == 0
    assert OrgUnit.objects.count() == 3


def test_seed_demo_directory_refuses_a_negative_count():
    with pytest.raises(ValueError, match="staff_count"):
        seed_demo_directory(staff_count=-1)


def test_seed_demo_directory_default_seeds_7000_staff():
    started = time.perf_counter()
    summary = seed_demo_directory()
    elapsed = time.perf_counter() - started

    assert (summary.staff, summary.staff_created) == (7000, 7000)
    assert StaffMember.objects.count() == 7000
    assert StaffMember.objects.values("employee_no").distinct().count() == 7000
    assert StaffMember.objects.values("phone_hash").distinct().count() == 7000
    assert StaffMember.objects.filter(employee_no__in=["100001", "107000"]).count() == 2
    positions = dict(StaffMember.objects.values_list("position__code").annotate(n=Count("id")))
    assert positions == {"store_clerk": 5006, "call_centre_agent": 1309, "account_manager": 685}
    # Not a benchmark (bench/ is), only a guard against an accidental row-by-row rewrite.
    assert elapsed < 30


def test_ensure_demo_accounts_creates_logins_and_groups(client, migrated_groups):
    accounts = ensure_demo_accounts()

    assert accounts == [
        DemoAccount("hr", "ServiceStar-hr-2026", "hr_admin"),
        DemoAccount("admin", "ServiceStar-admin-2026", "operator"),
        DemoAccount("judge1", "ServiceStar-judge-2026", "judge"),
        DemoAccount("judge2", "ServiceStar-judge-2026", "judge"),
        DemoAccount("judge3", "ServiceStar-judge-2026", "judge"),
    ]
    for account in accounts:
        assert client.login(username=account.username, password=account.password)
        client.logout()
    users = {u.username: u for u in get_user_model().objects.prefetch_related("groups")}
    flags = {
        name: (u.is_staff, u.is_superuser, u.is_active, sorted(g.name for g in u.groups.all()))
        for name, u in users.items()
    }
    assert flags == {
        "hr": (True, False, True, ["HR admins"]),
        "admin": (True, True, True, []),
        "judge1": (False, False, True, ["Judges"]),
        "judge2": (False, False, True, ["Judges"]),
        "judge3": (False, False, True, ["Judges"]),
    }
    hr = users["hr"]
    assert hr.has_perm("staff.add_staffmember")
    assert hr.has_perm("staff.change_orgunit")
    assert hr.has_perm("auth.view_user")
    assert not hr.has_perm("auth.change_user")
    assert not users["judge1"].has_perm("staff.view_staffmember")
    assert not hr.has_perm("staff.change_auditevent")
    assert hr.has_perm("axes.delete_accessattempt")
    assert Group.objects.get(name="Judges").permissions.count() == 0


def test_ensure_demo_accounts_resets_a_changed_password(client):
    ensure_demo_accounts()
    hr = get_user_model().objects.get(username="hr")
    hr.set_password("something-else-entirely")
    hr.is_active = False
    hr.save()
    hr.groups.clear()

    ensure_demo_accounts()

    assert client.login(username="hr", password="ServiceStar-hr-2026")
    assert get_user_model().objects.filter(username="hr", groups__name="HR admins").exists()
    assert get_user_model().objects.count() == 5


def _run_command(*args: str, settings) -> tuple[str, str]:
    settings.DEBUG = True
    stdout, stderr = io.StringIO(), io.StringIO()
    with translation.override("en"):
        # No demo votes (voting.demo has its own tests): these tests are about the rest.
        call_command("seed_demo", "--votes", "0", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_seed_demo_command_prints_links_and_logins(client, settings):
    out, err = _run_command("--staff", "50", "--quiet", settings=settings)

    campaign = Campaign.objects.get()
    assert err == ""
    assert out.splitlines() == [
        "Directory: 417 units (417 new): 1 company, 16 branches, 400 frontline units; "
        "3 positions; 50 staff (50 new).",
        "Campaign: 2026年度满意100服务明星评选; stage 1 Open with 50 contestants.",
        "Demo logins: 5 accounts.",
        "",
        "Service Star demo is ready.",
        "  Public site:  http://127.0.0.1:8000/",
        f"  Campaign:     http://127.0.0.1:8000/campaigns/{campaign.pk}/",
        "  Admin:        http://127.0.0.1:8000/admin/",
        "  API docs:     http://127.0.0.1:8000/api/docs/",
        "",
        "  Username  Password                Role",
        "  hr        ServiceStar-hr-2026     HR admin",
        "  admin     ServiceStar-admin-2026  Operator (superuser)",
        "  judge1    ServiceStar-judge-2026  Judge",
        "  judge2    ServiceStar-judge-2026  Judge",
        "  judge3    ServiceStar-judge-2026  Judge",
    ]
    assert StaffMember.objects.count() == 50
    # The printed passwords are the real ones.
    for line in out.splitlines()[-5:]:
        username, password, _role = line.split(maxsplit=2)
        assert client.login(username=username, password=password)


def test_seed_demo_command_twice_creates_nothing(settings):
    _run_command("--staff", "50", "--quiet", settings=settings)
    counts = _counts()

    out, _err = _run_command("--staff", "50", "--quiet", settings=settings)

    assert _counts() == counts
    assert Campaign.objects.count() == 1
    assert out.splitlines()[0] == (
        "Directory: 417 units (0 new): 1 company, 16 branches, 400 frontline units; "
        "3 positions; 50 staff (0 new)."
    )


def test_seed_demo_command_uses_base_url(settings):
    out, _err = _run_command(
        "--staff", "0", "--quiet", "--base-url", "https://demo.example.org/", settings=settings
    )

    assert "  Public site:  https://demo.example.org/\n" in out
    assert (
        f"  Campaign:     https://demo.example.org/campaigns/{Campaign.objects.get().pk}/\n" in out
    )
    assert "  Admin:        https://demo.example.org/admin/\n" in out
    assert "  API docs:     https://demo.example.org/api/docs/\n" in out


def test_seed_demo_command_draws_progress_bars_on_stderr(settings):
    out, err = _run_command("--staff", "1500", settings=settings)

    assert "Organisation units: 100%" in err
    assert "417/417" in err
    assert "Staff members: 100%" in err
    assert "1500/1500" in err
    assert "%|" not in out


def test_seed_demo_command_refuses_without_debug(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", "--staff", "10", "--quiet", stdout=io.StringIO())

    assert OrgUnit.objects.count() == 0
    assert get_user_model().objects.count() == 0


def test_seed_demo_command_force_seeds_without_debug(settings):
    settings.DEBUG = False

    call_command(
        "seed_demo", "--staff", "10", "--votes", "0", "--quiet", "--force", stdout=io.StringIO()
    )

    assert StaffMember.objects.count() == 10
    assert get_user_model().objects.count() == 5


def test_seed_demo_command_refuses_a_negative_count(settings):
    settings.DEBUG = True

    with pytest.raises(CommandError, match="--staff"):
        call_command("seed_demo", "--staff", "-5", "--quiet", stdout=io.StringIO())
