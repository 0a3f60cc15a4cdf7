"""Input and output shapes of the voting API. Format only: the rules are in the services.

The fields here are strict on purpose: JSON ``true`` is not a number, ``1234.0`` is not an
employee number, a list is not a phone. Each field's errors map to one stable code in
``voting.api.views`` (``bad_phone``, ``bad_employee_no`` …).
"""

import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from staff.identifiers import candidate_lookup
from voting.choices import OTP_DIGITS, VoteChannel

_DIGITS = re.compile(r"[0-9]+", re.ASCII)
MAX_ID = 2**63 - 1
PHONE_MAX_CHARS = 32
VOTER_TOKEN_MAX_CHARS = 512
VOTE_CHANNELS = (VoteChannel.WEB, VoteChannel.AUDIENCE)


def strict_id(data: Any) -> int | None:
    """``data`` as a positive database id (``StrictIdField``'s rule), or ``None``."""
    if isinstance(data, bool):
        return None
    if isinstance(data, str) and _DIGITS.fullmatch(data.strip()) and len(data.strip()) <= 18:
        data = int(data.strip())
    if not isinstance(data, int) or not 1 <= data <= MAX_ID:
        return None
    return data


@extend_schema_field(OpenApiTypes.INT)
class StrictIdField(serializers.Field):
    """A positive database id: a JSON integer (not a boolean, not a float) or a string of
    at most 18 ASCII digits. Anything larger never reaches the database."""

    default_error_messages = {"invalid": _("A positive whole number is required.")}

    def to_internal_value(self, data: Any) -> int:
        found = strict_id(data)
        if found is None:
            self.fail("invalid")
        return found

    def to_representation(self, value: int) -> int:
        return value


@extend_schema_field({"type": "string", "pattern": "^[0-9]{1,16}$", "example": "1234"})
class EmployeeNoField(serializers.Field):
    """The candidate's vote code (digits) or employee number (letters, digits, ``-``), at
    most 16 characters, as a string (full-width forms folded, letters upper-cased) or a
    non-negative JSON integer. Returned normalised (``staff.identifiers.candidate_lookup``)."""

    default_error_messages = {
        "invalid": _(
            "A candidate number is a vote code or an employee number: 1 to 16 letters, "
            "digits or hyphens."
        ),
    }

    def to_internal_value(self, data: Any) -> str:
        found = candidate_lookup(data)
        if found is None:
            self.fail("invalid")
        return found[1]

    def to_representation(self, value: str) -> str:
        return value


class OtpCodeField(serializers.RegexField):
    """The 6-digit code, as a JSON string only: a number would lose leading zeros."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", _("The 6-digit code from the SMS."))
        super().__init__(rf"^[0-9]{{{OTP_DIGITS}}}$", max_length=OTP_DIGITS, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class OtpRequestInputSerializer(serializers.Serializer):
    phone = serializers.CharField(
        max_length=PHONE_MAX_CHARS, help_text=_("A mainland China mobile number.")
    )
    stage = StrictIdField(
        required=False,
        help_text=_(
            "Optional: the stage the code is for. A number with no votes left there today "
            "is told so (limit_reached) instead of being sent a code."
        ),
    )


class DetailOutputSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ErrorOutputSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("Stable machine code, e.g. limit_reached."))
    detail = serializers.CharField(help_text=_("Message in the request's language."))


class ResendWaitOutputSerializer(ErrorOutputSerializer):
    retry_after = serializers.IntegerField(
        required=False, help_text=_("Seconds to wait before asking again (resend_too_soon).")
    )


class OtpVerifyInputSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=PHONE_MAX_CHARS)
    code = OtpCodeField()


class VoterSessionOutputSerializer(serializers.Serializer):
    voter_token = serializers.CharField(
        help_text=_("Send it as voter_token to /api/votes/ to vote again without a code.")
    )
    phone_masked = serializers.CharField()
    expires_in = serializers.IntegerField(help_text=_("Seconds the token stays valid."))


class CastVoteInputSerializer(serializers.Serializer):
    """Either ``phone`` and ``code`` (a one-time code, consumed only by a counted vote) or
    ``voter_token`` (from an earlier verification)."""

    stage = StrictIdField(help_text=_("The stage's id."))
    employee_no = EmployeeNoField(
        help_text=_("The candidate's vote code (as on posters and in SMS) or employee number.")
    )
    phone = serializers.CharField(max_length=PHONE_MAX_CHARS, required=False)
    code = OtpCodeField(required=False)
    voter_token = serializers.CharField(max_length=VOTER_TOKEN_MAX_CHARS, required=False)
    channel = serializers.ChoiceField(
        choices=list(VOTE_CHANNELS), default=VoteChannel.WEB, required=False
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "voter_token" in attrs:
            return attrs
        if "phone" not in attrs:
            raise serializers.ValidationError({"phone": _("Give phone and code, or voter_token.")})
        if "code" not in attrs:
            raise serializers.ValidationError({"code": _("Give phone and code, or voter_token.")})
        return attrs


class CastVoteOutputSerializer(serializers.Serializer):
    vote_id = serializers.IntegerField()
    receipt_code = serializers.CharField(help_text=_("Look it up at /api/receipts/<code>/."))
    remaining_today = serializers.IntegerField(
        allow_null=True, help_text=_("Votes left today; null means unlimited.")
    )
    remaining_stage = serializers.IntegerField(
        allow_null=True, help_text=_("Votes left in the stage; null means unlimited.")
    )
    voter_token = serializers.CharField()
    phone_masked = serializers.CharField()


class ReceiptStageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    campaign = serializers.CharField()


class ReceiptCandidateSerializer(serializers.Serializer):
    name = serializers.CharField()
    employee_no = serializers.CharField()
    vote_code = serializers.CharField()


class ReceiptOutputSerializer(serializers.Serializer):
    receipt_code = serializers.CharField()
    status = serializers.ChoiceField(choices=["counted", "invalidated"])
    channel = serializers.CharField()
    cast_at = serializers.DateTimeField()
    stage = ReceiptStageSerializer()
    candidate = ReceiptCandidateSerializer()
