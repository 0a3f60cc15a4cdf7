"""The project's URLs plus the bench ceiling view (bench runs only)."""

from django.urls import path

from bench.ceiling_app.views import cached_blob_view, one_insert_view
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("bench/ceiling/", one_insert_view, name="bench-ceiling"),
    path("bench/cached/<str:key>/", cached_blob_view, name="bench-cached"),
    *project_urlpatterns,
]
