"""A vote's public receipt: the lookup form and the receipt page."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from voting.forms import ReceiptLookupForm
from voting.ledger.selectors import vote_by_receipt


class ReceiptLookupView(View):
    """The receipt lookup form (GET ``?code=``): a well-formed code goes to its page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = ReceiptLookupForm(request.GET if "code" in request.GET else None)
        if form.is_bound and form.is_valid():
            return HttpResponseRedirect(
                reverse("voting:receipt-detail", args=[form.cleaned_data["code"]])
            )
        return render(request, "voting/receipt_lookup.html", {"form": form})


class ReceiptDetailView(View):
    """A vote's public receipt: counted or invalidated, stage, candidate, time — never the
    voter's phone. An unknown code is a friendly 404 with the lookup form."""

    def get(self, request: HttpRequest, code: str) -> HttpResponse:
        vote = vote_by_receipt(code)
        if vote is None:
            return render(
                request,
                "voting/receipt_lookup.html",
                {"form": ReceiptLookupForm(), "missing": True},
                status=404,
            )
        return render(request, "voting/receipt_detail.html", {"vote": vote})
