"""List pages of service measurement read a fixed number of queries however many rows."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from evaluations.measurement.inspections import record_inspection
from evaluations.measurement.rollups import compute_month_rollup
from staff.choices import UnitKind
from tests.factories.measurement import RatingFactory
from tests.factories.staff import OrgUnitFactory, StaffMemberFactory, UserFactory

pytestmark = pytest.mark.django_db
MAY = dt.date(2026, 5, 1)


@pytest.mark.parametrize("rows", [1, 3])
def test_staff_month_changelist_query_count(admin_client, django_assert_num_queries, rows):
    for _n in range(rows):
        RatingFactory(
            staff_member=StaffMemberFactory(), rated_at=dt.datetime(2026, 5, 3, tzinfo=dt.UTC)
        )
    compute_month_rollup(MAY)
    url = reverse("admin:evaluations_staffmonth_changelist")
    admin_client.get(url)  # warm the session and content types

    # (+ 2: an HR admin's own and group permissions, read once per request)
    with django_assert_num_queries(9):
        response = admin_client.get(url)

    assert len(response.context["cl"].result_list) == rows


@pytest.mark.parametrize("rows", [1, 3])
def test_inspector_visit_list_query_count(client, django_assert_num_queries, rows):
    inspector = UserFactory(username="inspector")
    inspector.user_permissions.add(Permission.objects.get(codename="add_inspection"))
    for _n in range(rows):
        record_inspection(
            OrgUnitFactory(kind=UnitKind.STORE),
            kind="inspection",
            visited_at=timezone.now(),
            inspector=inspector,
            ticked=set(),
        )
    client.force_login(inspector)
    url = reverse("measurement:inspection-list")

    with django_assert_num_queries(5):
        response = client.get(url)

    assert len(response.context["inspections"]) == rows
