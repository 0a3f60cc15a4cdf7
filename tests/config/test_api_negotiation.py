"""config.api.JsonFirstNegotiation answers exactly as DRF's own negotiation does."""

import pytest
from django.http import Http404
from django.test import RequestFactory
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request

from config.api import JsonFirstNegotiation

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "text/html",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "application/*",
    "image/png",
    "*/*; q=0.5, application/json",
]
QUERIES = ["", "?format=json", "?format=api", "?format=xml"]


def negotiate(negotiation, accept, query, renderers, suffix=None):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(RequestFactory().post(f"/api/votes/{query}", **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers, suffix)
    except NotAcceptable:
        return "not acceptable"
    except Http404:  # a format no renderer has
        return "not found"
    return type(renderer), media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("suffix", [None, "json", "api"])
@pytest.mark.parametrize(
    "renderer_classes",
    [(JSONRenderer, BrowsableAPIRenderer), (BrowsableAPIRenderer, JSONRenderer), (JSONRenderer,)],
)
def test_the_shortcut_picks_what_drf_picks(accept, query, suffix, renderer_classes):
    renderers = [renderer() for renderer in renderer_classes]

    ours = negotiate(JsonFirstNegotiation(), accept, query, renderers, suffix)
    drf = negotiate(DefaultContentNegotiation(), accept, query, renderers, suffix)

    assert ours == drf
