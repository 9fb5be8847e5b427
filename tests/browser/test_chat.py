"""The chat page in Debian's Chromium, driven by Playwright against a real server in a thread.

Screenshots (light, dark, phone width, the explanation) are saved under artifacts/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.browser.conftest import Server

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PHONE = {"width": 375, "height": 740}


def open_chat(page, server: Server, path: str = "/") -> None:
    page.goto(server.url + path)
    expect(page.locator("body")).to_have_attribute("data-ready", "true")


def send(page, text: str) -> None:
    count = page.locator(".message.bot").count()
    page.get_by_label("Message", exact=True).fill(text)
    page.keyboard.press("Enter")
    expect(page.locator(".message.bot")).to_have_count(count + 1)


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_chat_reload_and_history(page, server):
    open_chat(page, server)
    box = page.get_by_label("Message", exact=True)
    expect(box).to_be_focused()
    send(page, "hello")
    expect(page.locator(".message.user .text")).to_have_text(["hello"])
    expect(page.locator(".message.bot .text")).not_to_have_text("")
    expect(page).to_have_url(re.compile(r"/c/\d+$"))
    expect(page.get_by_role("link", name="hello")).to_be_visible()
    expect(box).to_be_enabled()
    send(page, "what do you like to do?")
    reply_texts = page.locator(".message.bot .text").all_text_contents()

    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator(".message.user .text")).to_have_text(["hello", "what do you like to do?"])
    expect(page.locator(".message.bot .text")).to_have_text(reply_texts)
    expect(page.locator("#chat-title")).to_have_text("hello")
    screenshot(page, "chat-light.png")


def test_text_is_never_html_and_shift_enter_adds_a_line(page, server):
    open_chat(page, server)
    box = page.get_by_label("Message", exact=True)
    box.fill("<img src=x onerror=alert(1)> <b>bold</b>")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    expect(page.locator(".message")).to_have_count(0)  # Shift+Enter did not send
    box.dispatch_event("keydown", {"key": "Enter", "isComposing": True})  # an IME confirming
    expect(page.locator(".message")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(page.locator(".message.bot")).to_have_count(1)
    user = page.locator(".message.user .text")
    expect(user).to_have_text("<img src=x onerror=alert(1)> <b>bold</b>\nsecond line")
    assert page.locator(".messages img, .messages b").count() == 0


def test_thumbs_up_is_stored(page, server):
    open_chat(page, server)
    send(page, "good morning")
    up = page.locator(".message.bot").last.get_by_role("button", name="Good reply")
    up.click()
    expect(up).to_have_attribute("aria-pressed", "true")
    conversation_id = page.url.rsplit("/", 1)[1]
    stored = page.request.get(f"{server.url}/api/conversations/{conversation_id}").json()
    assert stored["messages"][-1]["feedback"]["rating"] == 1
    page.reload()
    up = page.locator(".message.bot").last.get_by_role("button", name="Good reply")
    expect(up).to_have_attribute("aria-pressed", "true")


def test_settings_drawer_changes_the_decoding_mode(page, server):
    open_chat(page, server)
    page.get_by_role("button", name="Settings").click()
    drawer = page.get_by_role("dialog", name="Settings")
    expect(drawer).to_be_visible()
    drawer.get_by_role("radio", name="Compare drafts").check()
    drawer.get_by_label("Drafts to compare").fill("3")
    page.keyboard.press("Escape")
    send(page, "hi")
    conversation_id = page.url.rsplit("/", 1)[1]
    stored = page.request.get(f"{server.url}/api/conversations/{conversation_id}").json()
    assert stored["messages"][-1]["options"]["mode"] == "beam"
    assert stored["messages"][-1]["options"]["beam_width"] == 3


def test_new_chat_search_and_delete(page, server):
    open_chat(page, server)
    send(page, "first topic")
    page.get_by_role("button", name="New chat").click()
    expect(page.locator(".message")).to_have_count(0)
    send(page, "second topic")
    links = page.locator(".conversation-link")
    expect(links).to_have_text(["second topic", "first topic"])
    page.get_by_label("Search conversations").fill("first")
    expect(links).to_have_text(["first topic"])
    send(page, "my cat sleeps all day")  # in "second topic"
    page.get_by_label("Search conversations").fill("cat")
    expect(links).to_have_count(1)
    expect(links.locator(".conversation-title")).to_have_text("second topic")
    expect(links.locator(".conversation-snippet")).to_have_text("my cat sleeps all day")
    page.get_by_label("Search conversations").fill("")
    expect(links).to_have_count(2)
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Delete conversation: second topic").click()
    expect(links).to_have_text(["first topic"])
    expect(page.locator(".message")).to_have_count(0)  # the open conversation went away


def test_error_is_shown_inline_with_retry(page, server_without_model):
    open_chat(page, server_without_model)
    send_box = page.get_by_label("Message", exact=True)
    send_box.fill("anyone home?")
    page.keyboard.press("Enter")
    alert = page.locator("#error")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("saved")
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.locator(".message.user .text")).to_have_text(["anyone home?"])
    expect(send_box).to_be_enabled()
    page.get_by_role("button", name="Retry").click()
    expect(alert).to_be_visible()
    page.reload()
    expect(page.locator(".message.user .text")).to_have_text(["anyone home?"])


def test_portuguese_from_the_browser_and_the_switch(browser, server):
    context = browser.new_context(locale="pt-BR")
    page = context.new_page()
    open_chat(page, server)
    expect(page.get_by_role("button", name="Novo chat")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "pt")
    page.get_by_role("button", name="Configurações").click()
    page.get_by_label("Idioma da interface").select_option("en")
    expect(page.get_by_role("button", name="New chat")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    context.close()


def test_dark_theme_follows_the_system(browser, server):
    context = browser.new_context(color_scheme="dark", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    open_chat(page, server)
    send(page, "hello in the dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(20, 23, 26)"
    screenshot(page, "chat-dark.png")
    context.close()


def test_phone_width_has_nothing_overflowing(browser, server):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    open_chat(page, server)
    send(page, "a long message without spaces " + "x" * 120)
    send(page, "and one more")
    overflow = page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const wide = [...document.querySelectorAll('#chat *')]
            .filter((el) => el.getClientRects().length)
            .filter((el) => el.getBoundingClientRect().right > width + 1)
            .map((el) => el.tagName + '.' + el.className);
        return {scroll: document.documentElement.scrollWidth, width, wide};
    }""")
    assert overflow["scroll"] <= overflow["width"], overflow
    assert overflow["wide"] == [], overflow
    sidebar = page.locator("#sidebar")
    expect(sidebar).not_to_be_in_viewport()
    screenshot(page, "chat-phone.png")
    page.locator(".message.bot").last.get_by_role("button", name="Why this reply?").click()
    dialog = page.get_by_role("dialog", name="Why this reply?")
    dialog.get_by_text("Show the heatmap").click()  # the full matrix is one click away
    expect(dialog.locator("svg.heatmap")).to_be_visible()
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert dialog.evaluate("d => d.scrollWidth <= d.clientWidth")  # wide charts scroll inside
    page.keyboard.press("Escape")

    page.get_by_role("button", name="Show conversations").click()
    expect(sidebar).to_be_in_viewport()
    expect(page.get_by_role("link", name=re.compile("^a long message"))).to_be_visible()
    page.keyboard.press("Escape")
    expect(sidebar).not_to_be_in_viewport()
    expect(page.get_by_role("button", name="Show conversations")).to_be_focused()
    context.close()


def test_keyboard_alone_reaches_the_controls(page, server):
    open_chat(page, server)
    send(page, "hello keyboard")
    focused = []
    for _ in range(25):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("""() => {
            const el = document.activeElement;
            return el.getAttribute('aria-label')
                || (el.tagName === 'BUTTON' ? el.textContent.trim() : el.id);
        }"""))
    for name in ("New chat", "search", "Settings", "Good reply", "Why this reply?"):
        assert name in focused, focused


def test_copy_and_regenerate_a_reply(browser, server):
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    open_chat(page, server)
    send(page, "tell me a story")
    last = page.locator(".message.bot").last
    text = last.locator(".text").text_content()
    last.get_by_role("button", name="Copy reply").click()
    expect(last.get_by_role("button", name="Copy reply")).to_have_class(re.compile("done"))
    assert page.evaluate("navigator.clipboard.readText()") == text
    old_id = last.get_attribute("data-id")
    last.get_by_role("button", name="Regenerate reply").click()
    expect(page.locator(".message.bot")).to_have_count(1)
    expect(page.locator(".message.bot")).not_to_have_attribute("data-id", old_id)
    expect(page.locator(".message.user .text")).to_have_text(["tell me a story"])
    context.close()


def test_typing_is_shown_and_only_sending_waits_for_a_reply(page, server):
    open_chat(page, server)
    held = []
    page.route(re.compile(r".*/messages$"), lambda route: held.append(route))
    box = page.get_by_label("Message", exact=True)
    box.fill("are you thinking?")
    with page.expect_request(re.compile(r".*/messages$")):
        page.keyboard.press("Enter")
    expect(box).to_be_editable()  # the request is on hold in `held`; the next one can be typed
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    expect(page.get_by_role("status")).to_have_text(re.compile("Lembra is typing"))
    expect(page.locator(".message.user .text")).to_have_text(["are you thinking?"])
    while not held:  # the route handler runs as Playwright dispatches events
        page.wait_for_timeout(10)
    held[0].continue_()
    expect(page.locator(".message.bot")).to_have_count(1)
    expect(box).to_be_enabled()
    expect(box).to_be_focused()
    expect(page.locator("#typing")).to_be_hidden()
