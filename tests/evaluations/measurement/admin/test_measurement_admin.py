"""The HR admin of service measurement: keys, KPI import, rankings, charts, archive."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from evaluations.measurement.apikeys import create_api_key, hash_api_key
from evaluations.measurement.choices import StoreGrade, UnitLevel
from evaluations.measurement.rollups import compute_month_rollup
from evaluations.models import KpiRecord, StaffMonth, StoreMonthScore, TransactionApiKey, UnitMonth
from staff.choices import UnitKind
from staff.models import AuditEvent
from tests.factories.measurement import RatingFactory, ServiceTransactionFactory
from tests.factories.staff import OrgUnitFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db
MAY = dt.date(2026, 5, 1)


def test_add_api_key_shows_it_once_and_stores_hash(admin_client):
    response = admin_client.post(
        reverse("admin:evaluations_transactionapikey_add"), {"name": "CRM", "system": "crm"}
    )

    assert response.status_code == 200
    raw = response.context["raw_key"]
    api_key = TransactionApiKey.objects.get()
    assert api_key.key_hash == hash_api_key(raw)
    assert raw.startswith(api_key.prefix)
    assert (
        raw
        not in admin_client.get(
            reverse("admin:evaluations_transactionapikey_change", args=[api_key.pk])
        ).content.decode()
    )
    assert AuditEvent.objects.filter(action="evaluations.api_key.created").count() == 1


def test_revoke_action_asks_reason_then_revokes(admin_client):
    api_key, _raw = create_api_key(name="CRM", system="crm", actor=None)
    url = reverse("admin:evaluations_transactionapikey_changelist")
    data = {"action": "revoke_keys", "_selected_action": [api_key.pk]}

    page = admin_client.post(url, data)
    assert page.status_code == 200
    api_key.refresh_from_db()
    assert api_key.revoked_at is None

    admin_client.post(url, {**data, "confirm": "1", "reason": "leaked in a ticket"})

    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    event = AuditEvent.objects.get(action="evaluations.api_key.revoked")
    assert event.reason == "leaked in a ticket"


def test_kpi_import_through_admin(admin_client):
    StaffMemberFactory(employee_no="2001")
    upload = SimpleUploadedFile(
        "kpi.csv", "工号,接听量,满意率,质检得分,一次解决率\n2001,600,90,80,70\n".encode()
    )

    response = admin_client.post(
        reverse("admin:evaluations_kpirecord_import"), {"month": "2026-05", "file": upload}
    )
    assert response.status_code == 302
    preview = admin_client.get(response.url)
    assert "76.50" in preview.content.decode()
    admin_client.post(response.url, {"action": "confirm"})

    assert list(KpiRecord.objects.values_list("month", "score")) == [(MAY, Decimal("76.50"))]


def test_kpi_preview_titles_the_bad_rows_as_not_imported_and_skips_them_on_confirm(
    admin_client,
):
    StaffMemberFactory(employee_no="2001")
    upload = SimpleUploadedFile(
        "kpi.csv",
        "工号,接听量,满意率,质检得分,一次解决率\n2001,600,90,80,70\n9999,1,1,1,1\n".encode(),
    )
    response = admin_client.post(
        reverse("admin:evaluations_kpirecord_import"), {"month": "2026-05", "file": upload}
    )

    preview = admin_client.get(response.url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    done = admin_client.post(
        response.url,
        {"action": "confirm", "skip_bad": "1"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert "不会导入的行（1）" in preview.content.decode()
    assert [str(m) for m in done.context["messages"]] == ["已写入 1 条 KPI 记录。"]
    assert list(KpiRecord.objects.values_list("month", "score")) == [(MAY, Decimal("76.50"))]


def test_kpi_upload_shows_file_error(admin_client):
    upload = SimpleUploadedFile("kpi.csv", b"nothing,useful\n1,2\n")

    response = admin_client.post(
        reverse("admin:evaluations_kpirecord_import"), {"month": "2026-05", "file": upload}
    )

    assert response.status_code == 200
    assert "文件缺少以下必填列" in str(response.context["form"].errors["file"])


@pytest.fixture
def rolled_up(db):
    member = StaffMemberFactory(name="=HYPERLINK(1)")
    ServiceTransactionFactory(staff_member=member, phone="13812345678")
    for score in (10, 9, 4):
        RatingFactory(
            staff_member=member, score=score, rated_at=dt.datetime(2026, 5, 3, tzinfo=dt.UTC)
        )
    compute_month_rollup(MAY)
    return member


@pytest.mark.parametrize(
    "model",
    [
        "transactionapikey",
        "servicetransaction",
        "ratinginvitation",
        "rating",
        "ratingoptout",
        "kpiformula",
        "kpiimport",
        "kpirecord",
        "checklistitem",
        "inspection",
        "staffmonth",
        "unitmonth",
        "storemonthscore",
        "storegradeweights",
        "evaluationstagerule",
    ],
)
def test_changelists_render_without_full_phones(admin_client, rolled_up, model):
    response = admin_client.get(reverse(f"admin:evaluations_{model}_changelist"))

    assert response.status_code == 200
    assert "13812345678" not in response.content.decode()


def test_staff_month_export_escapes_formulas(admin_client, rolled_up):
    row = StaffMonth.objects.get()

    response = admin_client.post(
        reverse("admin:evaluations_staffmonth_changelist"),
        {"action": "export_csv", "_selected_action": [row.pk]},
    )

    text = response.content.decode("utf-8-sig")
    assert response["Content-Disposition"] == 'attachment; filename="staff-months.csv"'
    assert "'=HYPERLINK(1)" in text
    assert ",3,7.667," in text


def test_charts_page_shows_distribution(admin_client, rolled_up):
    response = admin_client.get(reverse("admin:evaluations_staffmonth_charts") + "?month=2026-05")

    assert response.status_code == 200
    bars = {bar["label"]: bar["value"] for bar in response.context["distribution"]}
    assert (bars["10"], bars["9"], bars["4"], bars["1"]) == (1, 1, 1, 0)
    assert [bar["label"] for bar in response.context["volume"]] == ["2026-05"]


def test_charts_page_survives_bad_month(admin_client, rolled_up):
    response = admin_client.get(reverse("admin:evaluations_unitmonth_charts") + "?month=x-y")

    assert response.status_code == 200
    assert response.context["month"] == MAY


def test_store_timeline_and_archive_export(admin_client):
    store = OrgUnitFactory(kind=UnitKind.STORE, name="中心营业厅")
    for month, grade in ((MAY, StoreGrade.NORMAL), (dt.date(2026, 6, 1), StoreGrade.SUPERVISION)):
        StoreMonthScore.objects.create(
            store=store,
            month=month,
            composite=Decimal("70.00"),
            rank=1,
            store_count=1,
            grade=grade,
            computed_at=timezone.now(),
        )

    page = admin_client.get(reverse("admin:evaluations_storemonthscore_timeline", args=[store.pk]))
    export = admin_client.post(
        reverse("admin:evaluations_storemonthscore_changelist"),
        {
            "action": "export_xlsx",
            "_selected_action": list(StoreMonthScore.objects.values_list("pk", flat=True)),
        },
    )

    assert [row.month for row in page.context["rows"]] == [MAY, dt.date(2026, 6, 1)]
    assert export.content[:2] == b"PK"
    assert UnitMonth.objects.filter(level=UnitLevel.STORE).count() == 0
