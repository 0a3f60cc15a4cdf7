"""The project's URLs plus the bench ceiling view (bench runs only)."""

from django.urls import path

from bench.ceiling_app.views import one_insert_view
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("bench/ceiling/", one_insert_view, name="bench-ceiling"),
    *project_urlpatterns,
]
