"""Public vote pages (namespace ``voting``), included at the site root by ``config.urls``:
the vote flow under ``vote/``, the audience flow under ``vote/live/``, receipts under
``vote/receipts/``, the short links ``v/<stage>/<employee_no>/`` of posters, and the
public leaderboards under ``stages/<stage>/leaderboard/`` (``voting.leaderboard_views``)."""

from django.urls import path

from voting import leaderboard_views, views
from voting.choices import VoteChannel

app_name = "voting"

WEB = {"channel": VoteChannel.WEB}
AUDIENCE = {"channel": VoteChannel.AUDIENCE}
CANDIDATE = "<int:stage_id>/<str:employee_no>"

urlpatterns = [
    path("v/<int:stage_id>/<str:employee_no>/", views.ShortLinkView.as_view(), name="short-link"),
    path("vote/receipts/", views.ReceiptLookupView.as_view(), name="receipt-lookup"),
    path("vote/receipts/<str:code>/", views.ReceiptDetailView.as_view(), name="receipt-detail"),
    path("vote/live/<int:stage_id>/host/", views.AudienceHostView.as_view(), name="audience-host"),
    path(f"vote/live/{CANDIDATE}/", views.VoteStartView.as_view(), AUDIENCE, name="audience-start"),
    path(
        f"vote/live/{CANDIDATE}/code/", views.VoteCodeView.as_view(), AUDIENCE, name="audience-code"
    ),
    path(
        f"vote/live/{CANDIDATE}/resend/",
        views.ResendCodeView.as_view(),
        AUDIENCE,
        name="audience-resend",
    ),
    path(
        f"vote/live/{CANDIDATE}/cast/", views.CastVoteView.as_view(), AUDIENCE, name="audience-cast"
    ),
    path(f"vote/{CANDIDATE}/", views.VoteStartView.as_view(), WEB, name="vote-start"),
    path(f"vote/{CANDIDATE}/code/", views.VoteCodeView.as_view(), WEB, name="vote-code"),
    path(f"vote/{CANDIDATE}/resend/", views.ResendCodeView.as_view(), WEB, name="vote-resend"),
    path(f"vote/{CANDIDATE}/cast/", views.CastVoteView.as_view(), WEB, name="vote-cast"),
    path(f"vote/{CANDIDATE}/poster/", views.PosterView.as_view(), name="vote-poster"),
    path(
        "stages/<int:stage_id>/leaderboard/",
        leaderboard_views.LeaderboardView.as_view(),
        name="leaderboard",
    ),
    path(
        "stages/<int:stage_id>/leaderboard/live/",
        leaderboard_views.LeaderboardLiveView.as_view(),
        name="leaderboard-live",
    ),
    path(
        "stages/<int:stage_id>/leaderboard/screen/",
        leaderboard_views.LeaderboardScreenView.as_view(),
        name="leaderboard-screen",
    ),
    path(
        "stages/<int:stage_id>/leaderboard/screen/live/",
        leaderboard_views.LeaderboardLiveView.as_view(screen=True),
        name="leaderboard-screen-live",
    ),
]
