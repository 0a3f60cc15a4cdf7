"""The inspector's phone-sized visit form: shape only; scoring lives in ``inspections``."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from evaluations.measurement.choices import ChecklistItemKind, InspectionKind
from evaluations.models import ChecklistItem
from staff.choices import UnitKind
from staff.models import OrgUnit

MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 8 * 1024 * 1024


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.ImageField):
    """Several photos from one ``<input multiple>``; each must be a real image."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultiplePhotoInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if len(files) > MAX_PHOTOS:
            raise ValidationError(_("At most %(count)s photos.") % {"count": MAX_PHOTOS})
        cleaned = []
        for upload in files:
            if upload.size > MAX_PHOTO_BYTES:
                raise ValidationError(_("Each photo must be smaller than 8 MB."))
            try:
                Image.open(upload).verify()
            except (UnidentifiedImageError, OSError, SyntaxError) as exc:
                raise ValidationError(_("This file is not a photo.")) from exc
            upload.seek(0)
            cleaned.append(upload)
        return cleaned


class InspectionForm(forms.Form):
    store = forms.ModelChoiceField(
        label=_("Store"), queryset=OrgUnit.objects.filter(kind=UnitKind.STORE)
    )
    kind = forms.ChoiceField(label=_("Kind of visit"), choices=InspectionKind.choices)
    visited_at = forms.DateTimeField(
        label=_("Visited at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    photos = MultiplePhotoField(label=_("Photos"), required=False)

    def __init__(self, *args, items: list[ChecklistItem] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["visited_at"].initial = timezone.localtime().replace(second=0, microsecond=0)
        self.items = (
            items if items is not None else list(ChecklistItem.objects.filter(is_active=True))
        )
        for item in self.items:
            self.fields[f"item_{item.pk}"] = forms.BooleanField(
                label=item.label,
                required=False,
                help_text=_("%(kind)s, %(points)s points")
                % {"kind": ChecklistItemKind(item.kind).label, "points": item.points},
            )

    def ticked(self) -> set[int]:
        return {item.pk for item in self.items if self.cleaned_data.get(f"item_{item.pk}")}

    def item_fields(self, kind: str) -> list[forms.BoundField]:
        return [self[f"item_{item.pk}"] for item in self.items if item.kind == kind]

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The checklist grouped by kind, in the order an inspector walks it."""
        return [
            (label, fields)
            for kind, label in ChecklistItemKind.choices
            if (fields := self.item_fields(kind))
        ]
