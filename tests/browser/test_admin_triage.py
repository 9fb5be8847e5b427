"""Admin triage in Debian's Chromium: the suggestions queue, keyboard triage (j/k, e, r, f, n),
the sticky review bar, and the phone layout of every admin page.

The transcript with a regenerated reply and a reviewer's correction is saved as
artifacts/admin-review.png (docs/screenshot-admin.png is a copy of it).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from chatbot.storage.accounts import set_admin
from chatbot.storage.db import TAGS_CHARS, Conversation, Correction, Feedback, Message, utcnow
from chatbot.web.database import get_session
from tests.browser.test_chat import ARTIFACTS

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

NAME, PASSWORD = "triager", "a long triage password"
PHONE = {"width": 390, "height": 844}
OPTIONS = {"mode": "rerank", "candidates": 8, "temperature": 0.7, "top_k": 0, "top_p": 0.9,
           "seed": 11, "beam_width": 4, "length_penalty": 0.6, "min_len": 2, "max_len": 40,
           "no_repeat_ngram": 3, "repetition_penalty": 1.0}


def reply(text: str, confidence: float, when, **extra) -> Message:
    return Message(role="bot", text=text, created_at=when, model_version="default-3dc857f8",
                   options=OPTIONS, latency_ms=212.0, confidence=confidence, **extra)


def seed(app) -> dict[str, int]:
    """A long conversation with a regenerated reply and a pending suggestion, and two short ones."""
    now = utcnow()
    with app.app_context():
        session = get_session()
        set_admin(session, NAME, PASSWORD)
        long_one = Conversation(visitor_id="c0ffee42", title="what should i cook tonight?",
                                created_at=now - timedelta(hours=1), updated_at=now)
        session.add(long_one)
        turns = [("what should i cook tonight?", "maybe pasta?", -3.9),
                 ("something with pasta maybe", "pasta is great! what sauce do you like?", -1.2),
                 ("tomato and basil", "that sounds delicious. do you cook often?", -0.9)]
        for i, (question, answer, confidence) in enumerate(turns * 3):
            when = now - timedelta(minutes=50 - i * 5)
            long_one.messages.append(Message(role="user", text=question, created_at=when))
            long_one.messages.append(reply(answer, confidence, when))
        when = now - timedelta(minutes=3)
        long_one.messages.append(Message(role="user", text="any dessert ideas?", created_at=when))
        replaced = reply("i don't know, i like to read books", -4.5, when,
                         feedback=Feedback(rating=-1, comment="off topic"))
        long_one.messages.append(replaced)
        session.flush()
        again = reply("maybe a fruit salad?", -1.6, now - timedelta(minutes=2))
        long_one.messages.append(again)
        session.flush()
        replaced.superseded_by_id = again.id
        session.add(Correction(message_id=again.id, text="How about a lemon tart?"))
        for n, (question, answer, confidence) in enumerate(
                [("hello there", "hi! how are you today?", -0.4),
                 ("tell me a joke", "i am not very funny", -2.7)]):
            when = now - timedelta(hours=3 + n)
            short = Conversation(visitor_id=f"bead{n}", title=question, created_at=when,
                                 updated_at=when)
            short.messages = [Message(role="user", text=question, created_at=when),
                              reply(answer, confidence, when)]
            session.add(short)
        session.commit()
        return {"long": long_one.id}


@pytest.fixture(scope="module")
def server(server_without_model):
    ids = seed(server_without_model.app)
    return server_without_model.url, ids


def sign_in(page, url: str) -> None:
    page.goto(url + "/admin/login")
    page.get_by_label("Name").fill(NAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Transcripts")).to_be_visible()


def test_keyboard_triage_with_the_sticky_review_bar(page, server):
    url, ids = server
    sign_in(page, url)
    page.get_by_label("Sort").select_option("confidence")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    first = page.locator("tr.inbox-row").first
    expect(first).to_have_attribute("data-id", str(ids["long"]))  # -3.9 (the -4.5 was replaced)
    page.keyboard.press("j")
    expect(first).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("j")
    expect(page.locator("tr.inbox-row").nth(1)).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/admin/transcripts/{ids['long']}\?sort=confidence$"))

    versions = page.locator("details.reply-versions")
    expect(versions).to_have_count(1)
    expect(versions.locator(".older-versions")).not_to_be_visible()  # collapsed
    versions.locator("summary").click()
    expect(versions.locator(".superseded .text")).to_have_text("i don't know, i like to read books")

    bar = page.locator(".review-bar")
    expect(bar).to_be_in_viewport()  # at the bottom of a long transcript, without scrolling
    page.keyboard.press("j")
    page.keyboard.press("j")
    second = page.locator("ol.transcript > li.turn.bot").nth(1)
    expect(second).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("e")
    box = second.get_by_label("Your answer (accepted at once, as a training target)")
    expect(box).to_be_focused()
    box.fill("Pasta is great! Do you like it with tomato?")
    second.get_by_role("button", name="Save as the correction").click()
    expect(page.locator(".flash").first).to_be_in_viewport()  # the jump to the reply keeps it seen
    expect(page.locator(".flash").first).to_contain_text("accepted correction")
    expect(page).to_have_url(re.compile(r"\?sort=confidence#m\d+$"))
    expect(page.locator(".correction.accepted").first).to_contain_text("written by triager")

    for key, box in (("f", "#flagged"), ("r", "#reviewed")):  # each saves the review at once
        with page.expect_navigation():
            page.keyboard.press(key)
        expect(page.locator(box)).to_be_checked()
    expect(page.locator("#flagged")).to_be_checked()
    expect(page.locator(".review-bar")).to_contain_text("Reviewed by triager")
    tags = page.locator("#tags")
    tags.fill("😀" * (TAGS_CHARS + 5))  # capped in characters, as the server counts them
    assert tags.input_value() == "😀" * TAGS_CHARS
    tags.fill("")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("details.reply-versions summary").click()
    page.screenshot(path=str(ARTIFACTS / "admin-review.png"))
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(r"/admin/transcripts/\d+\?sort=confidence$"))
    expect(page).not_to_have_url(re.compile(rf"/transcripts/{ids['long']}\?"))


def test_the_suggestions_queue(page, server):
    url, _ = server
    sign_in(page, url)
    nav = page.locator("#nav-suggestions")
    expect(nav.locator(".count")).to_have_text("1")
    nav.click()
    expect(page.get_by_role("heading", name="Pending suggestions")).to_be_visible()
    expect(page.locator("#queue-reply")).to_have_text("maybe a fruit salad?")
    expect(page.locator(".queue-item .turn.user:not(.earlier)")).to_have_text(re.compile("any dessert ideas"))
    expect(page.locator(".queue-item .turn.earlier")).to_have_count(2)  # the two turns before
    expect(page.locator(".keys-help")).to_contain_text("a accept")
    box = page.get_by_label("The visitor's better answer (edit it before accepting if needed)")
    box.fill("How about a lemon tart, or a fruit salad?")
    page.get_by_role("heading", name="Pending suggestions").click()  # out of the box: keys work
    page.keyboard.press("a")
    expect(page.locator("#queue-empty")).to_be_visible()
    expect(page.locator(".flash")).to_contain_text("Correction accepted")
    expect(nav.locator(".count")).to_have_text("0")


@pytest.mark.parametrize("path", ["/admin/", "/admin/dashboard", "/admin/models",
                                  "/admin/suggestions", "TRANSCRIPT"])
def test_phone_layout_has_nothing_overflowing(browser, server, path):
    url, ids = server
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US")
    page = context.new_page()
    sign_in(page, url)
    page.goto(url + (f"/admin/transcripts/{ids['long']}" if path == "TRANSCRIPT" else path))
    layout = page.evaluate("""() => {
        document.querySelectorAll('details').forEach((d) => { d.open = true; });
        const width = document.documentElement.clientWidth;
        const wide = [...document.querySelectorAll('main *, header *')]
            .filter((el) => el.getClientRects().length && !el.closest('.table-wrap, .scroll-x'))
            .filter((el) => el.getBoundingClientRect().right > width + 1)
            .map((el) => el.tagName + '.' + (el.className.baseVal ?? el.className));
        const ticks = [...document.querySelectorAll('svg.chart text')]
            .map((t) => t.getBoundingClientRect().height).filter((h) => h > 0);
        const codes = [...document.querySelectorAll('code')]
            .filter((c) => c.getClientRects().length > 1).map((c) => c.textContent);
        return {scroll: document.documentElement.scrollWidth, width, wide,
                smallest: ticks.length ? Math.min(...ticks) : null, codes};
    }""")
    assert layout["scroll"] <= layout["width"], layout
    assert layout["wide"] == [], layout
    assert layout["codes"] == [], layout  # version codes are never broken across lines
    if layout["smallest"] is not None:
        assert layout["smallest"] >= 9, layout  # chart labels stay readable
    if path == "/admin/dashboard":
        cards = page.locator(".chart-grid").bounding_box()
        compared = page.locator(".per-model").bounding_box()
        assert compared["y"] >= cards["y"] + cards["height"] + 8  # a gap, not touching
    ARTIFACTS.mkdir(exist_ok=True)
    name = "transcript" if path == "TRANSCRIPT" else path.strip("/").replace("/", "-") or "inbox"
    page.screenshot(path=str(ARTIFACTS / f"admin-phone-{name}.png"), full_page=True)
    context.close()
