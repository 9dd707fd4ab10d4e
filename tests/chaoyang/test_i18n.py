"""Simplified Chinese by default, a working switch to English, and a complete catalogue."""

from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PO = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES" / "django.po"


def test_chinese_by_default(client: Client) -> None:
    html = client.get("/accounts/login/").content.decode()
    assert 'lang="zh-hans"' in html
    assert "登录朝阳网格" in html


def test_switch_to_english_and_back(client: Client) -> None:
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    html = client.get("/accounts/login/").content.decode()
    assert 'lang="en"' in html
    assert "Log in to Chaoyang Grid" in html
    assert "登录朝阳网格" not in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "登录朝阳网格" in client.get("/accounts/login/").content.decode()


def test_english_catalogue_is_complete() -> None:
    """Every marked string has an English translation (run makemessages, then translate)."""
    text = PO.read_text(encoding="utf-8")
    entries = text.split("\n\n")[1:]  # the first block is the header
    untranslated = [
        e
        for e in entries
        if 'msgstr ""' in e.splitlines()[-1]
        and "msgstr[" not in e
        and not e.startswith("#~")
        and e.count('msgstr ""') == 1
        and e.rstrip().endswith('msgstr ""')
    ]
    fuzzy = [e for e in entries if "#, fuzzy" in e]
    assert not untranslated, f"untranslated: {untranslated[:3]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:3]}"
