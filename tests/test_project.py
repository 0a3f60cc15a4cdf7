"""Project-wide checks: migrations are complete, translations compiled, pages in Chinese."""

from io import StringIO
from pathlib import Path

import polib
import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
LOCALES = sorted((ROOT / "locale").glob("*/LC_MESSAGES/django.po"))


def test_makemigrations_check_is_clean(db):
    out = StringIO()

    call_command("makemigrations", "--check", "--dry-run", stdout=out)

    assert "No changes detected" in out.getvalue()


def test_every_locale_ships_a_po_file():
    assert {p.parent.parent.name for p in LOCALES} == {"zh_Hans", "en"}


@pytest.mark.parametrize("po_path", LOCALES, ids=lambda p: p.parent.parent.name)
def test_compiled_mo_matches_po(po_path):
    """The committed .mo must say what the .po says, so machines without gettext work."""
    po = polib.pofile(str(po_path))
    mo = polib.mofile(str(po_path.with_suffix(".mo")))
    expected = {
        (e.msgctxt, e.msgid): e.msgstr or dict(e.msgstr_plural)
        for e in po.translated_entries()
        if not e.obsolete
    }
    compiled = {(e.msgctxt, e.msgid): e.msgstr or dict(e.msgstr_plural) for e in mo if e.msgid}

    assert compiled == expected


def test_chinese_catalogue_has_no_untranslated_or_fuzzy_entries():
    po = polib.pofile(str(ROOT / "locale/zh_Hans/LC_MESSAGES/django.po"))

    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []


@pytest.mark.django_db
def test_home_page_is_chinese_by_default_and_english_on_request(client):
    chinese = client.get("/")
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert chinese.status_code == 200
    assert '<html lang="zh-hans">' in chinese.text
    assert "服务明星" in chinese.text
    assert '<html lang="en">' in english.text
    assert "Service Star" in english.text


@pytest.mark.django_db
def test_language_switcher_sets_english(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/")

    assert response.status_code == 302
    assert '<html lang="en">' in page.text


@pytest.mark.django_db
def test_health_endpoint_reports_database_and_cache(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "leaderboards": {"status": "ok", "stages": {}},
    }


@pytest.mark.django_db
def test_api_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert b"openapi" in schema.content
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


@pytest.mark.django_db
def test_unknown_api_path_answers_in_the_api_error_shape(client):
    response = client.get("/api/campaigns/0.5/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}
