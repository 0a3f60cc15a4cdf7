"""Voting API routes, included under ``/api/`` by ``config.urls``."""

from django.urls import path

from voting.api import leaderboard, views
from voting.api.vote_endpoint import cast_vote_view

app_name = "voting_api"

urlpatterns = [
    path("otp/", views.RequestOtpView.as_view(), name="otp-request"),
    path("otp/verify/", views.VerifyOtpView.as_view(), name="otp-verify"),
    # A plain JSON vote is answered without DRF; anything else by views.CastVoteView.
    path("votes/", cast_vote_view, name="vote-create"),
    path("receipts/<str:code>/", views.ReceiptView.as_view(), name="receipt-detail"),
    path(
        "stages/<int:stage_id>/leaderboard/",
        leaderboard.StageLeaderboardView.as_view(),
        name="stage-leaderboard",
    ),
]
