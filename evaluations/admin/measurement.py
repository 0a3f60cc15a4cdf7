"""The HR admin of service measurement.

Ledgers (transactions, invitations, ratings, opt-outs, inspections) are read-only here.
Writes with business meaning go through the services: a new API key is created by
``create_api_key`` and shown once on the page that answers the add form (never stored in
clear, not even in the session); KPI formulas and grade weights are saved through their
services (audited); revoking keys asks for a reason. Phones appear masked only.
"""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.exports import table_to_csv, table_to_xlsx
from evaluations.measurement import admin_views
from evaluations.measurement.apikeys import create_api_key
from evaluations.measurement.exports import (
    staff_months_table,
    store_scores_table,
    unit_months_table,
)
from evaluations.measurement.grades import set_grade_weights
from evaluations.measurement.kpi import set_kpi_formula
from evaluations.models import (
    ChecklistItem,
    EvaluationStageRule,
    Inspection,
    InspectionMark,
    KpiFormula,
    KpiImport,
    KpiRecord,
    Rating,
    RatingInvitation,
    RatingOptOut,
    ServiceTransaction,
    StaffMonth,
    StoreGradeWeights,
    StoreMonthScore,
    TransactionApiKey,
    UnitMonth,
)
from staff.admin_paging import BigTableAdminMixin, RecentValuesFilter
from staff.exceptions import DomainError


def _download(table, fmt: str, name: str) -> HttpResponse:
    if fmt == "xlsx":
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        response = HttpResponse(table_to_xlsx(table), content_type=content_type)
    else:
        response = HttpResponse(table_to_csv(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledgers and derived data: viewable, never added, changed or deleted by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TransactionApiKey)
class TransactionApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "system", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("system", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "system", "prefix")
    readonly_fields = ("prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    fields = ("name", "system", *readonly_fields)
    actions = ["revoke_keys"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: TransactionApiKey, form, change) -> None:
        api_key, raw_key = create_api_key(name=obj.name, system=obj.system, actor=request.user)
        obj.pk, obj._raw_key = api_key.pk, raw_key

    def response_add(self, request: HttpRequest, obj: TransactionApiKey, post_url_continue=None):
        """Show the key once, on this response only."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("New API key"),
            "api_key": TransactionApiKey.objects.get(pk=obj.pk),
            "raw_key": obj._raw_key,
        }
        return TemplateResponse(request, "evaluations/measurement/admin/new_key.html", context)

    @admin.action(description=gettext_lazy("Revoke the selected keys…"))
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return admin_views.revoke_keys_view(request, queryset, model_admin=self)


@admin.register(ServiceTransaction)
class ServiceTransactionAdmin(BigTableAdminMixin, ReadOnlyAdmin):
    list_display = (
        "external_id",
        "system",
        "staff_member",
        "unit",
        "channel",
        "phone_masked",
        "served_at",
        "received_at",
    )
    list_filter = (
        ("system", RecentValuesFilter),
        "channel",
        ("served_at", admin.DateFieldListFilter),
    )
    search_fields = ("external_id", "staff_member__employee_no", "staff_member__name")
    list_select_related = ("staff_member", "unit")
    # Newest received first: ids grow with received_at, and the primary key's index pages
    # the list without sorting the ledger (served_at, the model's order, has no index).
    ordering = ("-id",)
    exclude = ("phone_hash",)


@admin.register(RatingInvitation)
class RatingInvitationAdmin(BigTableAdminMixin, ReadOnlyAdmin):
    list_display = (
        "service_transaction",
        "staff_member",
        "phone_masked",
        "status",
        "skip_reason",
        "due_at",
        "sent_at",
    )
    list_filter = ("status", "skip_reason")
    search_fields = ("staff_member__employee_no", "service_transaction__external_id")
    list_select_related = ("staff_member", "service_transaction")
    # Ids grow with created_at: the primary key's index pages the list newest first.
    ordering = ("-id",)
    exclude = ("phone_hash", "phone_e164")


@admin.register(Rating)
class RatingAdmin(BigTableAdminMixin, ReadOnlyAdmin):
    list_display = ("rated_at", "staff_member", "unit", "score", "comment")
    list_filter = (("score", RecentValuesFilter), ("rated_at", admin.DateFieldListFilter))
    search_fields = ("staff_member__employee_no", "staff_member__name")
    list_select_related = ("staff_member", "unit")
    # The model's order (-rated_at, -id) walks the rating_rated_staff index backwards.
    exclude = ("phone_hash",)


@admin.register(RatingOptOut)
class RatingOptOutAdmin(ReadOnlyAdmin):
    list_display = ("phone_masked", "created_at")
    exclude = ("phone_hash",)


@admin.register(KpiFormula)
class KpiFormulaAdmin(admin.ModelAdmin):
    list_display = (
        "position",
        "calls_target",
        "weight_calls",
        "weight_satisfaction",
        "weight_quality",
        "weight_resolution",
        "updated_at",
    )
    list_select_related = ("position",)

    def save_model(self, request: HttpRequest, obj: KpiFormula, form, change) -> None:
        try:
            changed = set_kpi_formula(obj, actor=request.user)
        except DomainError as exc:
            self.message_user(request, str(exc.message), level=messages.ERROR)
        else:
            self.message_user(request, _("%(count)s KPI scores recomputed.") % {"count": changed})


@admin.register(KpiImport)
class KpiImportAdmin(ReadOnlyAdmin):
    list_display = (
        "file_name",
        "month",
        "status",
        "row_count",
        "error_count",
        "created_by",
        "created_at",
    )
    list_filter = ("status", "month")
    list_select_related = ("created_by",)


@admin.register(KpiRecord)
class KpiRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "month",
        "staff_member",
        "calls_handled",
        "satisfaction_rate",
        "quality_score",
        "first_call_resolution",
        "score",
    )
    list_filter = ("month",)
    search_fields = ("staff_member__employee_no", "staff_member__name")
    list_select_related = ("staff_member",)
    change_list_template = "evaluations/measurement/admin/kpi_changelist.html"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "import/",
                view(lambda r: admin_views.kpi_upload_view(r, model_admin=self)),
                name="evaluations_kpirecord_import",
            ),
            path(
                "import/<int:pk>/",
                view(lambda r, pk: admin_views.kpi_preview_view(r, pk, model_admin=self)),
                name="evaluations_kpirecord_import_preview",
            ),
            *super().get_urls(),
        ]


@admin.register(ChecklistItem)
class ChecklistItemAdmin(admin.ModelAdmin):
    list_display = ("label", "code", "kind", "points", "sort_order", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("label", "code")


class InspectionMarkInline(admin.TabularInline):
    model = InspectionMark
    fields = ("item", "is_ticked", "points")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Inspection)
class InspectionAdmin(ReadOnlyAdmin):
    list_display = (
        "visited_at",
        "store",
        "kind",
        "score",
        "is_vetoed",
        "version",
        "is_current",
        "inspector",
    )
    list_filter = ("kind", "is_current", "is_vetoed")
    search_fields = ("store__code", "store__name", "inspector__username")
    list_select_related = ("store", "inspector")
    date_hierarchy = "visited_at"
    inlines = [InspectionMarkInline]


class _MonthAdmin(ReadOnlyAdmin):
    """Rollups: rankings by shrunk mean with the raw mean beside, exports and charts."""

    list_filter = ("month",)
    actions = ["export_csv", "export_xlsx"]
    change_list_template = "evaluations/measurement/admin/month_changelist.html"
    ordering = ("-month", "-shrunk_mean")

    @admin.display(description=gettext_lazy("share of 9-10"), ordering="top_box_count")
    def top_share(self, obj) -> str:
        return f"{obj.top_box_count / obj.rating_count:.1%}" if obj.rating_count else "-"

    @admin.display(description=gettext_lazy("response rate"))
    def response_rate(self, obj) -> str:
        return f"{obj.rating_count / obj.invitations_sent:.1%}" if obj.invitations_sent else "-"

    def get_urls(self):
        name = f"{self.model._meta.app_label}_{self.model._meta.model_name}_charts"
        charts = self.admin_site.admin_view(lambda r: admin_views.charts_view(r, model_admin=self))
        return [path("charts/", charts, name=name), *super().get_urls()]

    def _export(self, queryset: QuerySet, fmt: str) -> HttpResponse:
        raise NotImplementedError

    @admin.action(description=gettext_lazy("Export the selection to CSV"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return self._export(queryset, "csv")

    @admin.action(description=gettext_lazy("Export the selection to XLSX"))
    def export_xlsx(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return self._export(queryset, "xlsx")


@admin.register(StaffMonth)
class StaffMonthAdmin(_MonthAdmin):
    list_display = (
        "month",
        "staff_member",
        "position",
        "unit",
        "branch",
        "rating_count",
        "shrunk_mean",
        "mean",
        "top_share",
        "response_rate",
        "kpi_score",
        "inspection_score",
    )
    list_filter = ("month", "position", "branch")
    search_fields = ("staff_member__employee_no", "staff_member__name")
    list_select_related = ("staff_member", "position", "unit", "branch")

    def _export(self, queryset: QuerySet, fmt: str) -> HttpResponse:
        rows = queryset.select_related(*self.list_select_related).order_by("-month", "-shrunk_mean")
        return _download(staff_months_table(rows), fmt, "staff-months")


@admin.register(UnitMonth)
class UnitMonthAdmin(_MonthAdmin):
    list_display = (
        "month",
        "unit",
        "level",
        "rating_count",
        "shrunk_mean",
        "mean",
        "top_share",
        "kpi_score",
        "inspection_score",
    )
    list_filter = ("month", "level")
    search_fields = ("unit__code", "unit__name")
    list_select_related = ("unit",)

    def _export(self, queryset: QuerySet, fmt: str) -> HttpResponse:
        rows = queryset.select_related("unit").order_by("-month", "-shrunk_mean")
        return _download(unit_months_table(rows), fmt, "unit-months")


@admin.register(StoreMonthScore)
class StoreMonthScoreAdmin(ReadOnlyAdmin):
    list_display = (
        "month",
        "store_link",
        "composite",
        "rank",
        "store_count",
        "grade",
        "previous_grade",
        "satisfaction",
        "inspection",
        "complaints",
        "kpi",
    )
    list_filter = ("month", "grade", "previous_grade")
    search_fields = ("store__code", "store__name")
    list_select_related = ("store",)
    actions = ["export_csv", "export_xlsx"]

    @admin.display(description=gettext_lazy("store"), ordering="store__code")
    def store_link(self, obj: StoreMonthScore) -> str:
        url = reverse("admin:evaluations_storemonthscore_timeline", args=[obj.store_id])
        return format_html('<a href="{}">{}</a>', url, obj.store.name)

    def get_urls(self):
        timeline = self.admin_site.admin_view(
            lambda r, store_id: admin_views.store_timeline_view(r, store_id, model_admin=self)
        )
        return [
            path("store/<int:store_id>/", timeline, name="evaluations_storemonthscore_timeline"),
            *super().get_urls(),
        ]

    @admin.action(description=gettext_lazy("Export the selection to CSV"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return _download(store_scores_table(queryset.select_related("store")), "csv", "stores")

    @admin.action(description=gettext_lazy("Export the selection to XLSX"))
    def export_xlsx(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return _download(store_scores_table(queryset.select_related("store")), "xlsx", "stores")


@admin.register(StoreGradeWeights)
class StoreGradeWeightsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "satisfaction", "inspection", "complaints", "kpi")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the one row comes with migration 0002

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: StoreGradeWeights, form, change) -> None:
        try:
            set_grade_weights(obj, actor=request.user)
        except DomainError as exc:
            self.message_user(request, str(exc.message), level=messages.ERROR)


@admin.register(EvaluationStageRule)
class EvaluationStageRuleAdmin(admin.ModelAdmin):
    list_display = ("stage", "min_ratings")
    raw_id_fields = ("stage",)
