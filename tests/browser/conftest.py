"""The browser tests' fixtures: the app served by werkzeug in a thread, and Debian's Chromium,
launched once for the whole session and driven by Playwright (never a downloaded browser).

Each server starts once per session: `server` answers with the tiny model, `server_without_model`
has none (the admin tests seed it). Each test gets a fresh browser context, so a new visitor.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from chatbot.web.app import create_app
from chatbot.web.serving import warm_up

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class Server:
    """An app on 127.0.0.1 at a free port, served by werkzeug in a background thread."""

    def __init__(self, app):
        self.app = app
        self.httpd = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.thread.join()


def serve(tmp_path_factory, name: str, **config) -> Server:
    db = tmp_path_factory.mktemp(name) / "lembra.db"
    app = create_app({"SECRET_KEY": "browser-test", "DATABASE_URL": f"sqlite:///{db}",
                      "LOAD_MODEL": False, "RATELIMIT_ENABLED": False, **config})
    return Server(app)


@pytest.fixture(scope="session")
def browser():
    """Chromium, launched once; skipped where Playwright or Debian's chromium is missing."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory, bot) -> Iterator[Server]:
    warm_up(bot)  # the first reply in a page must not wait for graph tracing
    with serve(tmp_path_factory, "browser", BOT=bot) as running:
        yield running


@pytest.fixture(scope="session")
def refine_server(tmp_path_factory, refine_bundle) -> Iterator[Server]:
    """The app serving the tiny retrieve-and-refine model (examples and the copy gate)."""
    from chatbot.bot import Bot

    bot = Bot.load(refine_bundle)
    warm_up(bot)
    with serve(tmp_path_factory, "browser_refine", BOT=bot) as running:
        yield running


@pytest.fixture(scope="session")
def server_without_model(tmp_path_factory) -> Iterator[Server]:
    with serve(tmp_path_factory, "browser_down") as running:
        yield running


@pytest.fixture
def page(browser):
    """A fresh browser profile (so a new visitor) that fails the test on any console error."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US",
                                  accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    # A 503 is what the no-model server is supposed to answer; anything else is a bug.
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and "status of 503" not in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == [], errors
