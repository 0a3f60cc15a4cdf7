"""Forms of the public campaign pages: they validate the shape of query parameters only."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from staff.models import OrgUnit, Position


class ContestantSearchForm(forms.Form):
    """The GET form above a stage's contestants: search text, branch and position.

    Branch and position are codes; their choices are the branches and active positions of
    the directory (two queries). An unknown value is a form error, never a 500.
    """

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=64,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Name, employee number or unit"),
                "enterkeyhint": "search",
            }
        ),
    )
    branch = forms.ChoiceField(label=_("Branch"), required=False)
    position = forms.ChoiceField(label=_("Position"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].choices = [
            ("", _("All branches")),
            *OrgUnit.objects.branches().order_by("code").values_list("code", "name"),
        ]
        self.fields["position"].choices = [
            ("", _("All positions")),
            *Position.objects.filter(is_active=True).values_list("code", "name"),
        ]

    def filters(self) -> dict[str, str]:
        """The valid filters, for ``contestants_for_stage``; invalid fields are left out."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {
            name: cleaned[name]
            for name in ("q", "branch", "position")
            if cleaned.get(name) and name not in self.errors
        }
