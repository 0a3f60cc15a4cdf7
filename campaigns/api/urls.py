"""API URLs of the campaigns app, included under ``/api/`` (namespace ``campaigns-api``)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from campaigns.api.views import CampaignViewSet, StageContestantListView

app_name = "campaigns-api"

router = SimpleRouter()
router.register("campaigns", CampaignViewSet, basename="campaign")

urlpatterns = [
    *router.urls,
    path(
        "stages/<int:stage_id>/contestants/",
        StageContestantListView.as_view(),
        name="stage-contestants",
    ),
    # The inbound SMS webhooks (/api/sms/inbound/…) live with the rest of SMS messaging.
    path("", include("campaigns.messaging.urls")),
]
