"""Forms of the public vote pages. Shape only: whether a number may receive a code, whether
a code is right and whether a vote counts are the services' decisions (``voting.ledger.services``),
which the views turn into errors on these forms.

Every field refuses what it cannot hold before anything reaches a service: NUL characters
(Django's ``CharField`` validator), over-long values, letters in a code.
"""

import re
import unicodedata
import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from voting.choices import OTP_DIGITS
from voting.ledger.receipts import normalize_receipt_code

_CODE = re.compile(rf"[0-9]{{{OTP_DIGITS}}}", re.ASCII)
# People paste codes with spaces ("123 456") and some keyboards type full-width digits.
_CODE_SEPARATORS = re.compile(r"[\s\-]")


def new_idempotency_key() -> str:
    """A fresh key for one rendering of a vote form: a repeated post of that form is
    recognised by ``cast_vote`` and counts once."""
    return str(uuid.uuid4())


class IdempotencyKeyField(forms.CharField):
    """The hidden per-form key: a UUID, returned in its canonical text form."""

    default_error_messages = {
        "invalid": _("This form is out of date. Please try again."),
    }

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("widget", forms.HiddenInput)
        kwargs.setdefault(
            "error_messages", {"required": _("This form is out of date. Please try again.")}
        )
        super().__init__(**kwargs)

    def to_python(self, value: object) -> str:
        text = super().to_python(value)
        if not text:
            return text
        try:
            return str(uuid.UUID(text))
        except ValueError as exc:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc


class PhoneForm(forms.Form):
    """Step 1: the voter's mobile number (normalised and checked by ``staff.phones``)."""

    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        error_messages={"required": _("Enter your mobile number.")},
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "inputmode": "tel",
                "autocomplete": "tel",
                "placeholder": "138 0013 8000",
            }
        ),
    )


class CodeForm(forms.Form):
    """Step 2: the 6-digit code from the SMS, with the vote form's idempotency key."""

    code = forms.CharField(
        label=_("Code from the SMS"),
        max_length=32,
        error_messages={"required": _("Enter the 6-digit code from the SMS.")},
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9]*",
                "maxlength": str(OTP_DIGITS),
            }
        ),
    )
    idempotency_key = IdempotencyKeyField()

    def clean_code(self) -> str:
        text = unicodedata.normalize("NFKC", self.cleaned_data["code"])
        text = _CODE_SEPARATORS.sub("", text)
        if not _CODE.fullmatch(text):
            raise forms.ValidationError(_("Enter the 6-digit code from the SMS."), code="invalid")
        return text


class VoteForm(forms.Form):
    """The vote button of a verified voter: only the idempotency key."""

    idempotency_key = IdempotencyKeyField()


class ReceiptLookupForm(forms.Form):
    """A receipt code as a person types it (lower case, O for 0, hyphens are fine)."""

    code = forms.CharField(
        label=_("Receipt code"),
        max_length=32,
        error_messages={"required": _("Enter a receipt code.")},
        widget=forms.TextInput(
            attrs={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"}
        ),
    )

    def clean_code(self) -> str:
        canonical = normalize_receipt_code(self.cleaned_data["code"])
        if canonical is None:
            raise forms.ValidationError(
                _("A receipt code has 10 letters and digits, e.g. 7K3M9Q2XHD."), code="invalid"
            )
        return canonical


class BoardFilterForm(forms.Form):
    """The public leaderboard's filters (GET): a branch and/or a position among those on
    the board, and, on the big screen, how many rows to show."""

    branch = forms.ChoiceField(label=_("Branch"), required=False)
    position = forms.ChoiceField(label=_("Position"), required=False)
    top = forms.IntegerField(label=_("Rows"), required=False, min_value=1, max_value=24)

    def __init__(
        self,
        data: object = None,
        *,
        branches: list[tuple[str, str]],
        positions: list[tuple[str, str]],
    ) -> None:
        super().__init__(data)
        self.fields["branch"].choices = [("", _("All branches")), *branches]
        self.fields["position"].choices = [("", _("All positions")), *positions]
