"""Call-centre KPI import (preview, confirm, bad rows) and the per-position formula."""

import datetime as dt
import io
import threading
import zipfile
from decimal import Decimal

import pytest
from django.db import connection
from openpyxl import Workbook

from evaluations.measurement.exceptions import KpiImportError, MeasurementError
from evaluations.measurement.kpi import (
    confirm_kpi_import,
    discard_kpi_import,
    kpi_score,
    preview_kpi_import,
    set_kpi_formula,
)
from evaluations.models import KpiFormula, KpiImport, KpiRecord
from staff.exceptions import DomainError, ImportAlreadyHandledError
from staff.models import AuditEvent
from tests.factories.staff import PositionFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db
MAY = dt.date(2026, 5, 1)
HEADER_EN = "employee_no,calls_handled,satisfaction_rate,quality_score,first_call_resolution\n"
HEADER_ZH = "工号,接听量,满意率,质检得分,一次解决率\n"


@pytest.fixture
def agents(db):
    position = PositionFactory(code="agent")
    return [
        StaffMemberFactory(employee_no="2001", position=position),
        StaffMemberFactory(employee_no="2002", position=position),
    ]


def preview(text, *, filename="kpi.csv", encoding="utf-8"):
    return preview_kpi_import(
        data=text.encode(encoding), filename=filename, month=dt.date(2026, 5, 17), actor=None
    )


def test_kpi_score_default_formula():
    rates = {
        "satisfaction_rate": Decimal(90),
        "quality_score": Decimal(80),
        "first_call_resolution": Decimal(70),
    }

    # 0.2 x 50 + 0.4 x 90 + 0.25 x 80 + 0.15 x 70 = 10 + 36 + 20 + 10.5
    assert kpi_score(KpiFormula(), calls=600, rates=rates) == Decimal("76.50")
    assert kpi_score(KpiFormula(), calls=5000, rates=rates) == Decimal("86.50")


@pytest.mark.parametrize(
    ("header", "encoding"),
    [(HEADER_EN, "utf-8"), (HEADER_ZH, "utf-8-sig"), (HEADER_ZH, "gb18030")],
)
def test_kpi_import_preview_then_confirm(agents, header, encoding):
    kpi_import = preview(header + "2001,600,90,80,70\n2002,1200,95%,100,100\n", encoding=encoding)

    assert (kpi_import.row_count, kpi_import.error_count, kpi_import.month) == (2, 0, MAY)
    assert KpiRecord.objects.count() == 0

    confirm_kpi_import(kpi_import, actor=None)

    got = dict(KpiRecord.objects.values_list("staff_member__employee_no", "score"))
    assert got == {"2001": Decimal("76.50"), "2002": Decimal("98.00")}
    assert AuditEvent.objects.filter(action="evaluations.kpi.imported").count() == 1


def test_kpi_import_reads_fraction_columns_from_excel(agents):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["工号", "接听量", "满意率", "质检得分", "一次解决率"])
    sheet.append(["2001", 600, 0.9, 80, 0.7])
    sheet.append([2002, 1200, 0.95, 100, 1])
    buffer = io.BytesIO()
    workbook.save(buffer)

    kpi_import = preview_kpi_import(
        data=buffer.getvalue(), filename="kpi.xlsx", month=MAY, actor=None
    )
    confirm_kpi_import(kpi_import, actor=None)

    got = dict(KpiRecord.objects.values_list("staff_member__employee_no", "satisfaction_rate"))
    assert got == {"2001": Decimal("90.00"), "2002": Decimal("95.00")}


def test_kpi_import_bad_rows(agents):
    text = HEADER_EN + (
        "2001,600,90,80,70\n"
        "9999,600,90,80,70\n"
        "2002,-5,90,80,70\n"
        "2002,12.5,190,80,=1+1\n"
        "2001,600,90,80,70\n"
        ",,,,\n"
    )

    kpi_import = preview(text)

    assert (kpi_import.row_count, kpi_import.error_count) == (5, 4)
    assert [error["line"] for error in kpi_import.errors] == [3, 4, 5, 6]
    assert kpi_import.errors[0]["messages"] == ["Unknown employee number “9999”."]
    assert len(kpi_import.errors[2]["messages"]) == 3
    assert kpi_import.errors[3]["messages"] == ["This employee number appears twice in the file."]
    with pytest.raises(MeasurementError) as refused:
        confirm_kpi_import(kpi_import, actor=None)
    assert refused.value.code == "has_errors"
    assert KpiRecord.objects.count() == 0

    confirm_kpi_import(kpi_import, actor=None, skip_bad=True)

    assert list(KpiRecord.objects.values_list("staff_member__employee_no", flat=True)) == ["2001"]


@pytest.mark.parametrize(
    ("data", "filename", "code"),
    [
        (b"employee_no,calls_handled\n2001,5\n", "kpi.csv", "missing_columns"),
        (HEADER_EN.encode(), "kpi.csv", "no_rows"),
        (b"\xff\xfe\x00\x00bad", "kpi.csv", "bad_encoding"),
        (b"PK\x03\x04garbage", "kpi.xlsx", "bad_file"),
        (b"\xd0\xcf\x11\xe0legacy", "kpi.xls", "bad_file"),
        (b"anything", "kpi.xlsm", "macros"),
        (
            ("工号,工号,接听量,满意率,质检得分,一次解决率\n").encode(),
            "kpi.csv",
            "duplicate_columns",
        ),
    ],
)
def test_kpi_import_refuses_unreadable_file(agents, data, filename, code):
    with pytest.raises(KpiImportError) as refused:
        preview_kpi_import(data=data, filename=filename, month=MAY, actor=None)

    assert refused.value.code == code
    assert KpiImport.objects.count() == 0


def test_kpi_import_refuses_zip_bomb(agents):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<x/>")
        archive.writestr("xl/worksheets/sheet1.xml", "0" * (60 * 1024 * 1024))

    with pytest.raises(KpiImportError) as refused:
        preview_kpi_import(data=buffer.getvalue(), filename="kpi.xlsx", month=MAY, actor=None)

    assert refused.value.code == "unpacked_too_large"


def test_kpi_import_refuses_too_many_rows(agents, settings):
    settings.EVALUATIONS_KPI_MAX_ROWS = 2

    with pytest.raises(KpiImportError) as refused:
        preview(HEADER_EN + "2001,1,1,1,1\n" * 3)

    assert refused.value.code == "too_many_rows"


def test_kpi_import_second_confirm_refused(agents):
    kpi_import = preview(HEADER_EN + "2001,600,90,80,70\n")
    confirm_kpi_import(kpi_import, actor=None)

    with pytest.raises(ImportAlreadyHandledError):
        confirm_kpi_import(kpi_import, actor=None)
    with pytest.raises(ImportAlreadyHandledError):
        discard_kpi_import(kpi_import, actor=None)
    assert KpiRecord.objects.count() == 1


def test_kpi_reimport_replaces_month(agents):
    confirm_kpi_import(preview(HEADER_EN + "2001,600,90,80,70\n"), actor=None)

    confirm_kpi_import(preview(HEADER_EN + "2001,1200,90,80,70\n"), actor=None)

    assert list(KpiRecord.objects.values_list("calls_handled", "score")) == [
        (1200, Decimal("86.50"))
    ]


def test_set_kpi_formula_rescores_position(agents):
    confirm_kpi_import(preview(HEADER_EN + "2001,600,90,80,70\n"), actor=None)
    formula = KpiFormula(
        position=agents[0].position,
        calls_target=600,
        weight_calls=Decimal("0.5"),
        weight_satisfaction=Decimal("0.5"),
        weight_quality=0,
        weight_resolution=0,
    )

    changed = set_kpi_formula(formula, actor=None)

    assert changed == 1
    assert KpiRecord.objects.get().score == Decimal("95.00")
    assert AuditEvent.objects.filter(action="evaluations.kpi_formula.changed").count() == 1


def test_set_kpi_formula_refuses_weights_not_adding_to_one(agents):
    formula = KpiFormula(position=agents[0].position, weight_calls=Decimal("0.9"))

    with pytest.raises(MeasurementError) as refused:
        set_kpi_formula(formula, actor=None)

    assert refused.value.code == "bad_weights"
    assert KpiFormula.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections")
def test_kpi_import_concurrent_confirms_import_once(agents):
    kpi_import = preview(HEADER_EN + "2001,600,90,80,70\n")
    barrier = threading.Barrier(2)
    outcomes = []

    def worker():
        try:
            barrier.wait()
            confirm_kpi_import(KpiImport.objects.get(pk=kpi_import.pk), actor=None)
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["already_imported", "ok"]
    assert AuditEvent.objects.filter(action="evaluations.kpi.imported").count() == 1
