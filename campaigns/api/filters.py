"""Filter sets of the public campaign API.

Unknown filter values (a branch or position that does not exist) give an empty list, as a
search that matches nobody does; malformed ones (a NUL character) are a 400 ``invalid``.
"""

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from campaigns.models import Contestant
from campaigns.selectors import filter_contestants
from staff.models import OrgUnit

# Longest decimal that fits a 64-bit primary key; longer digit strings can only be codes.
MAX_ID_DIGITS = 18


class ContestantFilter(django_filters.FilterSet):
    """``?q=`` (name, unit name or employee-number prefix), ``?branch=`` (a branch's id or
    code; staff anywhere under it) and ``?position=`` (a position code)."""

    q = django_filters.CharFilter(
        method="filter_q", label=_("Name, unit or employee number prefix"), max_length=64
    )
    branch = django_filters.CharFilter(
        method="filter_branch", label=_("Branch id or code"), max_length=32
    )
    position = django_filters.CharFilter(
        method="filter_position", label=_("Position code"), max_length=32
    )

    class Meta:
        model = Contestant
        fields = ["q", "branch", "position"]

    def filter_q(self, queryset: QuerySet[Contestant], name: str, value: str) -> QuerySet:
        return filter_contestants(queryset, q=value)

    def filter_branch(self, queryset: QuerySet[Contestant], name: str, value: str) -> QuerySet:
        # A code wins over an id when a digits-only code happens to equal another branch's id.
        match = Q(code=value)
        if value.isdigit() and len(value) <= MAX_ID_DIGITS:
            match |= Q(pk=int(value))
        branches = sorted(
            OrgUnit.objects.branches().filter(match), key=lambda unit: unit.code != value
        )
        if not branches:
            return queryset.none()
        return filter_contestants(queryset, branch=branches[0])

    def filter_position(self, queryset: QuerySet[Contestant], name: str, value: str) -> QuerySet:
        return filter_contestants(queryset, position=value)
