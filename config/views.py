"""Infrastructure views: the health endpoint, the API docs page and the API's catch-all 404."""

import logging

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from voting.counting.boards import open_board_ages

logger = logging.getLogger(__name__)


class HealthView(View):
    """``GET /healthz``: 200 while the database answers; the cache is reported, not required.

    Redis holds only what can be rebuilt, so a cache outage degrades the
    service without making it unhealthy. ``leaderboards`` reports how old the board of
    each open stage is (``voting.counting.boards``): a stale one (beat or workers
    stopped) makes the status "degraded", still with 200.
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
        boards: dict[str, object] = {"status": "ok", "stages": {}}
        if checks["database"] == "ok":
            ages = open_board_ages()
            boards["stages"] = {
                str(age.stage_id): {
                    "age_seconds": round(age.freshness.age.total_seconds(), 1)
                    if age.freshness.age is not None
                    else None,
                    "stale": age.freshness.is_stale,
                }
                for age in ages
            }
            if any(age.freshness.is_stale for age in ages):
                boards["status"] = "stale"
        status = 200 if checks["database"] == "ok" else 503
        if status != 200:
            text = "down"
        elif checks["cache"] != "ok" or boards["status"] != "ok":
            text = "degraded"
        else:
            text = "ok"
        return JsonResponse({"status": text, **checks, "leaderboards": boards}, status=status)


class ApiDocsView(SpectacularSwaggerView):
    """Swagger UI at ``/api/docs/``: a page, so it answers GET and HEAD only.

    drf-spectacular's view renders every answer through an HTML template; its OPTIONS
    metadata has no template and answered 500. Here OPTIONS, like POST, is a 405 in JSON.
    """

    http_method_names = ["get", "head"]

    def handle_exception(self, exc: Exception) -> Response:
        # Errors of an /api/ path keep the contract's JSON shape, not the page's template.
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


# Exempt from CSRF: a POST to an unknown API path must get the JSON 404, not an HTML 403.
@csrf_exempt
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """A path under ``/api/`` that no endpoint matches: the contract's JSON error, not HTML."""
    return JsonResponse({"code": "not_found", "detail": _("Not found.")}, status=404)


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """``/favicon.ico``, which browsers ask for on pages without an icon link (API docs,
    JSON): the product's icon from the static files (its hashed name, known at run time)."""
    return HttpResponseRedirect(static("favicon.svg"))
