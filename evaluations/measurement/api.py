"""``POST /api/transactions/``: business systems report served customers.

Authentication is ``Authorization: Api-Key <key>`` (``evaluations.measurement.apikeys``):
a missing header is 401 ``not_authenticated``, an unknown key 401 ``bad_api_key``, a
revoked one 401 ``api_key_revoked``. The envelope is checked here (400 ``invalid`` or
``batch_too_large``, nothing recorded); items are checked by the service, which answers
per item.
"""

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from evaluations.measurement.apikeys import api_key_for, touch_api_key
from evaluations.measurement.choices import TransactionChannel, TransactionResult
from evaluations.measurement.transactions import MAX_BATCH, ingest_transactions
from evaluations.models import TransactionApiKey
from staff.exceptions import DomainError

KEYWORD = "Api-Key"


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Api-Key <key>``; ``request.auth`` becomes the ``TransactionApiKey``."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, TransactionApiKey] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() != KEYWORD.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the header as: Authorization: Api-Key <key>."), code="bad_api_key"
            )
        try:
            raw_key = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(
                _("Unknown API key."), code="bad_api_key"
            ) from exc
        api_key = api_key_for(raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("Unknown API key."), code="bad_api_key")
        if not api_key.is_active:
            raise exceptions.AuthenticationFailed(
                _("This API key has been revoked."), code="api_key_revoked"
            )
        touch_api_key(api_key, now=timezone.now())
        return AnonymousUser(), api_key

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class HasTransactionApiKey(BasePermission):
    """The request carries an active transactions API key."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, TransactionApiKey)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Authorization: Api-Key <key>",
        }


class TransactionItemSerializer(serializers.Serializer):
    """One served customer (documents the schema; the service checks each item)."""

    id = serializers.CharField(max_length=64)
    employee_no = serializers.CharField(max_length=32)
    phone = serializers.CharField(max_length=32)
    channel = serializers.ChoiceField(choices=TransactionChannel.choices)
    served_at = serializers.DateTimeField()


class TransactionBatchInputSerializer(serializers.Serializer):
    transactions = serializers.ListField(child=serializers.JSONField(), allow_empty=True)

    def validate_transactions(self, value: list[Any]) -> list[Any]:
        if len(value) > MAX_BATCH:
            raise DomainError(
                "batch_too_large",
                _("At most %(limit)s transactions per request.") % {"limit": MAX_BATCH},
            )
        return value


class TransactionBatchSchemaSerializer(serializers.Serializer):
    transactions = TransactionItemSerializer(many=True)


class TransactionResultSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=TransactionResult.choices)
    code = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)


class TransactionBatchOutputSerializer(serializers.Serializer):
    results = TransactionResultSerializer(many=True)


class ReportTransactionsView(APIView):
    """Record up to 1,000 served customers; idempotent on ``id`` per system."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasTransactionApiKey]

    @extend_schema(
        tags=["evaluations"],
        request=TransactionBatchSchemaSerializer,
        responses={200: TransactionBatchOutputSerializer},
        description=(
            "Results are in request order: accepted, duplicate (the id was reported before) "
            "or rejected with a code (bad_id, unknown_staff, bad_phone, bad_channel, "
            "bad_served_at, served_in_future)."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = TransactionBatchInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        results = ingest_transactions(request.auth, items=serializer.validated_data["transactions"])
        return Response(
            {"results": [result.as_json() for result in results]}, status=status.HTTP_200_OK
        )
