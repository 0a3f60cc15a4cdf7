"""Judging pages (namespace ``evaluations``), included at the site root by ``config.urls``:
the judge's tablet under ``judge/``, the host's page under ``host/`` and the venue screen
under ``screen/``."""

from django.contrib.auth.views import LogoutView
from django.urls import path

from evaluations import live_views, views

app_name = "evaluations"

urlpatterns = [
    path("judge/", views.TabletHomeView.as_view(), name="tablet-home"),
    path("judge/login/", views.JudgeLoginView.as_view(), name="judge-login"),
    path(
        "judge/logout/",
        LogoutView.as_view(next_page="evaluations:judge-login"),
        name="judge-logout",
    ),
    path("judge/link/<str:token>/", views.LinkSignInView.as_view(), name="link-sign-in"),
    path("judge/<int:stage_id>/", views.TabletView.as_view(), name="tablet"),
    path(
        "judge/<int:stage_id>/state/",
        views.TabletStateView.as_view(),
        {"api": True},
        name="tablet-state",
    ),
    path(
        "judge/<int:stage_id>/scores/",
        views.SubmitScoreView.as_view(),
        {"api": True},
        name="tablet-submit",
    ),
    path("host/<int:stage_id>/", live_views.HostView.as_view(), name="host"),
    path("host/<int:stage_id>/state/", live_views.HostStateView.as_view(), name="host-state"),
    path("host/<int:stage_id>/action/", live_views.HostActionView.as_view(), name="host-action"),
    path("screen/<int:stage_id>/", live_views.ScreenView.as_view(), name="screen"),
    path("screen/<int:stage_id>/state/", live_views.ScreenStateView.as_view(), name="screen-state"),
]
