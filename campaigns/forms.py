"""Forms of the campaigns app: the public pages' search form (it validates the shape of
query parameters only) and the fields the admin's stage form edits its JSON rules with."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.renderers import get_default_renderer
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.choices import ComponentKey
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


# The stage's rules in the admin ---------------------------------------------------------
# ``Stage.weights``, ``position_quotas`` and ``tie_break_order`` are JSON; an HR admin types
# percentages, places per position and picks tie-breaks from lists instead. Each field below
# is a MultiValueField named like the model field, so the ModelForm saves, compares and
# reports errors on it as on any other field; ``compress`` builds the JSON the services take.

TIE_BREAK_SLOTS = 5
PERCENT_PLACES = 2  # percentages to 2 decimals: 33.33 → "0.3333"; the sum must be 100 exactly
HUNDRED = Decimal(100)


def _plain(number: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 60.00 → "60", 0.3330 → "0.333"."""
    return format(number.normalize(), "f")


def format_percent(weight: Any) -> str:
    """A stored weight as a percentage: "0.6" → "60", "0.3333" → "33.33"."""
    try:
        return _plain(Decimal(str(weight)) * HUNDRED)
    except InvalidOperation:
        return str(weight)


class LabelledInputsWidget(forms.MultiWidget):
    """Sub-inputs side by side, each with its own label, in a labelled group.

    Rendered with ``admin/campaigns/widgets/labelled_inputs.html`` from the project
    templates; each sub-input keeps Django's own template (rendered by the form's renderer).
    """

    template_name = "admin/campaigns/widgets/labelled_inputs.html"

    def __init__(
        self,
        widgets: dict[str, forms.Widget],
        labels: list[Any],
        *,
        group_label: Any = "",
        css_class: str = "",
    ) -> None:
        super().__init__(widgets)
        self.labels = labels
        self.group_label = group_label
        self.css_class = css_class

    def render(self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None) -> str:
        renderer = renderer or get_default_renderer()
        subwidgets = self.get_context(name, value, attrs)["widget"]["subwidgets"]
        items = [
            {
                "label": label,
                "id": sub["attrs"].get("id", ""),
                # Django's own autoescaped widget template (the renderer strips the
                # SafeString it renders to, hence mark_safe).
                "html": mark_safe(renderer.render(sub["template_name"], {"widget": sub})),  # noqa: S308
            }
            for label, sub in zip(self.labels, subwidgets, strict=True)
        ]
        context = {
            "items": items,
            "group_label": self.group_label,
            "css_class": self.css_class,
        }
        return render_to_string(self.template_name, context)


class _RulesField(forms.MultiValueField):
    """A rule edited as several inputs. Changed only if the JSON it builds differs."""

    empty_value: Any = None

    def __init__(self, fields: list[forms.Field], widget: forms.MultiWidget, **kwargs: Any):
        super().__init__(fields, widget=widget, require_all_fields=False, required=False, **kwargs)

    def comparable(self, value: Any) -> Any:
        return value

    def has_changed(self, initial: Any, data: Any) -> bool:
        if self.disabled:
            return False
        try:
            value = self.clean(data)
        except ValidationError:
            return True
        return self.comparable(value) != self.comparable(
            self.empty_value if initial is None else initial
        )


class WeightsWidget(LabelledInputsWidget):
    def decompress(self, value: Any) -> list[str]:
        value = value if isinstance(value, dict) else {}
        return [format_percent(value[key]) if key in value else "" for key in ComponentKey.values]


class WeightsField(_RulesField):
    """One percentage per score component (blank = 0), adding up to exactly 100.

    Cleans to ``{component_key: "0.6"}``, zero weights left out, as ``parse_weights`` wants.
    """

    empty_value: Any = {}

    def __init__(self, **kwargs: Any) -> None:
        keys = ComponentKey.values
        fields = [
            forms.DecimalField(
                required=False,
                min_value=0,
                max_value=100,
                max_digits=3 + PERCENT_PLACES,
                decimal_places=PERCENT_PLACES,
            )
            for _key in keys
        ]
        widget = WeightsWidget(
            {
                key: forms.NumberInput(
                    attrs={"min": "0", "max": "100", "step": "0.01", "class": "rules-number"}
                )
                for key in keys
            },
            [format_lazy("{} %", ComponentKey(key).label) for key in keys],
            group_label=kwargs.get("label", ""),
            css_class="rules-weights",
        )
        super().__init__(fields, widget, **kwargs)

    def compress(self, data_list: list[Any]) -> dict[str, str]:
        percents = dict(zip(ComponentKey.values, data_list or [], strict=False))
        total = sum((p for p in percents.values() if p is not None), Decimal(0))
        if total != HUNDRED:
            raise ValidationError(
                gettext("The percentages add up to %(total)s; they must add up to exactly 100.")
                % {"total": _plain(total)},
                code="weights_sum",
            )
        return {key: _plain(p.scaleb(-2)) for key, p in percents.items() if p}

    def comparable(self, value: Any) -> Any:
        try:
            return {key: Decimal(str(w)) for key, w in (value or {}).items() if Decimal(str(w))}
        except (InvalidOperation, AttributeError):
            return value


class PositionQuotasWidget(LabelledInputsWidget):
    def __init__(self, codes: list[str], labels: list[Any], **kwargs: Any) -> None:
        self.codes = codes
        widgets = {
            code: forms.NumberInput(attrs={"min": "0", "step": "1", "class": "rules-number"})
            for code in codes
        }
        super().__init__(widgets, labels, **kwargs)

    def decompress(self, value: Any) -> list[Any]:
        value = value if isinstance(value, dict) else {}
        return [value.get(code, "") for code in self.codes]


class PositionQuotasField(_RulesField):
    """Places per position (blank = none); all blank = one ranking for everyone.

    Cleans to ``{position_code: n}`` without zeros; that they add up to the stage quota is
    checked with the other rules (``validate_position_quotas``, through ``Stage.clean``).
    """

    empty_value: Any = {}

    def __init__(self, positions: list[tuple[str, Any]], **kwargs: Any) -> None:
        self.codes = [code for code, _label in positions]
        fields = [forms.IntegerField(required=False, min_value=0) for _code in self.codes]
        widget = PositionQuotasWidget(
            self.codes,
            [label for _code, label in positions],
            group_label=kwargs.get("label", ""),
            css_class="rules-position-quotas",
        )
        super().__init__(fields, widget, **kwargs)

    def compress(self, data_list: list[Any]) -> dict[str, int]:
        return {code: n for code, n in zip(self.codes, data_list or [], strict=False) if n}


class TieBreakWidget(LabelledInputsWidget):
    def decompress(self, value: Any) -> list[str]:
        order = list(value) if isinstance(value, (list, tuple)) else []
        return [*order[:TIE_BREAK_SLOTS], *[""] * (TIE_BREAK_SLOTS - len(order))]


TIE_BREAK_LABELS = [
    _("1st tie-break"),
    _("2nd tie-break"),
    _("3rd tie-break"),
    _("4th tie-break"),
    _("5th tie-break"),
]


class TieBreakOrderField(_RulesField):
    """Up to five components compared in order between equal totals; blanks are skipped."""

    empty_value: Any = []

    def __init__(self, **kwargs: Any) -> None:
        choices = [("", "—"), *ComponentKey.choices]
        fields = [forms.ChoiceField(required=False, choices=choices) for _i in TIE_BREAK_LABELS]
        widget = TieBreakWidget(
            {str(i): forms.Select(choices=choices) for i in range(1, TIE_BREAK_SLOTS + 1)},
            TIE_BREAK_LABELS,
            group_label=kwargs.get("label", ""),
            css_class="rules-tie-break",
        )
        super().__init__(fields, widget, **kwargs)

    def compress(self, data_list: list[Any]) -> list[str]:
        order = [key for key in data_list or [] if key]
        if len(set(order)) != len(order):
            raise ValidationError(
                gettext("A component appears twice in the tie-break order."),
                code="tie_break_repeat",
            )
        return order

    def comparable(self, value: Any) -> Any:
        return list(value or [])
