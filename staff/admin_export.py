"""The staff export page's form: columns labelled by the headers the file will carry, and a
real format chosen from the start.

django-import-export labels each column checkbox with its attribute name, title-cased and in
English ("Employee No (工号)"), offers a blank "---" format first, and answers an empty
selection in English. The HR admin sees here the header each column will have in the file
(the staff import's own header, in the admin's language), XLSX preselected, and a translated
error.
"""

from django import forms
from django.utils.translation import gettext_lazy as _
from import_export.formats.base_formats import XLSX
from import_export.forms import SelectableFieldsExportForm
from import_export.resources import ModelResource


class StaffExportForm(SelectableFieldsExportForm):
    # Excel opens an .xlsx file the same way on every Windows locale; a CSV depends on its
    # byte order mark and the system's list separator.
    default_format = XLSX

    def _init_formats(self, formats: list) -> None:
        self.fields["format"].choices = [
            (str(index), file_format().get_title()) for index, file_format in enumerate(formats)
        ]
        default = formats.index(self.default_format) if self.default_format in formats else 0
        self.fields["format"].initial = str(default)

    def _get_field_label(self, resource: ModelResource, field_name: str) -> str:
        field = resource.fields.get(field_name)
        return str(field.column_name) if field is not None else field_name

    def _validate_any_field_selected(self, resource: ModelResource) -> None:
        chosen = set(resource().get_export_order())
        if not any(value for name, value in self.cleaned_data.items() if name in chosen):
            raise forms.ValidationError(_("Tick at least one column to export."), code="no_columns")
