"""Store inspections: scoring, versions, the inspector's form and what an inspector sees."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from evaluations.measurement.choices import ChecklistItemKind, InspectionKind
from evaluations.measurement.exceptions import MeasurementError
from evaluations.measurement.inspections import (
    correct_inspection,
    inspection_score,
    record_inspection,
)
from evaluations.models import Inspection, InspectionPhoto
from staff.choices import UnitKind
from staff.models import AuditEvent
from tests.factories.measurement import ChecklistItemFactory
from tests.factories.staff import OrgUnitFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def checklist(db):
    return {
        "greet": ChecklistItemFactory(code="greet", points=30),
        "clean": ChecklistItemFactory(code="clean", points=70),
        "bonus": ChecklistItemFactory(code="bonus", kind=ChecklistItemKind.BONUS, points=5),
        "late": ChecklistItemFactory(code="late", kind=ChecklistItemKind.DEDUCTION, points=10),
        "fraud": ChecklistItemFactory(code="fraud", kind=ChecklistItemKind.VETO, points=0),
    }


@pytest.fixture
def inspector(db):
    user = UserFactory(username="inspector")
    user.user_permissions.add(Permission.objects.get(codename="add_inspection"))
    return user


@pytest.fixture
def store(db):
    return OrgUnitFactory(kind=UnitKind.STORE, code="S001")


@pytest.mark.parametrize(
    ("ticked", "score", "vetoed"),
    [
        (set(), "0.00", False),
        ({"greet"}, "30.00", False),
        ({"greet", "clean"}, "100.00", False),
        ({"greet", "clean", "bonus"}, "100.00", False),
        ({"greet", "bonus"}, "35.00", False),
        ({"greet", "clean", "late"}, "90.00", False),
        ({"late"}, "0.00", False),
        ({"greet", "clean", "bonus", "fraud"}, "0.00", True),
    ],
)
def test_inspection_score(checklist, ticked, score, vetoed):
    ids = {checklist[code].pk for code in ticked}

    assert inspection_score(list(checklist.values()), ids) == (Decimal(score), vetoed)


def test_record_then_correct_inspection_keeps_versions(checklist, inspector, store):
    visited = timezone.now() - dt.timedelta(hours=2)
    first = record_inspection(
        store,
        kind=InspectionKind.MYSTERY_SHOPPER,
        visited_at=visited,
        inspector=inspector,
        ticked={checklist["greet"].pk},
    )

    second = correct_inspection(
        first,
        actor=inspector,
        ticked={checklist["greet"].pk, checklist["clean"].pk},
        note="clean after all",
        reason="misread",
    )

    assert [(i.version, i.is_current, i.score) for i in Inspection.objects.order_by("version")] == [
        (1, False, Decimal("30.00")),
        (2, True, Decimal("100.00")),
    ]
    assert second.series == first.series
    assert second.marks.filter(is_ticked=True).count() == 2
    assert list(AuditEvent.objects.order_by("id").values_list("action", "reason")) == [
        ("evaluations.inspection.recorded", ""),
        ("evaluations.inspection.corrected", "misread"),
    ]
    with pytest.raises(MeasurementError) as stale:
        correct_inspection(first, actor=inspector, ticked=set(), note="", reason="again")
    assert stale.value.code == "not_current"


def test_record_inspection_refuses_non_store_and_future(checklist, inspector):
    branch = OrgUnitFactory(kind=UnitKind.BRANCH)
    with pytest.raises(MeasurementError) as not_store:
        record_inspection(
            branch, kind="inspection", visited_at=timezone.now(), inspector=inspector, ticked=set()
        )
    store = OrgUnitFactory(kind=UnitKind.STORE)
    with pytest.raises(MeasurementError) as future:
        record_inspection(
            store,
            kind="inspection",
            inspector=inspector,
            ticked=set(),
            visited_at=timezone.now() + dt.timedelta(hours=1),
        )

    assert (not_store.value.code, future.value.code) == ("not_a_store", "visit_in_future")
    assert Inspection.objects.count() == 0


def _photo() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "JPEG")
    return SimpleUploadedFile("p.jpg", buffer.getvalue(), content_type="image/jpeg")


def test_inspector_records_visit_on_form(client, checklist, inspector, store, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(inspector)
    url = reverse("measurement:inspection-create")
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        {
            "store": store.pk,
            "kind": "inspection",
            "visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            f"item_{checklist['greet'].pk}": "on",
            f"item_{checklist['bonus'].pk}": "on",
            "note": "ok",
            "photos": [_photo(), _photo()],
        },
    )

    assert response.status_code == 302
    inspection = Inspection.objects.get()
    assert (inspection.store, inspection.inspector, inspection.score) == (
        store,
        inspector,
        Decimal("35.00"),
    )
    assert InspectionPhoto.objects.filter(inspection=inspection).count() == 2
    listing = client.get(reverse("measurement:inspection-list"))
    assert "35.00" in listing.content.decode()


def test_inspector_form_refuses_non_image(client, checklist, inspector, store):
    client.force_login(inspector)
    fake = SimpleUploadedFile("p.jpg", b"not an image", content_type="image/jpeg")

    response = client.post(
        reverse("measurement:inspection-create"),
        {
            "store": store.pk,
            "kind": "inspection",
            "visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "photos": [fake],
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["photos"]
    assert Inspection.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/staff/staffmember/",
        "/admin/campaigns/campaign/",
        "/admin/evaluations/inspection/",
    ],
)
def test_inspector_cannot_see_admin_pages(client, inspector, url):
    client.force_login(inspector)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def test_user_without_permission_cannot_record(client, store):
    client.force_login(UserFactory(username="clerk"))

    response = client.get(reverse("measurement:inspection-create"))

    assert response.status_code == 403


def test_anonymous_is_sent_to_inspector_login(client):
    response = client.get(reverse("measurement:inspection-create"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("measurement:login"))
    assert client.get(reverse("measurement:login")).status_code == 200
