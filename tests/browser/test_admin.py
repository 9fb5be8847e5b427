"""The admin area in Debian's Chromium: sign in, search, open a transcript, export, dashboard.

Screenshots of the inbox and the dashboard are saved under artifacts/.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from chatbot.storage.accounts import set_admin
from chatbot.storage.db import Conversation, Feedback, Message, utcnow
from chatbot.web.database import get_session
from tests.browser.test_chat import ARTIFACTS
from train.corpora import load_transcripts

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

NAME, PASSWORD = "reviewer", "a long admin password"

CHATS = [
    ("Do you like pizza with pineapple?", "i don't know", -1),
    ("hello there", "hi! how are you today?", 1),
    ("what is your favourite film?", "i like old movies", 1),
    ("can you help me with my homework", "i don't know", -1),
    ("good morning", "good morning! did you sleep well?", 1),
    ("tell me a joke", "i am not very funny", None),
]


def seed(app) -> None:
    """A fortnight of small conversations over two model versions."""
    now = utcnow()
    with app.app_context():
        session = get_session()
        set_admin(session, NAME, PASSWORD)
        for day in range(14):
            for i, (question, answer, rating) in enumerate(CHATS[: 1 + (day * 5) % len(CHATS)]):
                when = now - timedelta(days=day, minutes=7 * i)
                version = "attention-1a2b3c4d" if day < 7 else "baseline-9f8e7d6c"
                reply = Message(role="bot", text=answer, created_at=when, model_version=version,
                                options={"mode": "beam", "beam_width": 4},
                                latency_ms=30.0 + 9 * ((day + i) % 5) + (60 if i == 3 else 0))
                if rating:
                    reply.feedback = Feedback(rating=rating)
                session.add(Conversation(
                    visitor_id=f"v{i}", title=question, created_at=when, updated_at=when,
                    messages=[Message(role="user", text=question, created_at=when), reply]))
        session.commit()


@pytest.fixture(scope="module")
def server(server_without_model) -> str:
    """The session's server without a model, seeded with the fortnight above."""
    seed(server_without_model.app)
    return server_without_model.url


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_sign_in_search_open_and_export(page, server, tmp_path):
    page.goto(server + "/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login"))
    page.get_by_label("Name").fill(NAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Transcripts")).to_be_visible()
    expect(page.locator("#total")).to_have_text(re.compile(r"^Conversations found: \d+$"))
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    screenshot(page, "admin-inbox.png")

    page.get_by_label("Search messages").fill("pineapple")
    page.get_by_role("button", name="Apply").click()
    links = page.locator("a.transcript-link")
    expect(links.first).to_contain_text("pineapple")
    assert all("pineapple" in text for text in links.all_text_contents())

    with page.expect_download() as download:
        page.get_by_role("link", name="JSONL (training)").click()
    path = tmp_path / "export.jsonl"
    download.value.save_as(path)
    exported = load_transcripts(path)
    assert len(exported) == links.count() and exported[0].turns[1].rating == -1

    links.first.click()
    expect(page.get_by_role("heading", name=re.compile("pineapple"))).to_be_visible()
    expect(page.locator(".turn.bot .meta")).to_contain_text("beam_width=4")
    expect(page.locator(".turn.bot .meta")).to_contain_text("▼ bad")


def test_dashboard_charts(page, server):
    page.goto(server + "/admin/login")
    page.get_by_label("Name").fill(NAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("img", name="Conversations per day")).to_be_visible()
    expect(page.locator("#chart-conversations rect.bar")).to_have_count(30)
    expect(page.locator("#chart-latency polyline")).not_to_have_count(0)
    expect(page.locator("#chart-feedback rect.up")).to_have_count(2)
    screenshot(page, "admin-dashboard.png")
    page.once("dialog", lambda dialog: dialog.dismiss())  # the delete confirmation, refused
    page.get_by_role("link", name="Transcripts").click()
    page.locator("a.transcript-link").first.click()
    page.get_by_label(re.compile("Yes, delete")).check()
    page.get_by_role("button", name="Delete conversation").click()
    expect(page.get_by_role("heading", name=re.compile(r"^#\d+"))).to_be_visible()  # still there
