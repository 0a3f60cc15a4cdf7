"""The HR admin's staff import pages: upload a file, look at the preview, confirm or discard.

Plain view functions wired by ``StaffMemberAdmin.get_urls`` (wrapped in
``admin_site.admin_view`` there). They only turn requests into calls of
``staff.importing.services`` and results into pages; every rule lives in that module. Also
registers the read-only ``StaffImport`` admin (history of uploads).
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from staff.admin_pages import admin_page_context
from staff.choices import StaffImportStatus
from staff.exceptions import DomainError, StaffImportError
from staff.importing.services import (
    confirm_staff_import,
    discard_staff_import,
    plan_staff_import,
    preview_staff_import,
)
from staff.models import StaffImport

# Valid rows shown on the preview page; the counts cover the rest.
PREVIEW_SAMPLE_SIZE = 20
IMPORT_PERMISSIONS = ("staff.add_staffmember", "staff.change_staffmember")


class StaffImportUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Staff file"),
        help_text=gettext_lazy(
            "CSV (UTF-8 or GB18030) or .xlsx with the columns 工号, 姓名, 单位编码, 岗位, 手机 "
            "and optionally 入职日期, 简介, 视频链接 (English headers work too)."
        ),
    )
    skip_bad = forms.BooleanField(
        label=gettext_lazy("Skip bad rows"),
        required=False,
        help_text=gettext_lazy("Import the good rows even if some rows have errors."),
    )


def _check_permission(request: HttpRequest) -> None:
    if not request.user.has_perms(IMPORT_PERMISSIONS):
        raise PermissionDenied


def _result_message(result: dict[str, int]) -> str:
    message = _("%(created)s created, %(updated)s updated, %(unchanged)s unchanged.") % result
    if result["skipped"]:
        message += " " + _("%(skipped)s bad rows skipped.") % result
    return message


def staff_import_upload_view(
    request: HttpRequest, *, model_admin: admin.ModelAdmin
) -> HttpResponse:
    """Show the upload form; on POST check the file and redirect to its preview.

    Writes one ``StaffImport`` (the preview) and no staff. A file-level problem (encoding,
    size, columns) is shown on the form.
    """
    _check_permission(request)
    form = StaffImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        # Read at most one byte past the limit: enough for the service to refuse the
        # file, without pulling an oversized upload into memory.
        data = upload.read(settings.STAFF_IMPORT_MAX_BYTES + 1)
        try:
            staff_import = preview_staff_import(
                data=data,
                filename=upload.name,
                actor=request.user,
                skip_bad=form.cleaned_data["skip_bad"],
            )
        except StaffImportError as exc:
            form.add_error("file", str(exc.message))
        else:
            return redirect("admin:staff_staffmember_import_preview", pk=staff_import.pk)
    context = {**admin_page_context(request, model_admin, _("Import staff")), "form": form}
    return TemplateResponse(request, "admin/staff/import_upload.html", context)


def staff_import_preview_view(
    request: HttpRequest, pk: int, *, model_admin: admin.ModelAdmin
) -> HttpResponse:
    """Show a stored preview (counts, every bad row, a sample of good rows); POST confirms
    (``action=confirm``) or discards (``action=discard``) it through the services.

    A refusal (``DomainError``) becomes an error message on the same page, never a 500.
    """
    _check_permission(request)
    staff_import = get_object_or_404(StaffImport, pk=pk)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "confirm":
                done = confirm_staff_import(
                    staff_import, actor=request.user, skip_bad=bool(request.POST.get("skip_bad"))
                )
                messages.success(request, _result_message(done.result))
                return redirect("admin:staff_staffmember_changelist")
            if action == "discard":
                discard_staff_import(staff_import, actor=request.user)
                messages.info(request, _("The import was discarded; nothing was written."))
                return redirect("admin:staff_staffmember_import")
        except DomainError as exc:
            messages.error(request, str(exc.message))
        return HttpResponseRedirect(request.path)

    is_open = staff_import.status == StaffImportStatus.PREVIEWED
    valid_count = staff_import.row_count - staff_import.error_count
    context = {
        **admin_page_context(request, model_admin, _("Staff import preview")),
        "staff_import": staff_import,
        "valid_count": valid_count,
        "sample": staff_import.rows[:PREVIEW_SAMPLE_SIZE],
        "bad_rows": staff_import.errors,
        # The plan is what confirming would do now; it is recomputed at confirm time.
        "plan": plan_staff_import(staff_import.rows) if is_open else None,
        # With bad rows, the page offers to skip them: the stored rows are confirmed as they
        # are, the file is not needed again.
        "can_confirm": is_open and valid_count > 0,
        "asks_to_skip": is_open and staff_import.error_count and not staff_import.skip_bad,
        "is_open": is_open,
    }
    return TemplateResponse(request, "admin/staff/import_preview.html", context)


@admin.register(StaffImport)
class StaffImportAdmin(admin.ModelAdmin):
    """Uploads and what became of them. Read-only: imports change only through the pages."""

    list_display = (
        "file_name",
        "status",
        "row_count",
        "error_count",
        "created_by",
        "created_at",
        "preview_link",
    )
    list_filter = ("status",)
    search_fields = ("file_name",)
    list_select_related = ("created_by",)
    date_hierarchy = "created_at"
    fields = (
        "file_name",
        "status",
        "row_count",
        "error_count",
        "skip_bad",
        "result",
        "created_by",
        "created_at",
        "handled_by",
        "handled_at",
        "preview_link",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[StaffImport]:
        # The stored rows can be megabytes per import; the list never needs them.
        return super().get_queryset(request).defer("rows", "errors")

    @admin.display(description=gettext_lazy("preview"))
    def preview_link(self, obj: StaffImport) -> str:
        url = reverse("admin:staff_staffmember_import_preview", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Open"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StaffImport | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: StaffImport | None = None) -> bool:
        return False
