"""The one reason validator: trimmed, line endings normalised, one length limit."""

import pytest
from django import forms

from staff.audit import REASON_MAX_LENGTH, ReasonError, ReasonField, clean_reason


@pytest.mark.parametrize(
    ("reason", "required", "expected"),
    [
        ("  left the company \r\n ", True, "left the company"),
        ("line one\r\nline two\rline three", True, "line one\nline two\nline three"),
        ("<b>html</b> stays text", True, "<b>html</b> stays text"),
        ("", False, ""),
        (None, False, ""),
        ("x" * REASON_MAX_LENGTH, True, "x" * REASON_MAX_LENGTH),
    ],
)
def test_clean_reason_returns_the_stored_text(reason, required, expected):
    assert clean_reason(reason, required=required) == expected


@pytest.mark.parametrize(
    ("reason", "required", "code"),
    [
        ("", True, "reason_required"),
        (" \r\n\t", True, "reason_required"),
        (None, True, "reason_required"),
        ("x" * (REASON_MAX_LENGTH + 1), False, "reason_too_long"),
        ("x" * 10_000, True, "reason_too_long"),
    ],
)
def test_clean_reason_refuses(reason, required, code):
    with pytest.raises(ReasonError) as excinfo:
        clean_reason(reason, required=required)

    assert excinfo.value.code == code


class ReasonForm(forms.Form):
    reason = ReasonField()
    note = ReasonField(required=False)


def test_reason_field_counts_a_browser_line_break_as_one_character():
    # 999 characters and one \r\n: 1,000 as stored, so it is accepted.
    text = "x" * 500 + "\r\n" + "x" * 499
    form = ReasonForm({"reason": text, "note": ""})

    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"reason": text.replace("\r\n", "\n"), "note": ""}


def test_reason_field_errors_use_the_validators_limit_and_codes():
    missing = ReasonForm({"reason": "   ", "note": ""})
    too_long = ReasonForm({"reason": "ok", "note": "x" * (REASON_MAX_LENGTH + 1)})

    assert not missing.is_valid()
    assert missing.errors.as_data()["reason"][0].code == "required"
    assert not too_long.is_valid()
    assert too_long.errors.as_data()["note"][0].code == "max_length"
    assert ReasonForm().fields["reason"].widget.attrs["maxlength"] == str(REASON_MAX_LENGTH)
