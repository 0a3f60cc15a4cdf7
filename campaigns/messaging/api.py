"""Inbound SMS webhooks: the generic signed gateway webhook and the
Twilio and Aliyun adapters beside it. Thin views: authenticate the raw request
(``inbound.gateways``), decode it, call ``inbound.router.route_sms_batch``, shape the
answer. Routed under ``/api/sms/inbound/`` by ``campaigns.api.urls``.

Authentication comes first and works on the raw bytes: a forged, stale or unsigned
request is refused (403 ``bad_signature``) before its body is parsed, and records
nothing. A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused (413 ``body_too_large``)
from its Content-Length, before it is read.
"""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpResponse, QueryDict
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.messaging.exceptions import BodyTooLargeError
from campaigns.messaging.inbound import gateways
from campaigns.messaging.inbound.router import route_sms_batch

# Aliyun's documented acknowledgement; anything else makes it retry the push.
ALIYUN_ACK = {"code": 0, "msg": "成功"}
# Where a proxy in front of the app may pass the Aliyun callback token instead of the URL.
CALLBACK_TOKEN_HEADER = "X-Callback-Token"  # noqa: S105 -- a header name, not a secret
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class SmsErrorOutputSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine code, e.g. bad_signature.")
    detail = serializers.CharField(help_text="Message in the request's language.")


class InboundMessageSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=100, help_text="The gateway's message id (dedupe key).")
    to = serializers.CharField(required=False, help_text="The number the customer texted.")
    text = serializers.CharField(help_text='The text, e.g. "TP 1234".')
    received_at = serializers.DateTimeField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.CharField(help_text="The sender, a mainland mobile number.")
        return fields


class InboundSmsInputSerializer(serializers.Serializer):
    messages = InboundMessageSerializer(many=True, help_text="Up to 1,000 messages.")


class SmsResultSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True, help_text="null if the message had no usable id.")
    status = serializers.ChoiceField(["counted", "refused", "duplicate", "help", "evaluation"])
    code = serializers.CharField(
        required=False,
        help_text=(
            "For refused: unknown_candidate, stage_closed, staff_cannot_vote, limit_reached, "
            "ambiguous_stage, bad_phone, bad_text, bad_message (and the codes of other "
            "handlers)."
        ),
    )
    reply = serializers.CharField(help_text="The reply text (for a duplicate: the original).")


class InboundSmsOutputSerializer(serializers.Serializer):
    results = SmsResultSerializer(many=True, help_text="One per message, in request order.")


def _error(code: str, detail: str) -> OpenApiExample:
    return OpenApiExample(code, value={"code": code, "detail": detail}, response_only=True)


BAD_SIGNATURE = OpenApiResponse(
    SmsErrorOutputSerializer,
    examples=[_error("bad_signature", "The request signature is missing, wrong or too old.")],
)
TOO_LARGE = OpenApiResponse(
    SmsErrorOutputSerializer, examples=[_error("body_too_large", "The request body is too large.")]
)


def raw_body(request: Request) -> bytes:
    """The request's bytes, or ``BodyTooLargeError`` (checked on Content-Length first)."""
    try:
        return request.body
    except RequestDataTooBig as exc:
        raise BodyTooLargeError(_("The request body is too large.")) from exc


class InboundWebhookView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []


class InboundSmsView(InboundWebhookView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Inbound SMS from a gateway (generic, signed)",
        description=(
            "Headers X-Timestamp (unix seconds, within 300 s) and X-Signature: "
            'sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with SMS_INBOUND_SECRET> '
            "(hex in either case). Up to 1,000 messages; one result per message in request "
            "order. A message id seen before is a duplicate with the original reply. Receipts "
            "are queued as SMS; the gateway need not send the reply itself."
        ),
        parameters=[
            OpenApiParameter("X-Timestamp", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Signature", str, OpenApiParameter.HEADER, required=True),
        ],
        request=InboundSmsInputSerializer,
        responses={
            200: InboundSmsOutputSerializer,
            400: OpenApiResponse(
                SmsErrorOutputSerializer,
                examples=[
                    _error("parse_error", "The request body is not valid JSON."),
                    _error("bad_messages", "messages must be a list of messages."),
                    _error("batch_too_large", "At most 1000 messages per request."),
                ],
            ),
            403: BAD_SIGNATURE,
            413: TOO_LARGE,
        },
        tags=["sms"],
    )
    def post(self, request: Request) -> Response:
        body = raw_body(request)
        gateways.verify_generic(request.headers, body)
        messages = gateways.generic_messages(gateways.load_json(body))
        results = route_sms_batch(messages, provider="generic")
        return Response({"results": [result.as_json() for result in results]})


class TwilioInboundSmsView(InboundWebhookView):
    parser_classes = [FormParser]

    @extend_schema(
        summary="Inbound SMS from Twilio",
        description=(
            "Twilio's messaging webhook (form fields MessageSid, From, To, Body, …) with "
            "X-Twilio-Signature verified against SMS_TWILIO_AUTH_TOKEN and the full URL. "
            "Answers an empty TwiML <Response/>: the receipt is queued as an outbound SMS, "
            "so a retried webhook never sends a second reply."
        ),
        parameters=[
            OpenApiParameter("X-Twilio-Signature", str, OpenApiParameter.HEADER, required=True)
        ],
        request={"application/x-www-form-urlencoded": {"type": "object"}},
        responses={
            (200, "text/xml"): OpenApiResponse(description="Empty TwiML."),
            403: BAD_SIGNATURE,
            413: TOO_LARGE,
        },
        tags=["sms"],
    )
    def post(self, request: Request) -> HttpResponse:
        body = raw_body(request)
        try:
            form = QueryDict(body, encoding="utf-8")
        except TooManyFieldsSent as exc:
            raise BodyTooLargeError(_("The request body is too large.")) from exc
        params = dict(form.lists())
        url = gateways.public_url(request.get_full_path()) or request.build_absolute_uri()
        gateways.verify_twilio(url, params, request.headers.get("X-Twilio-Signature", ""))
        route_sms_batch(gateways.twilio_messages(params), provider="twilio")
        return HttpResponse(EMPTY_TWIML, content_type="text/xml; charset=utf-8")


class _AliyunSchema(AutoSchema):
    """The Aliyun push is routed twice (token in a header, token in the URL): one operation
    id each, so the schema has no collision to number."""

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        return operation_id if "{token}" in self.path else f"{operation_id}_header_token"


class AliyunInboundSmsView(InboundWebhookView):
    parser_classes = [JSONParser]
    schema = _AliyunSchema()

    @extend_schema(
        summary="Inbound SMS from Aliyun (upstream message push)",
        description=(
            "Aliyun's push of upstream messages: a JSON array of {phone_number, send_time, "
            "content, sign_name, dest_code, sequence_id}. Unsigned by Aliyun, so it carries "
            "a secret token (SMS_ALIYUN_CALLBACK_TOKEN): in an X-Callback-Token header at "
            "/api/sms/inbound/aliyun/ (a proxy in front can add it, and it stays out of "
            "access logs), or as the last part of the URL /api/sms/inbound/aliyun/<token>/. "
            'sequence_id is the dedupe key. Answers {"code": 0, "msg": "成功"}.'
        ),
        parameters=[
            OpenApiParameter(CALLBACK_TOKEN_HEADER, str, OpenApiParameter.HEADER, required=False)
        ],
        request={"application/json": {"type": "array", "items": {"type": "object"}}},
        responses={
            200: OpenApiResponse(
                examples=[OpenApiExample("ack", value=ALIYUN_ACK, response_only=True)]
            ),
            400: OpenApiResponse(SmsErrorOutputSerializer),
            403: BAD_SIGNATURE,
            413: TOO_LARGE,
        },
        tags=["sms"],
    )
    def post(self, request: Request, token: str = "") -> Response:
        gateways.verify_aliyun_token(request.headers.get(CALLBACK_TOKEN_HEADER) or token)
        body = raw_body(request)
        messages = gateways.aliyun_messages(gateways.load_json(body))
        route_sms_batch(messages, provider="aliyun")
        return Response(ALIYUN_ACK)
