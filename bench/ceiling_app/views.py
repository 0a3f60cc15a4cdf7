"""The ceilings: parse a JSON body, insert one row, answer 201 with its id (the vote ingest
bench); return a JSON blob from the cache (the leaderboard bench). Nothing else."""

import datetime as dt
import json
import secrets

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from bench.ceiling_app.models import CeilingVote

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@csrf_exempt
def one_insert_view(request: HttpRequest) -> JsonResponse:
    data = json.loads(request.body)
    vote = CeilingVote.objects.create(
        stage_id=int(data["stage"]),
        contestant_id=1,
        voter_hash=str(data["voter_token"])[:64],
        phone_masked="138****0000",
        channel="web",
        local_day=dt.date.today(),  # noqa: DTZ011 -- the bench ceiling, not product code
        receipt_code="".join(secrets.choice(ALPHABET) for _ in range(10)),
    )
    return JsonResponse({"vote_id": vote.pk}, status=201)


def cached_blob_view(request: HttpRequest, key: str) -> HttpResponse:
    """One cache GET of a prepared JSON body (``bench:ceiling:<key>``), returned as is."""
    blob = cache.get(f"bench:ceiling:{key}")
    if blob is None:
        raise Http404
    return HttpResponse(blob, content_type="application/json")
