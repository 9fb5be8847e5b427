"""Hostile text in the browser: script, markup and SQL payloads are shown as text and never run."""

from __future__ import annotations

import pytest

from tests.web.test_hardening import PAYLOADS

sync_api = pytest.importorskip("playwright.sync_api")


def test_script_payloads_are_shown_as_text_and_never_run(browser, server_without_model):
    url = server_without_model.url
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)  # the page gives this browser its visitor cookie
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    headers = {"X-CSRF-Token": token}
    created = page.request.post(f"{url}/api/conversations", data={}, headers=headers)
    conversation_id = created.json()["id"]
    for text in PAYLOADS:
        page.request.post(f"{url}/api/conversations/{conversation_id}/messages",
                          data={"text": text}, headers=headers)
    page.goto(f"{url}/c/{conversation_id}")
    for text in PAYLOADS:
        sync_api.expect(page.locator(".message.user .text", has_text=text)).to_have_count(1)
    sync_api.expect(page.get_by_text(PAYLOADS[0][:40]).first).to_be_visible()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    # The bubbles' own icons are svg; nothing may appear inside the text a visitor wrote.
    assert page.locator(".message .text script, .message .text img, .message .text svg").count() == 0
    assert page.locator(".message script").count() == 0
    assert dialogs == []
    context.close()
