"""The chat page against what people expect of the chat apps they use daily: each defect and
feature of issue #20 at phone (390x844) and desktop (1366x800) widths, light and dark where the
colours matter. Debian's Chromium, a real server, the tiny model."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chatbot.storage.db import TITLE_CHARS

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 800}
SIZES = pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
LONG_TITLE = "a very long conversation title that goes on and on about the weekend plans"


@pytest.fixture
def open_page(browser, server) -> Iterator[Callable]:
    """open_page(size, scheme="light", locale="en-US", path="/", **context options): a ready
    chat page in a fresh context (a new visitor); any console error fails the test."""
    contexts, errors = [], []

    def make(size=DESKTOP, scheme="light", locale="en-US", path="/", **options):
        phone = size == PHONE
        context = browser.new_context(viewport=size, color_scheme=scheme, locale=locale,
                                      is_mobile=phone, has_touch=phone, accept_downloads=True,
                                      **options)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url + path)
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        return page

    make.expected = []  # console errors a test provokes on purpose
    yield make
    for context in contexts:
        context.close()
    assert [e for e in errors if not any(x in e for x in make.expected)] == [], errors


def send(page, text: str) -> None:
    count = page.locator(".message.bot").count()
    page.locator("#input").fill(text)  # by id: the label is translated
    page.locator("#input").press("Enter")
    expect(page.locator(".message.bot")).to_have_count(count + 1)


def api(page, method: str, path: str, body: dict | None = None):
    """A request from the page itself (its cookie and CSRF token)."""
    return page.evaluate("""async ([method, path, body]) => {
        const token = document.querySelector('meta[name="csrf-token"]').content;
        const r = await fetch(path, {method, headers: {'Content-Type': 'application/json',
            'X-CSRF-Token': token}, body: body === null ? undefined : JSON.stringify(body)});
        return r.status === 204 ? null : r.json();
    }""", [method, path, body])


def conversation_id(page) -> str:
    return page.url.rsplit("/", 1)[1]


def stored(page) -> dict:
    return api(page, "GET", f"/api/conversations/{conversation_id(page)}")


def wait_until(page, condition: str, timeout_ms: int = 5000) -> None:
    """Poll a JavaScript condition from here: the page's CSP forbids wait_for_function's eval."""
    for _ in range(timeout_ms // 50):
        if page.evaluate(condition):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"still false after {timeout_ms} ms: {condition}")


def luminance(rgb: str) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (float(x) for x in re.findall(r"[\d.]+", rgb)[:3])
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def show_sidebar(page) -> None:
    if page.viewport_size == PHONE:
        page.get_by_role("button", name="Show conversations").click()
    expect(page.locator("#sidebar")).to_be_in_viewport()
    wait_until(page, "document.getElementById('sidebar').getBoundingClientRect().left >= 0")


# Defect 1: the sidebar


@SIZES
def test_long_titles_are_cut_and_every_delete_button_is_inside_the_sidebar(open_page, size):
    page = open_page(size)
    for n in range(3):
        api(page, "POST", "/api/conversations", {"title": f"{LONG_TITLE} {n}"})
    page.reload()
    expect(page.locator(".conversation")).to_have_count(3)
    show_sidebar(page)
    nav = page.locator("#sidebar nav")
    assert nav.evaluate("n => n.scrollWidth <= n.clientWidth"), "the list scrolls sideways"
    edge = page.locator("#sidebar").bounding_box()
    links = page.locator(".conversation-link")
    before = [links.nth(i).bounding_box()["x"] for i in range(3)]
    for i in range(3):
        link = links.nth(i)
        assert link.evaluate("a => a.scrollWidth > a.clientWidth")  # cut, with an ellipsis
        assert link.evaluate("a => getComputedStyle(a).textOverflow") == "ellipsis"
        trash = page.locator(".delete-conversation").nth(i)
        trash.focus()
        box = trash.bounding_box()
        assert box["x"] >= edge["x"] and box["x"] + box["width"] <= edge["x"] + edge["width"] + 0.5
        assert trash.evaluate("b => getComputedStyle(b).opacity") == "1"
    assert [links.nth(i).bounding_box()["x"] for i in range(3)] == before  # nothing shifted
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name=f"Delete conversation: {LONG_TITLE} 1").click()
    expect(links).to_have_count(2)


# Defect 2: typing while the bot replies


@SIZES
def test_what_is_typed_while_a_reply_is_pending_is_kept(open_page, size):
    page = open_page(size)
    held = []
    # The first message's request is held; later ones go through.
    page.route(re.compile(r".*/messages$"),
               lambda route: route.continue_() if held else held.append(route))
    box = page.get_by_label("Message", exact=True)
    box.fill("hello there")
    with page.expect_request(re.compile(r".*/messages$")):
        box.press("Enter")
    expect(page.locator("#typing")).to_be_visible()
    expect(box).to_be_editable()
    box.press_sequentially("so what are you up to today?")
    box.press("Enter")  # nothing is sent while the reply is pending...
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    while not held:
        page.wait_for_timeout(10)
    held[0].continue_()
    expect(page.locator(".message.bot")).to_have_count(1)
    expect(box).to_have_value("so what are you up to today?")  # ...and nothing was lost
    expect(box).to_be_focused()
    box.press("Enter")
    expect(page.locator(".message.user .text")).to_have_text(["hello there", "so what are you up to today?"])
    expect(page.locator(".message.bot")).to_have_count(2)


# Defect 4: the model's language


def test_the_portuguese_page_says_the_model_speaks_english(open_page):
    page = open_page(PHONE, locale="pt-BR")
    expect(page.locator("#about")).to_contain_text("inglês")
    expect(page.locator("#about")).to_be_visible()
    send(page, "oi, tudo bem?")
    note = page.locator(".message.bot").last.locator(".language-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("inglês")
    reply = page.locator(".message.bot").last
    reply.get_by_role("button", name="Mais ações").click()
    expect(reply.locator(".menu-detail")).to_contain_text("Melhor resposta")  # the mode, translated
    page.keyboard.press("Escape")
    send(page, "hello, how are you?")
    expect(page.locator(".message.bot").last.locator(".language-note")).to_have_count(0)


# Defect 5: what Lembra is, and where to find help


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_page_says_what_lembra_is_and_points_to_help(open_page, scheme):
    page = open_page(DESKTOP, scheme=scheme)
    expect(page.locator("#about")).to_have_text(re.compile("small research model.*wrong"))
    send(page, "i feel so lonely since my mother passed away")
    note = page.locator(".message.bot").last.locator(".support-note")
    expect(note).to_be_visible()
    expect(note.get_by_role("link", name="findahelpline.com")).to_have_attribute(
        "href", "https://findahelpline.com")
    assert contrast(note.evaluate("n => getComputedStyle(n).color"),
                    note.evaluate("n => getComputedStyle(n).backgroundColor")) >= 4.5
    send(page, "what is your favourite food?")
    expect(page.locator(".message.bot").last.locator(".reply-note")).to_have_count(0)


# Defect 6: thumbs


@pytest.mark.parametrize(("size", "scheme"), [(PHONE, "dark"), (DESKTOP, "light")],
                         ids=["phone-dark", "desktop-light"])
def test_thumbs_show_their_state_thank_and_ask_why(open_page, size, scheme):
    page = open_page(size, scheme=scheme)
    send(page, "good morning")
    reply = page.locator(".message.bot").last
    up, down = reply.get_by_role("button", name="Good reply"), reply.get_by_role("button", name="Bad reply")
    idle = up.evaluate("b => getComputedStyle(b).color")
    up.click()
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("status").filter(has_text="Thanks for the feedback")).to_be_visible()
    up_colour = up.evaluate("b => getComputedStyle(b).color")
    assert up_colour != idle
    down.click()
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(up).to_have_attribute("aria-pressed", "false")
    assert down.evaluate("b => getComputedStyle(b).color") not in (idle, up_colour)
    reason = reply.get_by_label("What was wrong with it? (optional)")
    expect(reason).to_be_focused()
    toast = page.get_by_role("status").filter(has_text="Thanks for the feedback")
    if toast.is_visible():  # the thank-you never covers the form's buttons
        box = toast.bounding_box()
        for button in reply.locator(".feedback-form button").all():
            b = button.bounding_box()
            assert (box["y"] + box["height"] <= b["y"] or b["y"] + b["height"] <= box["y"]
                    or box["x"] + box["width"] <= b["x"] or b["x"] + b["width"] <= box["x"]), (box, b)
    reason.fill("it did not answer my question")
    reply.get_by_role("button", name="Send", exact=True).click()
    expect(reason).to_have_count(0)
    feedback = stored(page)["messages"][-1]["feedback"]
    assert feedback == {**feedback, "rating": -1, "comment": "it did not answer my question"}


# Defect 7: less chrome, a reading column


def test_older_replies_keep_their_actions_out_of_sight_until_hovered(open_page):
    page = open_page(DESKTOP)
    send(page, "hello")
    send(page, "what do you like to do?")
    first, last = page.locator(".message.bot").first, page.locator(".message.bot").last
    opacity = "g => getComputedStyle(g).opacity"
    page.mouse.move(0, 0)
    assert first.locator(".actions").evaluate(opacity) == "0"
    assert last.locator(".actions").evaluate(opacity) == "1"
    first.hover()
    assert first.locator(".actions").evaluate(opacity) == "1"
    expect(page.locator(".message.bot .meta")).to_have_count(0)  # details went into the menu
    first.get_by_role("button", name="More actions").click()
    expect(first.get_by_role("menuitem", name=re.compile("^Model .* · Best fit · \\d+ ms$"))).to_be_visible()
    page.keyboard.press("Escape")
    labels = page.locator(".actions").evaluate_all("gs => gs.map(g => g.getAttribute('aria-label'))")
    assert len(set(labels)) == len(labels)
    assert all(label.startswith("Actions for the reply") for label in labels)
    column = page.locator(".message").evaluate_all(
        "ms => [Math.min(...ms.map(m => m.getBoundingClientRect().left)),"
        " Math.max(...ms.map(m => m.getBoundingClientRect().right))]")
    chat = page.locator("#chat").bounding_box()
    assert column[1] - column[0] <= 48 * 16 + 1  # a 48rem reading column...
    middle = chat["x"] + chat["width"] / 2
    assert abs((column[0] + column[1]) / 2 - middle) < 48 * 16 / 2  # ...around the middle
    why = page.locator(".message.bot").last.get_by_role("button", name="Why this reply?")
    assert why.locator("use").get_attribute("href").endswith("#why")  # a question mark, no grid


# Defect 8: settings in plain words


@pytest.mark.parametrize(("size", "scheme"), [(PHONE, "light"), (DESKTOP, "dark")],
                         ids=["phone-light", "desktop-dark"])
def test_settings_speak_plainly_and_show_every_option_whole(open_page, size, scheme):
    page = open_page(size, scheme=scheme)
    page.get_by_role("button", name="Settings").click()
    drawer = page.get_by_role("dialog", name="Settings")
    for name in ("Best fit", "Most likely words", "Compare drafts", "Varied"):
        option = drawer.get_by_role("radio", name=name)
        expect(option).to_be_visible()
        label = drawer.locator("label.choice").filter(has=page.get_by_role("radio", name=name))
        assert label.evaluate("l => l.scrollWidth <= l.clientWidth + 1")  # nothing cut
        assert option.evaluate("o => o.getAttribute('aria-describedby')")
    expect(drawer.get_by_role("radio", name="Best fit")).to_be_checked()
    accent = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent')")
    assert accent.strip()
    slider_accent = drawer.get_by_label("Surprise").evaluate("s => getComputedStyle(s).accentColor")
    assert slider_accent != "auto"
    drawer.get_by_role("radio", name="Compare drafts").check()
    drawer.get_by_label("Drafts to compare").fill("3")
    page.keyboard.press("Escape")
    send(page, "hi")
    options = stored(page)["messages"][-1]["options"]
    assert options["mode"] == "beam" and options["beam_width"] == 3


# Defect 9: the phone header


@pytest.mark.parametrize("locale", ["pt-BR", "en-US"])
def test_the_phone_header_leaves_room_for_the_title(open_page, locale):
    page = open_page(PHONE, locale=locale)
    send(page, "a conversation title that is rather long")
    header = page.locator(".chat-head").bounding_box()
    title = page.locator("#chat-title").bounding_box()
    assert title["width"] >= 0.5 * header["width"]
    for button in page.locator(".chat-head button:visible").all():
        assert button.bounding_box()["width"] <= 48
        assert button.evaluate("b => getComputedStyle(b).webkitTapHighlightColor") == "rgba(0, 0, 0, 0)"
    page.get_by_role("button", name="Novo chat" if locale == "pt-BR" else "New chat").click()
    expect(page.locator(".message")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/$"))


# Defect 10: copy, errors, the limit, contrast, labels


def test_copy_is_announced(open_page):
    page = open_page(DESKTOP, permissions=["clipboard-read", "clipboard-write"])
    send(page, "tell me a story")
    reply = page.locator(".message.bot").last
    reply.get_by_role("button", name="Copy reply").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == reply.locator(".text").text_content()


def test_errors_read_like_sentences_for_people(open_page, server):
    open_page.expected += ["net::ERR_FAILED", "status of 404", "status of 429"]
    page = open_page(PHONE)
    page.route(re.compile(r".*/api/conversations$"), lambda route: route.abort()
               if route.request.method == "POST" else route.continue_())
    page.get_by_label("Message", exact=True).fill("anyone there?")
    page.get_by_label("Message", exact=True).press("Enter")
    expect(page.locator("#error-text")).to_have_text(
        "The message could not be sent. Lembra can't be reached. Check your connection, then try again.")
    page.unroute(re.compile(r".*/api/conversations$"))
    page.route(re.compile(r".*/messages$"), lambda route: route.fulfill(
        status=429, content_type="application/json", body='{"error": "429 Too Many Requests"}'))
    page.get_by_role("button", name="Retry").click()
    expect(page.locator("#error-text")).to_have_text(
        "The message could not be sent. That was a lot of messages at once. Wait a moment, then try again.")
    missing = page.goto(server.url + "/c/999999")
    assert missing.status == 404
    expect(page.locator("main")).to_contain_text("doesn't exist")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_limit_counts_emoji_as_one_and_fields_have_visible_borders(open_page, scheme):
    page = open_page(PHONE, scheme=scheme)
    box = page.get_by_label("Message", exact=True)
    assert box.get_attribute("maxlength") is None
    box.fill("😀" * 1000)
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    expect(page.locator("#char-count")).to_have_text("0 characters left")
    box.fill("😀" * 1001)
    expect(page.locator("#char-count")).to_have_text("1 characters over the limit")
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    for selector in ("#input", "#search"):
        field = page.locator(selector)
        border = field.evaluate("f => getComputedStyle(f).borderTopColor")
        inside = field.evaluate("f => getComputedStyle(f).backgroundColor")
        outside = field.evaluate(
            "f => getComputedStyle(f.parentElement.closest('form, aside')).backgroundColor")
        assert contrast(border, inside) >= 3 and contrast(border, outside) >= 3, (selector, border)


# Features


@SIZES
def test_rename_a_conversation_from_its_menu(open_page, size):
    page = open_page(size)
    send(page, "hello")
    page.get_by_role("button", name="Conversation options").click()
    page.get_by_role("menuitem", name="Rename").click()
    dialog = page.get_by_role("dialog", name="Rename conversation")
    dialog.get_by_label("Name").fill("😀" * (TITLE_CHARS + 1))  # the server's cap, in characters
    assert dialog.get_by_label("Name").input_value() == "😀" * TITLE_CHARS
    dialog.get_by_label("Name").fill("   ")  # a blank name is refused, with a reason
    dialog.get_by_label("Name").press("Enter")
    expect(dialog.get_by_role("alert")).to_have_text("Give the conversation a name, or cancel.")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name").fill("Small talk")
    dialog.get_by_label("Name").press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator("#chat-title")).to_have_text("Small talk")
    page.reload()
    expect(page.locator("#chat-title")).to_have_text("Small talk")
    show_sidebar(page)
    expect(page.get_by_role("link", name="Small talk")).to_be_visible()


@SIZES
def test_the_empty_chat_offers_starters_and_says_what_why_shows(open_page, size):
    page = open_page(size)
    empty = page.locator("#empty-chat")
    expect(empty.locator(".starter")).to_have_count(4)
    expect(empty.locator(".why-line")).to_contain_text("“Why?” shows which of your words")
    empty.locator(".starter").nth(1).click()
    expect(page.locator(".message.user .text")).to_have_text(["what kind of music do you like?"])
    expect(page.locator(".message.bot")).to_have_count(1)
    expect(empty).to_be_hidden()
    why = page.locator(".message.bot").last.get_by_role("button", name="Why this reply?")
    expect(why).to_contain_text("Why?")  # a word beside the icon, not a bare icon
    if size == PHONE:  # every action a finger can hit: at least 40 x 40 px
        page.locator(".message.bot .bubble").last.click()
        boxes = page.locator(".message.bot").last.locator(".actions .icon-btn:visible").evaluate_all(
            "bs => bs.map((b) => [b.getBoundingClientRect().width, b.getBoundingClientRect().height])")
        assert boxes and all(w >= 40 and h >= 40 for w, h in boxes), boxes


@SIZES
def test_edit_the_last_message_and_send_it_again(open_page, size):
    page = open_page(size)
    send(page, "helo")
    old_reply = page.locator(".message.bot").last.get_attribute("data-id")
    user = page.locator(".message.user").last
    user.locator(".bubble").click()  # a tap shows the pencil on touch screens
    user.get_by_role("button", name="Edit message").click()
    editor = user.get_by_role("textbox", name="Edit message")
    expect(editor).to_have_value("helo")
    editor.fill("hello there")
    editor.press("Enter")
    expect(page.locator(".message.user .text")).to_have_text(["hello there"])
    expect(page.locator(".message.bot")).to_have_count(1)
    expect(page.locator(".message.bot")).not_to_have_attribute("data-id", old_reply)
    assert [m["text"] for m in stored(page)["messages"]][0] == "hello there"
    new_reply = page.locator(".message.bot").last.get_attribute("data-id")
    # an edit is a branch: the old wording and its reply are one click back, and back again
    page.reload()
    user = page.locator(".message.user").last
    expect(user.locator(".version-count")).to_have_text("2/2")
    user.locator(".bubble").click()
    user.get_by_role("button", name="Previous wording").click()
    expect(user.locator(".text")).to_have_text("helo")
    expect(user.locator(".version-count")).to_have_text("1/2")
    expect(page.locator(".message.bot")).to_have_count(1)
    expect(page.locator(".message.bot")).to_have_attribute("data-id", old_reply)
    expect(user.get_by_role("button", name="Edit message")).to_be_hidden()  # only the newest
    expect(page.locator(".message.bot.branch .regenerate")).to_be_hidden()
    user.get_by_role("button", name="Next wording").click()
    expect(user.locator(".text")).to_have_text("hello there")
    expect(page.locator(".message.bot")).to_have_attribute("data-id", new_reply)
    # a regenerate of the newest reply, then paging: each wording brings back its own reply
    with page.expect_response(re.compile(r"/reply$"), timeout=60_000):
        page.locator(".message.bot").last.get_by_role("button", name="Regenerate reply").click()
    expect(page.locator(".message.bot .version-count")).to_have_text("2/2")
    regenerated = page.locator(".message.bot").last.get_attribute("data-id")
    user.get_by_role("button", name="Previous wording").click()
    expect(page.locator(".message.bot")).to_have_attribute("data-id", old_reply)
    user.get_by_role("button", name="Next wording").click()
    expect(page.locator(".message.bot")).to_have_attribute("data-id", regenerated)


def test_thumbs_and_suggestions_act_on_the_version_shown(open_page):
    page = open_page(DESKTOP)
    send(page, "what do you like to cook?")
    first = page.locator(".message.bot").last.get_attribute("data-id")
    page.locator(".message.bot").last.get_by_role("button", name="Good reply").click()
    page.locator(".message.bot").last.get_by_role("button", name="Regenerate reply").click()
    reply = page.locator(".message.bot").last
    expect(reply.locator(".version-count")).to_have_text("2/2")
    up = reply.get_by_role("button", name="Good reply")
    expect(up).to_have_attribute("aria-pressed", "false")  # the new version has no rating yet
    reply.get_by_role("button", name="Previous version").click()
    expect(up).to_have_attribute("aria-pressed", "true")  # the first version's own rating
    reply.get_by_role("button", name="Bad reply").click()
    reply.get_by_role("button", name="Skip").click()
    reply.get_by_role("button", name="Next version").click()
    expect(reply.get_by_role("button", name="Bad reply")).to_have_attribute("aria-pressed", "false")
    newest = stored(page)["messages"][-1]
    assert newest["feedback"] is None
    assert newest["versions"][0]["id"] == int(first) and newest["versions"][0]["feedback"]["rating"] == -1


@pytest.mark.parametrize("system", ["light", "dark"])
def test_the_theme_can_be_chosen_against_the_system(open_page, system):
    page = open_page(DESKTOP, scheme=system)
    other = "dark" if system == "light" else "light"
    background = {"light": "rgb(247, 247, 245)", "dark": "rgb(20, 23, 26)"}
    body = "getComputedStyle(document.body).backgroundColor"
    assert page.evaluate(body) == background[system]
    page.get_by_role("button", name="Settings").click()
    drawer = page.get_by_role("dialog", name="Settings")
    expect(drawer.get_by_role("radio", name="Same as the system")).to_be_checked()
    drawer.get_by_role("radio", name=other.capitalize()).check()
    assert page.evaluate(body) == background[other]
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    assert page.evaluate(body) == background[other]  # kept, and applied before the first paint
    page.get_by_role("button", name="Settings").click()
    drawer.get_by_role("radio", name="Same as the system").check()
    assert page.evaluate(body) == background[system]


@SIZES
def test_scroll_to_latest_appears_when_scrolled_up(open_page, size):
    page = open_page(size)
    for n in range(6):
        send(page, f"message number {n} " + "with some words " * 6)
    button = page.get_by_role("button", name="Scroll to the latest message")
    expect(button).to_be_hidden()
    page.locator("#messages").evaluate("l => l.scrollTo(0, 0)")
    expect(button).to_be_visible()
    button.click()
    wait_until(page, "(() => { const l = document.getElementById('messages');"
                     " return l.scrollHeight - l.scrollTop - l.clientHeight < 2; })()")
    expect(button).to_be_hidden()


def test_export_one_conversation_as_markdown_and_json(open_page):
    page = open_page(DESKTOP)
    send(page, "hello export")
    reply = page.locator(".message.bot .text").last.text_content()
    for name, check in (("Export as Markdown", "md"), ("Export as JSON", "json")):
        page.get_by_role("button", name="Conversation options").click()
        with page.expect_download() as download:
            page.get_by_role("menuitem", name=name).click()
        path = download.value.path()
        text = Path(path).read_text(encoding="utf-8")
        assert download.value.suggested_filename == f"lembra-conversation-{conversation_id(page)}.{check}"
        if check == "md":
            assert text.startswith("# hello export") and f"> {reply}" in text
        else:
            assert [m["text"] for m in json.loads(text)["messages"]] == ["hello export", reply]


# Defect 3: versions of a regenerated reply


def test_regenerated_replies_page_through_their_versions(open_page):
    page = open_page(DESKTOP)
    send(page, "tell me about your day")
    reply = page.locator(".message.bot").last
    first = reply.locator(".text").text_content()
    reply.get_by_role("button", name="Regenerate reply").click()
    counter = page.locator(".message.bot").last.locator(".version-count")
    expect(counter).to_have_text("2/2")
    second = page.locator(".message.bot .text").last.text_content()
    assert second != first
    page.locator(".message.bot").last.get_by_role("button", name="Previous version").click()
    expect(counter).to_have_text("1/2")
    expect(page.locator(".message.bot .text")).to_have_text([first])
    expect(page.locator(".message.bot").last.get_by_role("button", name="Previous version")).to_be_disabled()
    page.locator(".message.bot").last.get_by_role("button", name="Next version").click()
    expect(page.locator(".message.bot .text")).to_have_text([second])
    page.reload()
    expect(page.locator(".message.bot").last.locator(".version-count")).to_have_text("2/2")


def test_sad_news_the_page_missed_before_gets_the_note_and_a_crisis_the_fixed_reply(open_page):
    """The server classifies each message (chatbot/support.py): "died" was not in the page's own
    keyword list, and a crisis is answered by the message written by people."""
    page = open_page(DESKTOP)
    send(page, "my dog died yesterday")
    expect(page.locator(".message.bot").last.locator(".support-note")).to_be_visible()
    send(page, "i don't want to be alive anymore")
    last = page.locator(".message.bot").last
    expect(last.locator(".text")).to_contain_text("findahelpline.com")
    expect(last.locator(".support-note")).to_be_visible()
    last.get_by_role("button", name=re.compile("Why this reply")).click()
    expect(page.locator("#explain .ex-summary")).to_have_text(
        re.compile(r"^Lembra did not write this reply"))
