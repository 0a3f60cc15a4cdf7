"""Inspector pages, included by ``config.urls`` under ``/inspections/``."""

from django.urls import path

from evaluations.measurement import views

app_name = "measurement"

urlpatterns = [
    path("", views.InspectionListView.as_view(), name="inspection-list"),
    path("login/", views.InspectorLoginView.as_view(), name="login"),
    path("new/", views.InspectionCreateView.as_view(), name="inspection-create"),
]
