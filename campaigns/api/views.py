"""Read-only public API of campaigns: campaigns, stages, contestants.

Draft campaigns and their stages are not public: they answer 404 like unknown ids.
"""

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.viewsets import ReadOnlyModelViewSet

from campaigns import selectors
from campaigns.api.filters import ContestantFilter
from campaigns.api.serializers import CampaignSerializer, ContestantSerializer
from campaigns.models import Campaign, Contestant, Stage


@extend_schema(tags=["campaigns"])
class CampaignViewSet(ReadOnlyModelViewSet):
    """``GET /api/campaigns/`` and ``GET /api/campaigns/<id>/``: public campaigns with their
    stages in order."""

    serializer_class = CampaignSerializer

    def get_queryset(self) -> QuerySet[Campaign]:
        return selectors.public_campaigns()


@extend_schema(tags=["campaigns"])
class StageContestantListView(ListAPIView):
    """``GET /api/stages/<id>/contestants/``: a stage's contestants, searchable and filtered,
    in running order then employee number."""

    serializer_class = ContestantSerializer
    filterset_class = ContestantFilter

    def get_queryset(self) -> QuerySet[Contestant]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no stage id
            return Contestant.objects.none()
        try:
            stage = selectors.public_stage(self.kwargs["stage_id"])
        except Stage.DoesNotExist as exc:
            raise Http404 from exc
        return selectors.contestants_for_stage(stage)
