"""Public URLs of the campaigns app (namespace ``campaigns``)."""

from django.urls import path

from campaigns.views import (
    CampaignDetailView,
    CampaignListView,
    CandidateDetailView,
    HomeView,
    StageContestantsView,
    StageWinnersView,
)

app_name = "campaigns"

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("campaigns/", CampaignListView.as_view(), name="campaign-list"),
    path("campaigns/<int:campaign_id>/", CampaignDetailView.as_view(), name="campaign-detail"),
    path(
        "campaigns/<int:campaign_id>/candidates/<str:employee_no>/",
        CandidateDetailView.as_view(),
        name="candidate-detail",
    ),
    path(
        "stages/<int:stage_id>/contestants/",
        StageContestantsView.as_view(),
        name="stage-contestants",
    ),
    path("stages/<int:stage_id>/winners/", StageWinnersView.as_view(), name="stage-winners"),
]
