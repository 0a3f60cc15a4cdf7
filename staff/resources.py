"""Spreadsheet exports of the staff directory (django-import-export resources).

Exports carry the masked phone only, and formula-looking cells are neutralised by
``IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT``. The columns the staff import knows carry the
import's own headers (Chinese or English, as the admin's language), so an exported file
imports back: its masked phones mean "keep the stored number" there, and the extra columns
(branch, unit name, active) are ignored.
"""

from typing import Any

from django.utils.functional import lazy
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources

from staff.choices import UnitKind
from staff.importing.schema import column_by_field
from staff.models import OrgUnit, StaffMember


def _import_header(field: str) -> str:
    column = column_by_field(field)
    return column.chinese if (get_language() or "").startswith("zh") else column.english


# Evaluated when the file is written, in the language of the admin who asked for it.
import_header = lazy(_import_header, str)


class StaffMemberResource(resources.ModelResource):
    employee_no = fields.Field(attribute="employee_no", column_name=import_header("employee_no"))
    vote_code = fields.Field(attribute="vote_code", column_name=import_header("vote_code"))
    name = fields.Field(attribute="name", column_name=import_header("name"))
    branch = fields.Field(column_name=_("branch"))
    unit_code = fields.Field(attribute="unit__code", column_name=import_header("unit_code"))
    unit_name = fields.Field(attribute="unit__name", column_name=_("unit"))
    position = fields.Field(attribute="position__name", column_name=import_header("position"))
    phone = fields.Field(attribute="phone_masked", column_name=import_header("phone"))
    hire_date = fields.Field(attribute="hire_date", column_name=import_header("hire_date"))
    is_active = fields.Field(column_name=_("active"))
    story = fields.Field(attribute="story", column_name=import_header("story"))
    video_url = fields.Field(attribute="video_url", column_name=import_header("video_url"))

    class Meta:
        model = StaffMember
        fields = (
            "employee_no",
            "vote_code",
            "name",
            "branch",
            "unit_code",
            "unit_name",
            "position",
            "phone",
            "hire_date",
            "is_active",
            "story",
            "video_url",
        )
        export_order = fields

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._branch_names: dict[str, str] | None = None

    def _branch_name_for(self, path: str) -> str:
        # Branches are few (tens): one query for all of them instead of one per row.
        if self._branch_names is None:
            self._branch_names = {
                unit.path: unit.name for unit in OrgUnit.objects.filter(kind=UnitKind.BRANCH)
            }
        segments = path.split("/")
        return self._branch_names.get("/".join(segments[:2]) + "/", "")

    def dehydrate_branch(self, member: StaffMember) -> str:
        return self._branch_name_for(member.unit.path)

    def dehydrate_is_active(self, member: StaffMember) -> str:
        return str(_("yes") if member.is_active else _("no"))

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("unit", "position")
