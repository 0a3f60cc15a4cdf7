"""Public vote pages (namespace ``voting``), included at the site root by ``config.urls``:
the vote flow under ``vote/``, the audience flow under ``vote/live/``, receipts under
``vote/receipts/``, the short links ``v/<stage>/<employee_no>/`` of posters, and the
public leaderboards under ``stages/<stage>/leaderboard/`` (``voting.views.leaderboards``)."""

from django.urls import path

from voting.choices import VoteChannel
from voting.views import leaderboards, links, receipts, votes

app_name = "voting"

WEB = {"channel": VoteChannel.WEB}
AUDIENCE = {"channel": VoteChannel.AUDIENCE}
CANDIDATE = "<int:stage_id>/<str:employee_no>"

urlpatterns = [
    path("v/<int:stage_id>/<str:employee_no>/", links.ShortLinkView.as_view(), name="short-link"),
    path("vote/receipts/", receipts.ReceiptLookupView.as_view(), name="receipt-lookup"),
    path("vote/receipts/<str:code>/", receipts.ReceiptDetailView.as_view(), name="receipt-detail"),
    path("vote/live/<int:stage_id>/host/", links.AudienceHostView.as_view(), name="audience-host"),
    path(f"vote/live/{CANDIDATE}/", votes.VoteStartView.as_view(), AUDIENCE, name="audience-start"),
    path(
        f"vote/live/{CANDIDATE}/code/", votes.VoteCodeView.as_view(), AUDIENCE, name="audience-code"
    ),
    path(
        f"vote/live/{CANDIDATE}/resend/",
        votes.ResendCodeView.as_view(),
        AUDIENCE,
        name="audience-resend",
    ),
    path(
        f"vote/live/{CANDIDATE}/cast/", votes.CastVoteView.as_view(), AUDIENCE, name="audience-cast"
    ),
    path(f"vote/{CANDIDATE}/", votes.VoteStartView.as_view(), WEB, name="vote-start"),
    path(f"vote/{CANDIDATE}/code/", votes.VoteCodeView.as_view(), WEB, name="vote-code"),
    path(f"vote/{CANDIDATE}/resend/", votes.ResendCodeView.as_view(), WEB, name="vote-resend"),
    path(f"vote/{CANDIDATE}/cast/", votes.CastVoteView.as_view(), WEB, name="vote-cast"),
    path(f"vote/{CANDIDATE}/poster/", links.PosterView.as_view(), name="vote-poster"),
    path(
        "stages/<int:stage_id>/leaderboard/",
        leaderboards.LeaderboardView.as_view(),
        name="leaderboard",
    ),
    path(
        "stages/<int:stage_id>/leaderboard/live/",
        leaderboards.LeaderboardLiveView.as_view(),
        name="leaderboard-live",
    ),
    path(
        "stages/<int:stage_id>/leaderboard/screen/",
        leaderboards.LeaderboardScreenView.as_view(),
        name="leaderboard-screen",
    ),
    path(
        "stages/<int:stage_id>/leaderboard/screen/live/",
        leaderboards.LeaderboardLiveView.as_view(screen=True),
        name="leaderboard-screen-live",
    ),
]
