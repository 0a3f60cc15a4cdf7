"""The voting API: request a code, verify it, vote, look up a receipt.

Thin views: validate the shape, call one service, shape the answer. Errors are
``{"code", "detail"}`` from ``config.api``; every input error has its own code:
``bad_request`` (the body is not a JSON object), ``parse_error`` (not JSON at all),
``bad_phone``, ``bad_code``, ``bad_stage``, ``bad_employee_no``, ``bad_token``,
``bad_channel``, ``bad_idempotency_key``. These views use no session (no cookies, no
CSRF): voters are identified by a one-time code or a signed voter token. Throttles are a
courtesy per IP (``rate_limited``); the real limits live in the database.
"""

import logging
import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.models import Stage
from config.api import JsonFirstNegotiation
from voting.api.serializers import (
    CastVoteInputSerializer,
    CastVoteOutputSerializer,
    DetailOutputSerializer,
    ErrorOutputSerializer,
    OtpRequestInputSerializer,
    OtpVerifyInputSerializer,
    ReceiptOutputSerializer,
    ResendWaitOutputSerializer,
    VoterSessionOutputSerializer,
)
from voting.api.throttles import OtpThrottle, ReceiptThrottle, VoteThrottle
from voting.api.vote_input import VoteInput, parse_vote_body, validated_input
from voting.choices import VoteStatus
from voting.exceptions import BadInputError, UnknownReceiptError, UnknownStageError
from voting.ledger.selectors import vote_by_receipt
from voting.ledger.services import cast_vote
from voting.otp.requests import request_vote_code
from voting.otp.services import (
    cast_vote_with_otp,
    issue_voter_token,
    read_voter_token,
    verify_otp,
)

logger = logging.getLogger(__name__)

_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{1,64}", re.ASCII)


def _error(code: str, detail: str) -> OpenApiExample:
    return OpenApiExample(code, value={"code": code, "detail": detail}, response_only=True)


def validated(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The validated input, or ``BadInputError`` with the first bad field's code."""
    return validated_input(serializer_class, request.data)


def client_ip(request: HttpRequest) -> str | None:
    """The peer address. Behind a proxy, the proxy must set ``REMOTE_ADDR`` (never trust
    a client-sent ``X-Forwarded-For`` here: the per-IP limits depend on it)."""
    return request.META.get("REMOTE_ADDR") or None


def idempotency_key(request: HttpRequest) -> str | None:
    """The ``Idempotency-Key`` header: 1-64 characters of ``A-Z a-z 0-9 . _ : -``."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise BadInputError(
            "bad_idempotency_key",
            _("Idempotency-Key must be 1 to 64 letters, digits or . _ : -"),
        )
    return key


class RateLimited(exceptions.Throttled):
    default_code = "rate_limited"
    default_detail = gettext_lazy("Too many requests. Please wait a moment and try again.")


class VotingApiView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    content_negotiation_class = JsonFirstNegotiation

    def throttled(self, request: Request, wait: float | None) -> None:
        raise RateLimited(wait)


BAD_PHONE = _error("bad_phone", "This is not a valid mainland China mobile number.")
RATE_LIMITED = _error("rate_limited", "Too many requests. Please wait a moment and try again.")
CODE_LOCKED = _error(
    "code_locked",
    "Too many wrong codes were entered from this device or network. Wait 15 minutes, "
    "then try again.",
)


class RequestOtpView(VotingApiView):
    throttle_classes = [OtpThrottle]

    @extend_schema(
        summary="Send a one-time code by SMS",
        description=(
            "202 for a well-formed number, whether or not the number is known, a staff "
            "member's, or over an hourly sending limit (5 per hour; per-IP and "
            "per-number-block limits): nothing about the number can be learnt from the "
            "answer. Two answers differ, and tell only what the code would have: a code "
            "asked again within 60 s is 429 resend_too_soon with retry_after (seconds, also "
            "in Retry-After), and with stage, a number that has no votes left there today "
            "is 409 limit_reached and is sent nothing. A code is valid for 5 minutes and "
            "allows 5 tries."
        ),
        request=OtpRequestInputSerializer,
        responses={
            202: DetailOutputSerializer,
            400: OpenApiResponse(ErrorOutputSerializer, examples=[BAD_PHONE]),
            404: OpenApiResponse(
                ErrorOutputSerializer,
                examples=[_error("unknown_stage", "There is no such voting stage.")],
            ),
            409: OpenApiResponse(
                ErrorOutputSerializer,
                examples=[_error("limit_reached", "You have used all 1 of your votes for today.")],
            ),
            429: OpenApiResponse(
                ResendWaitOutputSerializer,
                examples=[
                    RATE_LIMITED,
                    OpenApiExample(
                        "resend_too_soon",
                        value={
                            "code": "resend_too_soon",
                            "detail": "Please try again in 42 seconds.",
                            "retry_after": 42,
                        },
                        response_only=True,
                    ),
                ],
            ),
        },
        examples=[OpenApiExample("request", value={"phone": "13800138000"}, request_only=True)],
        tags=["voting"],
    )
    def post(self, request: Request) -> Response:
        data = validated(OtpRequestInputSerializer, request)
        stage = None
        if "stage" in data:
            stage = Stage.objects.filter(pk=data["stage"]).first()
            if stage is None:
                raise UnknownStageError(_("There is no such voting stage."))
        request_vote_code(
            phone=data["phone"], ip=client_ip(request), stage=stage, language=request.LANGUAGE_CODE
        )
        return Response(
            {"detail": _("If this number can receive SMS, a code is on its way.")}, status=202
        )


class VerifyOtpView(VotingApiView):
    throttle_classes = [OtpThrottle]

    @extend_schema(
        summary="Verify a one-time code and open a voter session",
        description=(
            "Consumes the code. The returned voter_token lets the voter vote (as the stage's "
            "limits allow) for VOTING_SESSION_MAX_AGE seconds without a new code. Any wrong "
            "code is bad_code, whatever the number's state (no code, used, blocked after 5 "
            "tries); code_expired is only for the right code entered too late. Too many "
            "wrong codes from one IP or device lock that IP or device out for a while "
            "(code_locked), before they can use up anyone's tries."
        ),
        request=OtpVerifyInputSerializer,
        responses={
            200: VoterSessionOutputSerializer,
            400: OpenApiResponse(
                ErrorOutputSerializer,
                examples=[
                    BAD_PHONE,
                    _error("bad_code", "This code is not valid. Check it, or ask for a new code."),
                    _error("code_expired", "This code has expired. Ask for a new code."),
                ],
            ),
            403: OpenApiResponse(
                ErrorOutputSerializer,
                examples=[CODE_LOCKED],
            ),
            429: OpenApiResponse(ErrorOutputSerializer, examples=[RATE_LIMITED]),
        },
        tags=["voting"],
    )
    def post(self, request: Request) -> Response:
        data = validated(OtpVerifyInputSerializer, request)
        session = verify_otp(
            phone=data["phone"],
            code=data["code"],
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent"),
        )
        return Response(
            {
                "voter_token": issue_voter_token(session),
                "phone_masked": session.phone_masked,
                "expires_in": settings.VOTING_SESSION_MAX_AGE,
            }
        )


class CastVoteView(VotingApiView):
    throttle_classes = [VoteThrottle]

    @extend_schema(
        summary="Cast a vote",
        description=(
            "Identify the voter with phone + code (the code is consumed only if the vote "
            "counts) or with voter_token. The vote is committed before the answer is sent. "
            "With an Idempotency-Key header, repeating the request returns the first answer "
            "(header Idempotent-Replayed: true) and casts nothing. At a live contest an "
            "audience vote (channel audience) counts only for the contestant the host has "
            "on stage, while the host keeps their turn open (not_on_stage, "
            "audience_window_closed)."
        ),
        request=CastVoteInputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="1-64 characters of A-Z a-z 0-9 . _ : -, chosen by the client.",
            )
        ],
        responses={
            201: CastVoteOutputSerializer,
            400: OpenApiResponse(
                ErrorOutputSerializer,
                examples=[
                    _error("unknown_candidate", "There is no candidate with this number."),
                    _error("bad_code", "This code is not valid."),
                    _error("code_expired", "This code has expired."),
                    _error(
                        "bad_employee_no",
                        "employee_no: A candidate number is a vote code or an employee number: "
                        "1 to 16 letters, digits or hyphens.",
                    ),
                    _error("bad_stage", "stage: A positive whole number is required."),
                ],
            ),
            401: OpenApiResponse(
                ErrorOutputSerializer,
                examples=[_error("session_expired", "Your verification has expired.")],
            ),
            403: OpenApiResponse(
                ErrorOutputSerializer,
                examples=[
                    _error("staff_cannot_vote", "Staff members cannot vote."),
                    CODE_LOCKED,
                ],
            ),
            404: OpenApiResponse(
                ErrorOutputSerializer,
                examples=[_error("unknown_stage", "There is no such voting stage.")],
            ),
            409: OpenApiResponse(
                ErrorOutputSerializer,
                examples=[
                    _error("stage_closed", "Voting in this stage is not open."),
                    _error("channel_not_used", "This stage does not count web votes."),
                    _error("limit_reached", "You have used all 5 of your votes for today."),
                    _error(
                        "not_on_stage",
                        "Audience votes go to the contestant on stage: this one is not on "
                        "stage now.",
                    ),
                    _error(
                        "audience_window_closed", "Audience voting for this contestant has closed."
                    ),
                ],
            ),
            429: OpenApiResponse(ErrorOutputSerializer, examples=[RATE_LIMITED]),
        },
        examples=[
            OpenApiExample(
                "with a code",
                value={"stage": 3, "employee_no": "1234", "phone": "13800138000", "code": "123456"},
                request_only=True,
            ),
            OpenApiExample(
                "with a voter token",
                value={"stage": 3, "employee_no": "1234", "voter_token": "eyJ2Ijoi…"},
                request_only=True,
            ),
        ],
        tags=["voting"],
    )
    def post(self, request: Request) -> Response:
        body, headers = answer_vote(request, parse_vote_body(request.data))
        return Response(body, status=201, headers=headers)


def answer_vote(request: HttpRequest, data: VoteInput) -> tuple[dict[str, Any], dict | None]:
    """Cast the vote ``data`` of ``request`` (a Django or DRF request): the 201 answer's body
    and extra headers, or the refusal as a ``DomainError``. ``CastVoteView`` and the plain
    view in front of it (``voting.api.vote_endpoint``) both answer with it."""
    key = idempotency_key(request)
    common = {
        "contestant_employee_no": data.employee_no,
        "channel": data.channel,
        "ip": client_ip(request),
        "user_agent": request.headers.get("User-Agent"),
        "idempotency_key": key,
    }
    if data.voter_token is not None:
        session = read_voter_token(data.voter_token)
        result = cast_vote(
            data.stage,
            voter_hash=session.voter_hash,
            phone_masked=session.phone_masked,
            **common,
        )
    else:
        verified = cast_vote_with_otp(data.stage, phone=data.phone, code=data.code, **common)
        session, result = verified.session, verified.result
    # The shape of CastVoteOutputSerializer (the schema above), built as a plain dict:
    # every value is already the JSON type the schema names.
    body = {
        "vote_id": result.vote_id,
        "receipt_code": result.receipt_code,
        "remaining_today": result.remaining_today,
        "remaining_stage": result.remaining_stage,
        "voter_token": issue_voter_token(session),
        "phone_masked": session.phone_masked,
    }
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return body, headers


class ReceiptView(VotingApiView):
    throttle_classes = [ReceiptThrottle]

    @extend_schema(
        summary="Look up a vote receipt",
        description=(
            "Whether the vote is counted or was invalidated, for whom, in which stage, and "
            "when. Never the voter's phone. Codes are read loosely (lower case, O for 0, "
            "I or L for 1, hyphens)."
        ),
        responses={
            200: ReceiptOutputSerializer,
            404: OpenApiResponse(
                ErrorOutputSerializer,
                examples=[_error("unknown_receipt", "There is no vote with this receipt code.")],
            ),
        },
        tags=["voting"],
    )
    def get(self, request: Request, code: str) -> Response:
        vote = vote_by_receipt(code)
        if vote is None:
            raise UnknownReceiptError(_("There is no vote with this receipt code."))
        member = vote.contestant.staff_member
        body = {
            "receipt_code": vote.receipt_code,
            "status": "counted" if vote.status == VoteStatus.VALID else "invalidated",
            "channel": vote.channel,
            "cast_at": vote.cast_at,
            "stage": {
                "id": vote.stage_id,
                "name": vote.stage.name,
                "campaign": vote.stage.campaign.name,
            },
            "candidate": {
                "name": member.name,
                "employee_no": member.employee_no,
                "vote_code": member.vote_code,
            },
        }
        return Response(ReceiptOutputSerializer(body).data)
