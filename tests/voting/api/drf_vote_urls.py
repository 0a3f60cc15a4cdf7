"""The project's URLs with ``POST /api/votes/`` answered by DRF's ``CastVoteView`` alone, as
before the plain view (``voting.api.vote_endpoint``) stood in front of it: what
``test_vote_endpoint`` compares the plain view's answers with."""

from django.urls import path

from config.urls import handler400
from config.urls import urlpatterns as project_urlpatterns
from voting.api.views import CastVoteView

__all__ = ["handler400", "urlpatterns"]

urlpatterns = [path("api/votes/", CastVoteView.as_view()), *project_urlpatterns]
