"""The HR admin's staff directory: units, positions, staff members, imports, audit log."""

from functools import partial
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX
from import_export.formats.base_formats import Format as ExportFormat

from staff import (
    admin_lockout,  # noqa: F401 -- registers the admin of locked sign-ins
    services,
)
from staff.admin_export import StaffExportForm
from staff.admin_import import staff_import_preview_view, staff_import_upload_view
from staff.admin_paging import BigTableAdminMixin
from staff.admin_phone_search import PhoneSearchMixin
from staff.audit import ReasonField
from staff.audit_actions import audit_action_choices, audit_action_label, audit_app_labels
from staff.choices import UnitKind
from staff.exceptions import DomainError
from staff.identifiers import is_digits, is_valid_employee_no, normalise_employee_no
from staff.models import AuditEvent, OrgUnit, Position, StaffMember
from staff.phones import parse_phone
from staff.resources import StaffMemberResource


class BranchFilter(admin.SimpleListFilter):
    """Staff of one branch: every unit whose path starts with the branch's path."""

    title = _("branch")
    parameter_name = "branch"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(unit.pk), unit.name) for unit in OrgUnit.objects.branches()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value() or not self.value().isdigit():
            return queryset
        branch = OrgUnit.objects.filter(pk=self.value()).first()
        return queryset.filter(unit__path__startswith=branch.path) if branch else queryset.none()


class UnitFilter(admin.SimpleListFilter):
    """Units of the chosen branch; listing all ~400 units at once would be unusable."""

    title = _("unit")
    parameter_name = "unit"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        branch_id = request.GET.get("branch", "")
        if not branch_id.isdigit():
            return []
        branch = OrgUnit.objects.filter(pk=branch_id).first()
        if branch is None:
            return []
        return [
            (str(unit.pk), unit.name)
            for unit in OrgUnit.objects.subtree_of(branch).exclude(pk=branch.pk)
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() and self.value().isdigit():
            return queryset.filter(unit_id=self.value())
        return queryset


class OrgUnitForm(forms.ModelForm):
    class Meta:
        model = OrgUnit
        fields = ("code", "name", "kind", "parent")


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    form = OrgUnitForm
    list_display = ("code", "name", "kind", "parent", "depth", "staff_count")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)
    list_select_related = ("parent",)
    readonly_fields = ("path", "depth")
    ordering = ("path",)

    def get_readonly_fields(self, request: HttpRequest, obj: OrgUnit | None = None) -> tuple:
        # The code is part of every descendant's path and of import files: fixed once set.
        return (*self.readonly_fields, "code") if obj else self.readonly_fields

    @admin.display(description=_("staff"))
    def staff_count(self, obj: OrgUnit) -> int:
        return obj.staff.count() if obj.kind not in (UnitKind.COMPANY, UnitKind.BRANCH) else 0

    def save_model(self, request: HttpRequest, obj: OrgUnit, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            if change:
                saved = services.update_unit(
                    obj, name=data["name"], kind=data["kind"], parent=data["parent"]
                )
            else:
                saved = services.create_unit(
                    code=data["code"], name=data["name"], kind=data["kind"], parent=data["parent"]
                )
        except DomainError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        obj.pk = saved.pk

    def response_add(self, request: HttpRequest, obj: OrgUnit, post_url_continue: Any = None):
        if obj.pk is None:
            return self.response_post_save_add(request, obj)
        return super().response_add(request, obj, post_url_continue)


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "sort_order", "is_active")
    list_editable = ("sort_order",)
    list_filter = ("is_active",)
    search_fields = ("name", "code")


class StaffMemberForm(forms.ModelForm):
    """Staff form with a write-only phone field: the stored number is never shown."""

    phone = forms.CharField(
        label=_("phone"),
        required=False,
        max_length=32,
        help_text=_("Enter a new mobile number to change it. The stored number is never shown."),
    )
    video_url = forms.URLField(
        label=_("video link"), required=False, max_length=200, assume_scheme="https"
    )
    status_reason = ReasonField(
        label=_("reason for the change of status"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("Recorded in the audit log when you deactivate or reactivate this person."),
    )

    class Meta:
        model = StaffMember
        fields = (
            "employee_no",
            "name",
            "unit",
            "position",
            "phone",
            "hire_date",
            "is_active",
            "photo",
            "story",
            "video_url",
        )

    def clean_employee_no(self) -> str:
        value = normalise_employee_no(self.cleaned_data["employee_no"])
        if not is_valid_employee_no(value):
            raise forms.ValidationError(
                gettext(
                    "Employee numbers have 1 to 16 letters, digits or hyphens and start "
                    "with a letter or digit."
                )
            )
        if is_digits(value):
            # A digit employee number becomes its holder's vote code: it must be free.
            holder = (
                StaffMember.objects.filter(vote_code=value)
                .exclude(pk=self.instance.pk)
                .values_list("employee_no", flat=True)
                .first()
            )
            if holder is not None:
                raise forms.ValidationError(
                    gettext("%(value)s is already the vote code of staff member %(holder)s.")
                    % {"value": value, "holder": holder}
                )
        return value

    def clean_phone(self) -> Any:
        raw = self.cleaned_data.get("phone", "")
        if not raw:
            if self.instance.pk is None:
                raise forms.ValidationError(gettext("A phone number is required."))
            return None
        try:
            return parse_phone(raw)
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean_photo(self) -> Any:
        photo = self.cleaned_data.get("photo")
        if photo and "photo" in self.changed_data:
            try:
                services.validate_photo(photo)
            except DomainError as exc:
                raise forms.ValidationError(exc.message) from exc
        return photo


@admin.register(StaffMember)
class StaffMemberAdmin(PhoneSearchMixin, ExportMixin, admin.ModelAdmin):
    form = StaffMemberForm
    resource_classes = [StaffMemberResource]
    export_form_class = StaffExportForm
    export_template_name = "admin/staff/staffmember/export.html"
    # CSV with a byte order mark: Excel on Chinese Windows otherwise reads it as GBK.
    to_encoding = "utf-8-sig"
    change_list_template = "admin/staff/staffmember/change_list.html"
    list_display = (
        "avatar",
        "employee_no",
        "vote_code",
        "name",
        "unit",
        "position",
        "phone_masked",
        "hire_date",
        "is_active",
    )
    list_display_links = ("employee_no", "name")
    list_filter = (BranchFilter, UnitFilter, "position", "unit__kind", "is_active")
    search_fields = ("=employee_no", "=vote_code", "name", "unit__name")
    autocomplete_fields = ("unit",)
    list_select_related = ("unit", "position")
    readonly_fields = ("vote_code", "phone_masked", "avatar", "created_at", "updated_at")
    list_per_page = 50
    actions = ("deactivate_selected", "activate_selected")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "employee_no",
                    "vote_code",
                    "name",
                    "unit",
                    "position",
                    "is_active",
                    "status_reason",
                )
            },
        ),
        (_("Contact"), {"fields": ("phone_masked", "phone")}),
        (_("Profile"), {"fields": ("avatar", "photo", "story", "video_url", "hire_date")}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )

    def get_export_formats(self) -> list:
        return [CSV, XLSX]

    def get_export_filename(
        self, request: HttpRequest, queryset: QuerySet, file_format: ExportFormat
    ) -> str:
        today = timezone.localdate().isoformat()
        return f"staff-{today}.{file_format.get_extension()}"

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        # Employee numbers are exact codes: an exact hit is what an admin wants first.
        return super().get_search_results(request, queryset, search_term.strip())

    @admin.display(description=_("photo"))
    def avatar(self, obj: StaffMember) -> str:
        if obj.thumbnail:
            return format_html(
                '<img class="staff-thumb" src="{}" alt="{}" width="40" height="40">',
                obj.thumbnail.url,
                obj.name,
            )
        return format_html(
            '<span class="staff-avatar" aria-hidden="true">{}</span>', (obj.name or "?")[:1]
        )

    def save_model(self, request: HttpRequest, obj: StaffMember, form: Any, change: bool) -> None:
        # The admin runs this inside its transaction: the vote code is decided under the
        # vote-code lock, and a change of status goes through the same audited service as
        # the list actions.
        new_status = obj.is_active
        status_changed = change and "is_active" in form.changed_data
        if status_changed:
            obj.is_active = form.initial["is_active"]
        obj.vote_code = services.vote_code_for(obj.employee_no, current=obj.vote_code)
        phone = form.cleaned_data.get("phone")
        if phone is not None:
            obj.phone_hash, obj.phone_masked = phone.hash, phone.masked
        photo_changed = "photo" in form.changed_data and form.cleaned_data.get("photo")
        if photo_changed:
            upload = form.cleaned_data["photo"]
            obj.photo = StaffMember._meta.get_field("photo").get_default()
        super().save_model(request, obj, form, change)
        if status_changed:
            services.set_staff_active(
                obj,
                is_active=new_status,
                actor=request.user,
                reason=form.cleaned_data.get("status_reason", ""),
            )
            obj.is_active = new_status
        if photo_changed:
            services.set_staff_photo(obj, upload=upload)

    def get_urls(self) -> list:
        extra = [
            path(
                "import/",
                self.admin_site.admin_view(partial(staff_import_upload_view, model_admin=self)),
                name="staff_staffmember_import",
            ),
            path(
                "import/<int:pk>/",
                self.admin_site.admin_view(partial(staff_import_preview_view, model_admin=self)),
                name="staff_staffmember_import_preview",
            ),
        ]
        return extra + super().get_urls()

    def _set_active(self, request: HttpRequest, queryset: QuerySet, *, is_active: bool) -> int:
        changed = 0
        for member in queryset:
            if member.is_active != is_active:
                services.set_staff_active(member, is_active=is_active, actor=request.user)
                changed += 1
        return changed

    @admin.action(description=_("Deactivate selected staff"), permissions=["change"])
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        changed = self._set_active(request, queryset, is_active=False)
        self.message_user(request, gettext("%(n)d staff deactivated.") % {"n": changed})

    @admin.action(description=_("Reactivate selected staff"), permissions=["change"])
    def activate_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        changed = self._set_active(request, queryset, is_active=True)
        self.message_user(request, gettext("%(n)d staff reactivated.") % {"n": changed})


class AuditActionFilter(admin.SimpleListFilter):
    """Actions by their translated names, from the apps' registered choices."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return audit_action_choices()

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(action=self.value()) if self.value() else queryset


class AuditTargetTypeFilter(admin.SimpleListFilter):
    """The product's own kinds of object (staff, campaigns, voting, evaluations models);
    Django's own (users, sessions, sign-in attempts) are never audit targets here."""

    title = _("object type")
    parameter_name = "target_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        types = ContentType.objects.filter(app_label__in=audit_app_labels())
        named = [(str(t.pk), _type_name(t)) for t in types if t.model_class() is not None]
        return sorted(named, key=lambda item: item[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(target_type_id=value)
        return queryset


def _type_name(content_type: ContentType) -> str:
    model = content_type.model_class()
    app = apps.get_app_config(content_type.app_label).verbose_name
    return f"{app} · {capfirst(model._meta.verbose_name)}" if model else content_type.model


@admin.register(AuditEvent)
class AuditEventAdmin(BigTableAdminMixin, admin.ModelAdmin):
    """The audit log: readable and filterable, never editable."""

    list_display = (
        "occurred_at",
        "actor_label",
        "action_name",
        "target_type_name",
        "target_label",
        "reason",
    )
    list_filter = (
        AuditActionFilter,
        AuditTargetTypeFilter,
        ("occurred_at", admin.DateFieldListFilter),
    )
    search_fields = ("actor_label", "target_label", "target_id", "reason", "action")
    list_select_related = ("target_type",)
    # Ids grow with occurred_at: the primary key's index pages the log newest first.
    ordering = ("-id",)
    readonly_fields = (
        "occurred_at",
        "actor",
        "actor_label",
        "action_name",
        "target_type_name",
        "target_id",
        "target_label",
        "campaign_id",
        "reason",
        "data",
    )
    fields = readonly_fields

    @admin.display(description=_("action"), ordering="action")
    def action_name(self, obj: AuditEvent) -> str:
        return audit_action_label(obj.action)

    @admin.display(description=_("object type"), ordering="target_type")
    def target_type_name(self, obj: AuditEvent) -> str:
        return _type_name(obj.target_type) if obj.target_type_id else "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
