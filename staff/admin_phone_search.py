"""Searching an admin changelist by phone number without the number in any URL.

A number typed into the changelist's search box travels in the query string (``?q=…``),
so it lands in access logs, browser history and ``Referer`` headers. Changelists of rows
keyed by a phone hash take ``PhoneSearchMixin`` instead: a small form posts the number to
``<changelist>/phone-search/``, which normalises it (``staff.phones``) and redirects to the
changelist filtered by its keyed hash, ``?phone_hash=<hmac>``; that hash is useless without
``PHONE_HASH_KEY``. A number that is no mainland mobile is refused with a message, and the
other filters in use are kept.
"""

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.template.loader import select_template
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from staff.exceptions import InvalidPhoneError
from staff.phones import parse_phone

PHONE_HASH_PARAM = "phone_hash"
# The changelist's own query string, posted back so the redirect keeps its filters.
FILTERS_FIELD = "_changelist_filters"
TEMPLATE = "admin/phone_search/change_list.html"
_PHONE_MAX_CHARS = 40


class PhoneSearchForm(forms.Form):
    phone = forms.CharField(label=_("Phone number"), max_length=_PHONE_MAX_CHARS)


class PhoneHashFilter(admin.SimpleListFilter):
    """Rows of one phone, by the keyed hash in ``?phone_hash=``; shown only while in use."""

    title = _("phone number")
    parameter_name = PHONE_HASH_PARAM

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, gettext("The number searched for"))] if value else []

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(**{self.field_name: str(value)[:64]})

    @property
    def field_name(self) -> str:
        return self.model_admin.phone_hash_field

    def __init__(self, request: HttpRequest, params: Any, model: Any, model_admin: Any) -> None:
        self.model_admin = model_admin
        super().__init__(request, params, model, model_admin)


class PhoneSearchMixin:
    """For a ``ModelAdmin`` whose model keys rows by a phone hash: ``phone_hash_field``
    names that field (``phone_hash``, or ``voter_hash`` for votes)."""

    phone_hash_field = "phone_hash"

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        return [*super().get_list_filter(request), PhoneHashFilter]  # type: ignore[misc]

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta  # type: ignore[attr-defined]
        view = self.admin_site.admin_view(require_POST(self.phone_search_view))  # type: ignore[attr-defined]
        name = f"{opts.app_label}_{opts.model_name}_phone_search"
        return [path("phone-search/", view, name=name), *super().get_urls()]  # type: ignore[misc]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        if isinstance(response, TemplateResponse) and not response.is_rendered:
            # The admin's own changelist template, with the phone form in its search block.
            names = response.template_name
            base = select_template(names) if isinstance(names, list | tuple) else names
            opts = self.model._meta  # type: ignore[attr-defined]
            response.context_data["phone_search"] = {
                "base": base,
                "form": PhoneSearchForm(),
                "url": reverse(f"admin:{opts.app_label}_{opts.model_name}_phone_search"),
                "filters": request.GET.urlencode(),
            }
            response.template_name = TEMPLATE
        return response

    def phone_search_view(self, request: HttpRequest) -> HttpResponse:
        """POST only: the number in, a redirect to the hashed lookup out."""
        if not self.has_view_or_change_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        opts = self.model._meta  # type: ignore[attr-defined]
        filters = QueryDict(str(request.POST.get(FILTERS_FIELD, ""))[:2000], mutable=True)
        for name in (PHONE_HASH_PARAM, "q", "p"):
            filters.pop(name, None)
        form = PhoneSearchForm(request.POST)
        if form.is_valid():
            try:
                filters[PHONE_HASH_PARAM] = parse_phone(form.cleaned_data["phone"]).hash
            except InvalidPhoneError as exc:
                messages.error(request, exc.message)
        else:
            messages.error(request, gettext("Type a mainland mobile number to search for."))
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        query = urlencode(list(filters.lists()), doseq=True)
        return HttpResponseRedirect(f"{url}?{query}" if query else url)
