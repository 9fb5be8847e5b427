"""The explanation screenshots in docs/, made with the shipped model (models/default) in Debian's
Chromium: `.venv/bin/python -m tests.browser.make_screenshots [--out docs]`.

Not a test (pytest does not collect it): it serves the app on a temporary SQLite database, asks
one question, opens "Why this reply?" and saves docs/screenshot-explanation.png (the sentence,
the words, lit bubbles) and docs/screenshot-lstm.png (the step-through and the gate heatmaps).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from chatbot.web.app import create_app
from chatbot.web.serving import load_bot
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Server

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = ["hi! how was your weekend?",
            "i spent sunday cooking pasta with my sister. what do you like to cook?"]


def arguments(argv: list[str] | None, description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", default=str(ROOT / "models" / "default"))
    parser.add_argument("--out", default=str(ROOT / "docs"))
    return parser.parse_args(argv)


@contextlib.contextmanager
def serving(model: str) -> Iterator[tuple[Server, object]]:
    """The app with `model` on a temporary SQLite database, and Debian's Chromium."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SECRET_KEY": "screenshots", "DATABASE_URL": f"sqlite:///{tmp}/lembra.db",
                          "LOAD_MODEL": False, "RATELIMIT_ENABLED": False})
        app.extensions["lembra.bot"] = load_bot(app, model)
        with Server(app) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield server, browser
            finally:
                browser.close()


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv, __doc__.splitlines()[0])
    out = Path(args.out)
    with serving(args.model) as (server, browser):
        page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="en-US")
        page.goto(server.url)
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        for i, text in enumerate(MESSAGES):
            page.get_by_label("Message", exact=True).fill(text)
            page.keyboard.press("Enter")
            expect(page.locator(".message.bot")).to_have_count(i + 1)
        page.locator(".message.bot").last.get_by_role("button", name="Why this reply?").click()
        dialog = page.locator("#explain")
        expect(dialog.locator(".ex-summary")).to_be_visible()
        dialog.locator(".ex-reply-word").nth(0).hover()
        page.screenshot(path=str(out / "screenshot-explanation.png"))
        dialog.locator(".ex-lstm").scroll_into_view_if_needed()
        dialog.get_by_role("button", name="Next word").click()
        dialog.locator(".ex-lstm h3").evaluate("h => h.scrollIntoView({block: 'start'})")
        page.screenshot(path=str(out / "screenshot-lstm.png"))
    print(f"wrote {out / 'screenshot-explanation.png'} and {out / 'screenshot-lstm.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
