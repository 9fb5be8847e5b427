"""'Suggest a better answer' (in a reply's "More actions" menu) in Chromium: keyboard only, text
stays text, stored for review."""

from __future__ import annotations

from tests.browser.test_chat import expect, open_chat, send


def test_a_better_answer_is_suggested_with_the_keyboard(page, server):
    open_chat(page, server)
    send(page, "hello")
    reply = page.locator(".message.bot").last
    more = reply.get_by_role("button", name="More actions")
    more.focus()
    page.keyboard.press("Enter")  # the menu opens on its first item
    suggest = reply.get_by_role("menuitem", name="Suggest a better answer")
    expect(suggest).to_be_focused()
    expect(suggest).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    # The menu closes; its item keeps saying that the form it controls is open.
    expect(reply.locator(".menu-item.suggest")).to_have_attribute("aria-expanded", "true")
    box = reply.get_by_label("A better answer to your message")
    expect(box).to_be_focused()

    page.keyboard.press("Escape")  # closes, and focus goes back to the menu's button
    expect(box).to_have_count(0)
    expect(more).to_be_focused()

    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    reply.get_by_role("button", name="Send suggestion").click()  # empty: refused inline
    expect(reply.get_by_role("alert")).to_have_text("Write the better answer first.")
    box = reply.get_by_label("A better answer to your message")
    box.fill("<b>hi</b> there!")
    box.press("Tab")
    page.keyboard.press("Enter")  # the focused "Send suggestion"
    expect(reply.locator(".correction-sent q")).to_have_text("<b>hi</b> there!")
    expect(more).to_be_focused()
    assert reply.locator("b").count() == 0

    conversation_id = page.url.rsplit("/", 1)[1]
    stored = page.request.get(f"{server.url}/api/conversations/{conversation_id}").json()
    [correction] = stored["messages"][-1]["corrections"]
    assert correction["text"] == "<b>hi</b> there!" and correction["status"] == "pending"
    page.reload()
    expect(page.locator(".message.bot").last.locator(".correction-sent q")).to_have_text(
        "<b>hi</b> there!")
