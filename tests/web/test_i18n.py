"""The interface in English and Portuguese: language choice and complete catalogs."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "chatbot" / "translations"


def test_language_follows_accept_language(app):
    client = app.test_client()
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert "New chat" in english.get_data(as_text=True)
    portuguese = client.get("/", headers={"Accept-Language": "pt-BR,pt;q=0.9,en;q=0.5"})
    html = portuguese.get_data(as_text=True)
    assert '<html lang="pt">' in html and "Novo chat" in html and "New chat" not in html


def test_the_settings_cookie_beats_accept_language(app):
    client = app.test_client()
    client.set_cookie("lembra_lang", "pt")
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Novo chat" in html
    client.set_cookie("lembra_lang", "klingon")  # unknown: ignored
    assert "New chat" in client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_script_strings_are_translated_too(app):
    client = app.test_client()
    client.set_cookie("lembra_lang", "pt")
    html = client.get("/").get_data(as_text=True)
    assert "A Lembra está digitando…" in html  # in the JSON block the scripts read
    assert "Por dentro da LSTM" in html  # the explanation panel's strings too


def test_portuguese_catalog_is_complete_and_compiled():
    with open(TRANSLATIONS / "messages.pot", "rb") as f:
        template = read_po(f)
    with open(TRANSLATIONS / "pt" / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f)
    with open(TRANSLATIONS / "pt" / "LC_MESSAGES" / "messages.mo", "rb") as f:
        compiled = read_mo(f)
    wanted = {_key(m.id) for m in template if m.id}
    translated = {_key(m.id): _key(m.string) for m in catalog
                  if m.id and m.string and all(m.string if isinstance(m.string, tuple) else [1])
                  and not m.fuzzy}
    assert wanted - set(translated) == set(), "run pybabel update and translate (see babel.cfg)"
    assert {_key(m.id): _key(m.string) for m in compiled if m.id} == translated, "run pybabel compile"


def _key(value):
    """A plural message's id and strings come as lists from the .mo file and tuples from the .po."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_catalog_template_is_current(tmp_path):
    """Every translatable string in the code is in messages.pot (run pybabel extract)."""
    from babel.messages.frontend import CommandLineInterface

    root = TRANSLATIONS.parents[1]
    out = tmp_path / "fresh.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(root / "babel.cfg"),
                                "-o", str(out), "--no-location", str(root)])
    with open(out, "rb") as f:
        fresh = {m.id for m in read_po(f) if m.id}
    with open(TRANSLATIONS / "messages.pot", "rb") as f:
        stored = {m.id for m in read_po(f) if m.id}
    assert fresh == stored
