"""Read functions of the staff directory."""

from django.db.models import QuerySet

from staff.choices import UnitKind
from staff.models import OrgUnit, StaffMember


def units_in_subtree(unit: OrgUnit, *, kinds: tuple[str, ...] | None = None) -> QuerySet[OrgUnit]:
    """The unit and every unit below it, in one query, ordered by path (tree order)."""
    queryset = OrgUnit.objects.subtree_of(unit)
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    return queryset


def staff_in_subtree(unit: OrgUnit, *, active_only: bool = True) -> QuerySet[StaffMember]:
    """Staff of the unit and all units below it, with unit and position joined in."""
    queryset = StaffMember.objects.in_unit_subtree(unit).select_related("unit", "position")
    return queryset.active() if active_only else queryset


def branch_of(unit: OrgUnit) -> OrgUnit | None:
    """The branch a unit belongs to (itself if it is one), found by path prefix."""
    if unit.kind == UnitKind.BRANCH:
        return unit
    segments = unit.path.rstrip("/").split("/")
    prefixes = ["/".join(segments[:i]) + "/" for i in range(1, len(segments))]
    return OrgUnit.objects.filter(path__in=prefixes, kind=UnitKind.BRANCH).first()


def units_by_code(codes: set[str]) -> dict[str, OrgUnit]:
    """Units keyed by code, for bulk lookups (one query)."""
    return {unit.code: unit for unit in OrgUnit.objects.filter(code__in=codes)}
