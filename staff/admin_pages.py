"""Pieces every app's admin shares (the lowest app owns them, as it owns the audit log):
the context of an intermediate admin page, and the mixin of read-only ledgers and logs."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


def admin_page_context(
    request: HttpRequest, model_admin: admin.ModelAdmin, title: str, **extra: Any
) -> dict[str, Any]:
    """The context an intermediate page (confirmation, preview, chart) needs to render inside
    the admin's frame: the site's own context, the model's options for the breadcrumbs and
    the title, plus ``extra``."""
    opts = model_admin.model._meta
    return {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "app_label": opts.app_label,
        "title": title,
        **extra,
    }


class ReadOnlyAdminMixin:
    """Ledgers and logs: readable and filterable, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
