"""Service-measurement API routes, included under ``/api/`` by ``config.urls``."""

from django.urls import path

from evaluations.measurement.api import ReportTransactionsView

app_name = "measurement_api"

urlpatterns = [
    path("transactions/", ReportTransactionsView.as_view(), name="transactions-report"),
]
