"""Infrastructure views: the health endpoint used by load balancers and monitoring."""

import logging

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views import View

logger = logging.getLogger(__name__)


class HealthView(View):
    """``GET /healthz``: 200 while the database answers; the cache is reported, not required.

    Redis holds only what can be rebuilt (DESIGN.md §5), so a cache outage degrades the
    service without making it unhealthy.
    """

    def get(self, request: HttpRequest) -> JsonResponse:
        checks = {"database": "ok", "cache": "ok"}
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError:
            logger.exception("health check: database unreachable")
            checks["database"] = "down"
        try:
            cache.set("healthz", "1", timeout=5)
        except Exception:  # noqa: BLE001 -- any cache client error means "degraded"
            logger.warning("health check: cache unreachable")
            checks["cache"] = "down"
        status = 200 if checks["database"] == "ok" else 503
        return JsonResponse({"status": "ok" if status == 200 else "down", **checks}, status=status)


def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """A path under ``/api/`` that no endpoint matches: the contract's JSON error, not HTML."""
    return JsonResponse({"code": "not_found", "detail": _("Not found.")}, status=404)
