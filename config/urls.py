"""Root URLs. Each app's public and API URLs are included here."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView

from config.views import ApiDocsView, HealthView, api_not_found, favicon

admin.site.site_header = _("Service Star administration")
admin.site.site_title = _("Service Star")
admin.site.index_title = _("Campaign administration")

urlpatterns = [
    # First: the vote API is the busiest route. After the pages' patterns (included at the
    # root, so each one is tried) a vote's path was resolved only at about the fiftieth
    # pattern. No pattern before it matches an /api/ path, so the order changes no answer.
    path("api/", include("voting.api.urls")),
    path("", include("campaigns.urls")),
    path("", include("voting.urls")),
    path("", include("evaluations.urls")),
    path("inspections/", include("evaluations.measurement.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("healthz", HealthView.as_view(), name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("api/", include("campaigns.api.urls")),
    path("api/", include("evaluations.measurement.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    # Last: any other /api/ path answers in the API's error shape rather than an HTML page,
    # line breaks in the path included (``[\s\S]``: ``.`` stops at a line break).
    re_path(r"^api/(?P<path>[\s\S]*)$", api_not_found, name="api-not-found"),
]

# Under /api/ a suspicious request (bad Host, body over the limit) gets the JSON error shape.
handler400 = "config.middleware.api_bad_request"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
