"""Reasons for the audit log: the one validator every reasoned action uses.

An irreversible or contested action (a stage move, a withdrawal, a tie decision, an
invalidation, a deactivation) records *why* in ``AuditEvent.reason``. Every service that
takes a reason passes it through ``clean_reason`` and every form that asks for one uses
``ReasonField``, so there is one rule and one length limit everywhere: trimmed, line
endings normalised to ``\\n``, at most ``REASON_MAX_LENGTH`` characters, and non-empty
where the action requires a reason. The text is stored as typed (it is escaped when
rendered), never interpreted.
"""

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from staff.exceptions import DomainError

# A paragraph or two: long enough for "disqualified after the 3 May review, see ticket
# 4411", short enough that the audit list stays readable and a pasted document is refused.
REASON_MAX_LENGTH = 1000


class ReasonError(DomainError):
    """A reason that is missing (``reason_required``) or too long (``reason_too_long``)."""


def clean_reason(reason: str | None, *, required: bool = True) -> str:
    """The reason as stored: trimmed, ``\\r\\n`` and ``\\r`` as ``\\n``, at most
    ``REASON_MAX_LENGTH`` characters; empty only when not ``required``.

    Pure. Raises ``ReasonError`` (``reason_required`` or ``reason_too_long``).
    """
    text = (reason or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if required and not text:
        raise ReasonError("reason_required", _("Please give a reason; it is recorded."))
    if len(text) > REASON_MAX_LENGTH:
        raise ReasonError(
            "reason_too_long",
            _("A reason has at most %(n)d characters.") % {"n": REASON_MAX_LENGTH},
        )
    return text


class ReasonField(forms.CharField):
    """A form field for a reason: a text area cleaned by ``clean_reason``.

    ``required`` means what it means for ``clean_reason``; the length limit is the same
    one (the browser enforces it too, through ``maxlength``).
    """

    def __init__(self, *, required: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("label", gettext_lazy("Reason"))
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3, "cols": 60}))
        super().__init__(required=required, max_length=REASON_MAX_LENGTH, strip=True, **kwargs)

    def to_python(self, value: Any) -> str:
        # Browsers send line breaks as \r\n; count them as the stored text will have them.
        return str(super().to_python(value)).replace("\r\n", "\n").replace("\r", "\n")

    def clean(self, value: Any) -> str:
        text = super().clean(value)
        try:
            return clean_reason(text, required=self.required)
        except ReasonError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc
