"""The demo operator: a fictional province company with a realistic staff directory.

``manage.py seed_demo`` calls these services so that a fresh machine shows every page with
believable data. The demo operator is "华信通信江南省公司" (code ``HX``), with 16 branches and
400 frontline units under them: business halls (stores), call-centre teams and VIP /
enterprise account-manager teams. Staff get the position that matches their unit's kind.

Invariants:

* Deterministic. Everything is derived from fixed tables and from ``random.Random`` seeded
  per staff member, so staff member *n* (vote code ``100000 + n``) has the same name,
  unit, phone and story whatever ``staff_count`` is. Their employee number is the vote
  code, except for account managers, whom the operator's enterprise division numbers in
  its own HR system as ``KH`` + the same digits (``KH100037``): as in real directories,
  some employee numbers have letters, and those staff vote by their vote code. Seeding 300 and then 7,000 gives the
  same first 300 as seeding 7,000 at once.
* Idempotent and non-destructive. Rows are inserted with ``ON CONFLICT DO NOTHING`` keyed
  on unit code, position code and employee number: a second run creates nothing and
  overwrites nothing, so edits an HR admin made during a demo survive a re-seed.
* Private. Phone numbers are generated, hashed and masked in memory (``staff.phones``);
  only ``phone_hash`` and ``phone_masked`` reach the database.
* Units get their materialised path exactly as ``staff.services.create_unit`` computes it
  (``parent.path + code + "/"``), but in bulk: 417 single-row service calls would be slow.
"""

# Chinese demo text uses full-width commas on purpose.
# ruff: noqa: RUF001

import datetime
import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractUser, Group
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from staff.choices import UnitKind
from staff.exceptions import DomainError
from staff.models import OrgUnit, Position, StaffMember
from staff.phones import parse_phone

# Rows per INSERT: large enough that 7,000 staff are seven statements, small enough to stay
# under SQLite's bound-parameter limit and to give the progress bar something to show.
BATCH_SIZE = 1000

COMPANY_CODE = "HX"
COMPANY_NAME = "华信通信江南省公司"

# (code, city) of each branch, then how many stores, call-centre teams and account-manager
# teams it has. The capital branch is the largest; the total is exactly 400 frontline units.
BRANCHES: tuple[tuple[str, str, int, int, int], ...] = (
    ("B01", "华城", 45, 6, 8),
    ("B02", "东江", 21, 2, 4),
    ("B03", "西岭", 21, 2, 4),
    ("B04", "南湖", 19, 2, 3),
    ("B05", "北山", 17, 2, 3),
    ("B06", "江州", 23, 2, 4),
    ("B07", "临川", 17, 1, 3),
    ("B08", "云河", 16, 2, 3),
    ("B09", "青松", 15, 1, 3),
    ("B10", "石桥", 15, 1, 2),
    ("B11", "清水", 17, 2, 3),
    ("B12", "安平", 16, 1, 3),
    ("B13", "长丰", 18, 2, 3),
    ("B14", "永宁", 17, 1, 3),
    ("B15", "金沙", 19, 2, 3),
    ("B16", "白鹭", 18, 2, 3),
)

STREETS = (
    "人民路", "解放路", "中山路", "建设路", "和平路", "胜利路", "文化路", "新华路",
    "长江路", "黄河路", "朝阳路", "光明路", "幸福路", "青年路", "育才路", "学府路",
    "体育路", "滨江路", "湖滨路", "花园路", "民主路", "友谊路", "团结路", "振兴路",
    "兴业路", "工业路", "商业街", "步行街", "火车站", "汽车站", "开发区", "高新区",
    "大学城", "时代广场", "东关", "西关", "南门", "北门", "城南", "城北",
    "城东", "城西", "锦绣路", "金桥路", "银杏路", "梧桐路", "桂花路", "紫薇路",
)  # fmt: skip
CHINESE_NUMERALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十")
ACCOUNT_MANAGER_TEAM_KINDS = ("政企客户经理", "VIP客户经理")

# Position code, name and sort order for each frontline unit kind.
POSITIONS: dict[str, tuple[str, str, int]] = {
    UnitKind.STORE: ("store_clerk", "营业员", 10),
    UnitKind.CALL_CENTRE_TEAM: ("call_centre_agent", "客服代表", 20),
    UnitKind.ACCOUNT_MANAGER_TEAM: ("account_manager", "客户经理", 30),
}
# Relative headcount of one unit of each kind: a call-centre team is several times a store.
UNIT_WEIGHTS: dict[str, int] = {
    UnitKind.STORE: 16,
    UnitKind.CALL_CENTRE_TEAM: 40,
    UnitKind.ACCOUNT_MANAGER_TEAM: 12,
}

# Common surnames with their rough frequency (per cent of the population).
SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 7.1), ("李", 7.0), ("张", 6.7), ("刘", 5.4), ("陈", 4.5), ("杨", 3.1),
    ("黄", 2.2), ("赵", 2.0), ("吴", 2.0), ("周", 1.9), ("徐", 1.3), ("孙", 1.3),
    ("马", 1.1), ("朱", 1.1), ("胡", 1.0), ("郭", 1.0), ("何", 0.9), ("高", 0.9),
    ("林", 0.9), ("罗", 0.9), ("郑", 0.8), ("梁", 0.7), ("谢", 0.6), ("宋", 0.5),
    ("唐", 0.5), ("许", 0.5), ("韩", 0.5), ("冯", 0.4), ("邓", 0.4), ("曹", 0.4),
    ("彭", 0.4), ("曾", 0.4), ("肖", 0.4), ("田", 0.3), ("董", 0.3), ("袁", 0.3),
    ("潘", 0.3), ("于", 0.3), ("蒋", 0.3), ("蔡", 0.3), ("余", 0.3), ("杜", 0.3),
    ("叶", 0.3), ("程", 0.3), ("苏", 0.3), ("魏", 0.3), ("吕", 0.3), ("丁", 0.3),
)  # fmt: skip
GIVEN_NAME_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞鑫波宁婷雪琳晨欣怡佳"
    "宇浩轩子梓涵思雨嘉文博俊晓海燕颖建国志春丹慧莉倩彤悦瑶璐旭亮斌辉宏凯峰健毅琪诗梦"
)
# Mainland mobile prefixes; every one is a valid mobile range for ``phonenumbers``.
PHONE_PREFIXES = (
    "139", "138", "137", "136", "135", "158", "159", "150", "151", "152",
    "186", "185", "156", "131", "132", "189", "180", "181", "177", "133",
    "187", "188", "182", "183", "199", "191", "166", "198",
)  # fmt: skip
# Staff phones: a prefix, then the employee's index through a bijection on 0..10^8-1, so
# numbers never repeat and the digits a masked number shows look random.
PHONE_ROUNDS = 4

STORIES_COMMON = (
    "入职以来坚持微笑服务，连续{n}年获得客户好评。",
    "始终把客户的事当成自己的事，多次收到客户的表扬信。",
    "带领新同事熟悉业务流程，所在班组的服务满意度名列前茅。",
    "暴雨期间坚守岗位{n}天，帮助受灾客户尽快恢复通信。",
    "把“客户满意”写在工作日志的第一页，{n}年来从未改变。",
)
STORIES_BY_KIND: dict[str, tuple[str, ...]] = {
    UnitKind.STORE: (
        "耐心教老年客户使用智能手机，被大家亲切地称为“贴心小棉袄”。",
        "熟悉各类套餐和宽带业务，是营业厅里的“业务百事通”。",
    ),
    UnitKind.CALL_CENTRE_TEAM: (
        "累计接听客户来电超过{n}万通，问题一次解决率保持在九成以上。",
        "用温暖的声音安抚每一位着急的客户，被评为季度“金牌话务员”。",
    ),
    UnitKind.ACCOUNT_MANAGER_TEAM: (
        "服务{n}0多家政企客户，坚持每月上门回访。",
        "为重点客户量身定制通信方案，帮助客户节省了大量通信费用。",
    ),
}

FIRST_EMPLOYEE_NO = 100_001
# Account managers' employee numbers come from another HR system: letters, then digits.
ACCOUNT_MANAGER_PREFIX = "KH"
HIRE_DATE_FIRST = datetime.date(2005, 1, 1)
HIRE_DATE_LAST = datetime.date(2025, 12, 31)
DEMO_SEED = 20_260_000

# Public demo credentials, printed by ``seed_demo``: the command refuses to run without DEBUG.
HR_ADMIN_PASSWORD = "ServiceStar-hr-2026"  # noqa: S105 -- public demo credential
OPERATOR_PASSWORD = "ServiceStar-admin-2026"  # noqa: S105 -- public demo credential
JUDGE_PASSWORD = "ServiceStar-judge-2026"  # noqa: S105 -- public demo credential
HR_ADMINS_GROUP = "HR admins"
JUDGES_GROUP = "Judges"

ROLE_LABELS = {
    "hr_admin": gettext_lazy("HR admin"),
    "operator": gettext_lazy("Operator (superuser)"),
    "judge": gettext_lazy("Judge"),
}

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoSummary:
    """What the demo directory holds after seeding, and how much of it this run created."""

    company: str
    units: int
    branches: int
    frontline_units: int
    units_created: int
    positions: int
    staff: int
    staff_created: int


@dataclass(frozen=True)
class DemoAccount:
    """A demo login. ``role`` is a stable code; ``role_label`` is for people."""

    username: str
    password: str
    role: str

    @property
    def role_label(self) -> str:
        return str(ROLE_LABELS[self.role])


@dataclass(frozen=True)
class _PlannedUnit:
    code: str
    name: str
    kind: str
    parent_code: str


def _frontline_plan() -> list[_PlannedUnit]:
    """The 400 frontline units, branch by branch, with names unique across the province."""
    plan: list[_PlannedUnit] = []
    for branch_code, city, stores, call_centre_teams, account_manager_teams in BRANCHES:
        # Each branch draws its streets in its own fixed order, so branches differ.
        rng = random.Random(f"{DEMO_SEED}-{branch_code}")  # noqa: S311 -- demo data, not a secret
        streets = rng.sample(STREETS, k=stores)
        plan += [
            _PlannedUnit(
                f"{branch_code}-S{n:03d}", f"{city}{street}营业厅", UnitKind.STORE, branch_code
            )
            for n, street in enumerate(streets, start=1)
        ]
        plan += [
            _PlannedUnit(
                f"{branch_code}-C{n:02d}",
                f"{city}客服中心{CHINESE_NUMERALS[n - 1]}组",
                UnitKind.CALL_CENTRE_TEAM,
                branch_code,
            )
            for n in range(1, call_centre_teams + 1)
        ]
        for n in range(1, account_manager_teams + 1):
            # Teams alternate enterprise / VIP, each numbered on its own: 政企一组, VIP一组, 政企二组…
            team_kind = ACCOUNT_MANAGER_TEAM_KINDS[(n - 1) % 2]
            numeral = CHINESE_NUMERALS[(n - 1) // 2]
            plan.append(
                _PlannedUnit(
                    f"{branch_code}-A{n:02d}",
                    f"{city}{team_kind}{numeral}组",
                    UnitKind.ACCOUNT_MANAGER_TEAM,
                    branch_code,
                )
            )
    return plan


def _child(parent: OrgUnit, *, code: str, name: str, kind: str) -> OrgUnit:
    """An unsaved unit under ``parent``, with path and depth as ``create_unit`` sets them."""
    return OrgUnit(
        code=code,
        name=name,
        kind=kind,
        parent=parent,
        path=f"{parent.path}{code}/",
        depth=parent.depth + 1,
    )


def _insert_units(units: list[OrgUnit]) -> dict[str, OrgUnit]:
    """Insert missing units and return all of them, as stored, keyed by code."""
    OrgUnit.objects.bulk_create(units, batch_size=BATCH_SIZE, ignore_conflicts=True)
    stored = {unit.code: unit for unit in OrgUnit.objects.filter(code__in=[u.code for u in units])}
    for unit in units:
        if stored[unit.code].kind != unit.kind:
            raise DomainError(
                "demo_conflict",
                _("Unit %(code)s already exists with another kind; the demo cannot use it.")
                % {"code": unit.code},
            )
    return stored


def _ensure_positions() -> dict[str, Position]:
    """The three frontline positions keyed by unit kind, created when missing."""
    Position.objects.bulk_create(
        [
            Position(code=code, name=name, sort_order=order)
            for code, name, order in POSITIONS.values()
        ],
        ignore_conflicts=True,
    )
    by_code = {
        p.code: p for p in Position.objects.filter(code__in=[c for c, _n, _o in POSITIONS.values()])
    }
    if len(by_code) != len(POSITIONS):
        raise DomainError(
            "demo_conflict",
            _("A position with a demo position's name already exists under another code."),
        )
    return {kind: by_code[code] for kind, (code, _name, _order) in POSITIONS.items()}


def _permute(value: int) -> int:
    """A bijection on 0..10^8-1: a Feistel network on two four-digit halves."""
    left, right = divmod(value, 10_000)
    for round_key in range(PHONE_ROUNDS):
        digest = hashlib.blake2b(f"{DEMO_SEED}:{round_key}:{right}".encode(), digest_size=4)
        # Each round maps (left, right) to (right, left + F(right)): invertible whatever F is.
        left, right = right, (left + int.from_bytes(digest.digest())) % 10_000
    return left * 10_000 + right


def demo_phone(index: int) -> str:
    """The national mobile number of demo staff member ``index`` (0-based); unique per index."""
    return f"{PHONE_PREFIXES[index % len(PHONE_PREFIXES)]}{_permute(index):08d}"


def _staff_rows(
    indexes: range,
    *,
    units: list[OrgUnit],
    cumulative_weights: list[int],
    positions: dict[str, Position],
) -> Iterator[StaffMember]:
    surnames = [s for s, _w in SURNAMES]
    surname_weights = [w for _s, w in SURNAMES]
    hire_days = (HIRE_DATE_LAST - HIRE_DATE_FIRST).days
    for index in indexes:
        # One generator per staff member keeps member n the same whatever staff_count is.
        rng = random.Random(DEMO_SEED + index)  # noqa: S311 -- demo data, not a secret
        unit = rng.choices(units, cum_weights=cumulative_weights)[0]
        given = "".join(rng.choices(GIVEN_NAME_CHARS, k=1 if rng.random() < 0.3 else 2))
        template = rng.choice(STORIES_COMMON + STORIES_BY_KIND[unit.kind])
        phone = parse_phone(demo_phone(index))
        vote_code = str(FIRST_EMPLOYEE_NO + index)
        prefix = ACCOUNT_MANAGER_PREFIX if unit.kind == UnitKind.ACCOUNT_MANAGER_TEAM else ""
        yield StaffMember(
            employee_no=f"{prefix}{vote_code}",
            vote_code=vote_code,
            name=rng.choices(surnames, weights=surname_weights)[0] + given,
            unit=unit,
            position=positions[unit.kind],
            story=template.format(n=rng.randint(2, 9)),
            phone_hash=phone.hash,
            phone_masked=phone.masked,
            hire_date=HIRE_DATE_FIRST + datetime.timedelta(days=rng.randint(0, hire_days)),
            is_active=True,
        )


@transaction.atomic
def seed_demo_directory(
    *, staff_count: int = 7000, progress: Progress | None = None
) -> DemoSummary:
    """Create the demo company, its 16 branches, 400 frontline units, 3 positions and staff.

    Writes ``OrgUnit``, ``Position`` and ``StaffMember`` rows in one transaction, inserting
    only what is missing (keyed on unit code, position code and employee number); existing
    rows are left as they are. Staff members get vote codes ``100001``, ``100002``… (their
    employee number too, but ``KH100003`` for an account manager); a smaller
    ``staff_count`` than a previous run deletes nothing. ``progress(step, done, total)`` is
    called after each batch with ``step`` ``"units"`` or ``"staff"``. Raises ``ValueError``
    for a negative count and ``DomainError("demo_conflict")`` when a demo code is taken by a
    unit of another kind or a demo position's name by another code.
    """
    # Over 60 lines: units, positions and staff are inserted in dependency order with
    # progress reports between the steps; each step is already a helper.
    if staff_count < 0:
        raise ValueError("staff_count must not be negative")
    report = progress or (lambda _step, _done, _total: None)
    plan = _frontline_plan()
    units_total = 1 + len(BRANCHES) + len(plan)
    units_before = OrgUnit.objects.count()

    company = _insert_units(
        [
            OrgUnit(
                code=COMPANY_CODE, name=COMPANY_NAME, kind=UnitKind.COMPANY, path=f"{COMPANY_CODE}/"
            )
        ]
    )[COMPANY_CODE]
    branches = _insert_units(
        [
            _child(company, code=code, name=f"{city}分公司", kind=UnitKind.BRANCH)
            for code, city, *_sizes in BRANCHES
        ]
    )
    report("units", 1 + len(BRANCHES), units_total)
    frontline = _insert_units(
        [_child(branches[p.parent_code], code=p.code, name=p.name, kind=p.kind) for p in plan]
    )
    report("units", units_total, units_total)
    units_created = OrgUnit.objects.count() - units_before

    positions = _ensure_positions()
    ordered_units = [frontline[p.code] for p in plan]
    cumulative_weights: list[int] = []
    running = 0
    for unit in ordered_units:
        running += UNIT_WEIGHTS[unit.kind]
        cumulative_weights.append(running)

    staff_before = StaffMember.objects.count()
    for start in range(0, staff_count, BATCH_SIZE):
        batch = list(
            _staff_rows(
                range(start, min(start + BATCH_SIZE, staff_count)),
                units=ordered_units,
                cumulative_weights=cumulative_weights,
                positions=positions,
            )
        )
        StaffMember.objects.bulk_create(batch, batch_size=BATCH_SIZE, ignore_conflicts=True)
        report("staff", start + len(batch), staff_count)
    return DemoSummary(
        company=COMPANY_CODE,
        units=units_total,
        branches=len(branches),
        frontline_units=len(frontline),
        units_created=units_created,
        positions=len(positions),
        staff=staff_count,
        staff_created=StaffMember.objects.count() - staff_before,
    )


def _ensure_user(account: DemoAccount, *, encoded_password: str) -> AbstractUser:
    user, _created = get_user_model().objects.get_or_create(username=account.username)
    user.email = f"{account.username}@demo.service-star.invalid"
    user.is_active = True
    user.is_staff = account.role in {"hr_admin", "operator"}
    user.is_superuser = account.role == "operator"
    user.password = encoded_password
    user.save()
    return user


@transaction.atomic
def ensure_demo_accounts() -> list[DemoAccount]:
    """Create or reset the demo logins; return them for printing.

    Writes the users ``hr`` (staff, not superuser, in ``HR admins``), ``admin`` (the
    operator, a superuser) and ``judge1`` to ``judge3`` (in ``Judges``): existing users get
    the demo password, flags and group back. The groups and their permissions come from the
    data migration ``staff.0002_hr_admin_and_judge_groups``; this never changes them.
    """
    hr_admins, _created = Group.objects.get_or_create(name=HR_ADMINS_GROUP)
    judges, _created = Group.objects.get_or_create(name=JUDGES_GROUP)

    accounts = [
        DemoAccount("hr", HR_ADMIN_PASSWORD, "hr_admin"),
        DemoAccount("admin", OPERATOR_PASSWORD, "operator"),
        *(DemoAccount(f"judge{n}", JUDGE_PASSWORD, "judge") for n in (1, 2, 3)),
    ]
    # A password hash costs ~0.3 s by design; the three judges share one public password,
    # so they share one hash rather than triple the wait.
    encoded = {password: make_password(password) for password in {a.password for a in accounts}}
    groups = {"hr_admin": hr_admins, "judge": judges}
    for account in accounts:
        user = _ensure_user(account, encoded_password=encoded[account.password])
        if account.role in groups:
            user.groups.add(groups[account.role])
    return accounts
