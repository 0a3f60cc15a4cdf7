import pytest

from staff import selectors, services
from staff.choices import UnitKind
from staff.exceptions import DomainError
from staff.models import OrgUnit
from tests.factories.staff import StaffMemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    company = services.create_unit(code="HX", name="公司", kind=UnitKind.COMPANY, parent=None)
    east = services.create_unit(code="E", name="东城", kind=UnitKind.BRANCH, parent=company)
    west = services.create_unit(code="W", name="西城", kind=UnitKind.BRANCH, parent=company)
    units = {
        "E-S1": services.create_unit(code="E-S1", name="店1", kind=UnitKind.STORE, parent=east),
        "E-C1": services.create_unit(
            code="E-C1", name="客服1", kind=UnitKind.CALL_CENTRE_TEAM, parent=east
        ),
        "W-A1": services.create_unit(
            code="W-A1", name="政企1", kind=UnitKind.ACCOUNT_MANAGER_TEAM, parent=west
        ),
    }
    return {"company": company, "east": east, "west": west, **units}


def test_create_unit_builds_path_and_depth(tree):
    assert tree["company"].path == "HX/"
    assert tree["east"].path == "HX/E/"
    assert (tree["E-S1"].path, tree["E-S1"].depth) == ("HX/E/E-S1/", 2)


def test_units_in_subtree_is_one_query_at_any_depth(tree, django_assert_num_queries):
    with django_assert_num_queries(1):
        whole = [u.code for u in selectors.units_in_subtree(tree["company"])]
    with django_assert_num_queries(1):
        east = [u.code for u in selectors.units_in_subtree(tree["east"])]

    assert whole == ["HX", "E", "E-C1", "E-S1", "W", "W-A1"]
    assert east == ["E", "E-C1", "E-S1"]


@pytest.mark.parametrize("per_unit", [1, 3])
def test_staff_in_subtree_is_one_query(tree, per_unit, django_assert_num_queries):
    for code in ("E-S1", "E-C1", "W-A1"):
        StaffMemberFactory.create_batch(per_unit, unit=tree[code])

    with django_assert_num_queries(1):
        rows = [(m.unit.code, m.position.name) for m in selectors.staff_in_subtree(tree["east"])]

    assert len(rows) == 2 * per_unit
    assert {code for code, _ in rows} == {"E-S1", "E-C1"}


def test_branch_of_finds_the_branch_by_path(tree):
    assert selectors.branch_of(tree["W-A1"]) == tree["west"]
    assert selectors.branch_of(tree["east"]) == tree["east"]
    assert selectors.branch_of(tree["company"]) is None


def test_update_unit_moves_the_whole_subtree(tree):
    services.update_unit(tree["east"], name="东城新", kind=UnitKind.BRANCH, parent=tree["company"])
    moved = services.update_unit(tree["E-S1"], name="店1", kind=UnitKind.STORE, parent=tree["west"])

    assert moved.path == "HX/W/E-S1/"
    assert [u.code for u in selectors.units_in_subtree(tree["west"])] == ["W", "E-S1", "W-A1"]
    assert OrgUnit.objects.get(code="E").name == "东城新"


def test_update_unit_refuses_a_cycle_and_changes_nothing(tree):
    with pytest.raises(DomainError) as excinfo:
        services.update_unit(tree["company"], name="x", kind=UnitKind.COMPANY, parent=tree["east"])

    assert excinfo.value.code == "bad_parent"
    assert OrgUnit.objects.get(code="HX").parent_id is None
    assert OrgUnit.objects.get(code="HX").name == "公司"


@pytest.mark.parametrize(
    ("kind", "parent_key"),
    [
        (UnitKind.STORE, "company"),
        (UnitKind.BRANCH, "east"),
        (UnitKind.COMPANY, "company"),
        (UnitKind.CALL_CENTRE_TEAM, None),
    ],
)
def test_create_unit_refuses_a_kind_under_the_wrong_parent(tree, kind, parent_key):
    before = OrgUnit.objects.count()

    with pytest.raises(DomainError) as excinfo:
        services.create_unit(
            code="NEW", name="新", kind=kind, parent=tree[parent_key] if parent_key else None
        )

    assert excinfo.value.code == "bad_parent"
    assert OrgUnit.objects.count() == before
