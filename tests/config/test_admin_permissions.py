"""Every admin view added beside the stock ones checks its model permission (issue 13
item 5): walked from the admin site's registry, so a new view is covered when it lands."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, reverse

from tests.factories.campaigns import StageFactory
from tests.factories.staff import UserFactory

pytestmark = pytest.mark.django_db

STOCK_VIEWS = {"changelist", "add", "history", "delete", "change"}
# Plausible values of the extra views' path parameters; ids are filled in per test.
VALUES = {"move": "open", "kind": "results", "fmt": "csv", "job_id": "job-1"}


def extra_admin_urls() -> list[tuple[str, URLPattern]]:
    """(url name, pattern) of every named admin URL that a ModelAdmin adds to the stock ones."""
    found = []
    for model, model_admin in admin.site._registry.items():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        for pattern in model_admin.get_urls():
            name = pattern.name or ""
            if name and not (name.startswith(prefix) and name[len(prefix) :] in STOCK_VIEWS):
                found.append((name, pattern))
    return sorted(found, key=lambda item: item[0])


EXTRA_URLS = extra_admin_urls()


def url_for(name: str, pattern: URLPattern, object_id: int) -> str:
    kwargs = {key: VALUES.get(key, object_id) for key in pattern.pattern.converters}
    return reverse(f"admin:{name}", kwargs=kwargs)


def test_the_walk_finds_the_extra_admin_views():
    names = {name for name, _pattern in EXTRA_URLS}

    assert names >= {
        "staff_staffmember_export",
        "staff_staffmember_import",
        "staff_staffmember_import_preview",
        "campaigns_campaign_from_template",
        "campaigns_stage_move",
        "campaigns_stage_results",
        "campaigns_stage_resolve_tie",
        "campaigns_stage_export",
        "campaigns_stage_enrol",
        "campaigns_stage_promote",
        "voting_vote_clusters",
        "voting_vote_job",
        "voting_stage_dashboard",
        "voting_stage_recount",
    }


@pytest.mark.parametrize(("name", "pattern"), EXTRA_URLS, ids=[n for n, _p in EXTRA_URLS])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_staff_user_without_permissions_is_refused(name, pattern, method):
    stage = StageFactory()
    client = Client()
    client.force_login(UserFactory(username="no-perms", is_staff=True))

    response = getattr(client, method)(url_for(name, pattern, stage.pk))

    assert response.status_code in {403, 405}, (name, method, response.status_code)


@pytest.mark.parametrize(("name", "pattern"), EXTRA_URLS, ids=[n for n, _p in EXTRA_URLS])
def test_anonymous_is_sent_to_the_login(client, name, pattern):
    stage = StageFactory()

    response = client.get(url_for(name, pattern, stage.pk))

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_staff_export_needs_the_view_permission():
    client = Client()
    client.force_login(UserFactory(username="no-perms", is_staff=True))
    hr_client = Client()
    hr_client.force_login(UserFactory(username="hr", in_hr_admins=True))

    refused = client.get("/admin/staff/staffmember/export/")
    allowed = hr_client.get("/admin/staff/staffmember/export/")

    assert (refused.status_code, allowed.status_code) == (403, 200)
