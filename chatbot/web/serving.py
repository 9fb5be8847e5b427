"""This worker's bot: load it once, warm it up, swap it when an admin activates another bundle,
batch concurrent replies, and turn stored turns into replies and explanations.

Views never touch TensorFlow directly: they call `generate()` or `explain_reply()`, which raise
`ModelUnavailable` with a sentence the visitor can read when the model is missing or fails.
Concurrent replies go through this process's `Batcher` (chatbot/batching.py) unless
`LEMBRA_BATCH_WINDOW_MS=0`.

Activating a bundle appends a row to `model_switches` (chatbot/storage/switches.py); the newest
row names the model to serve. Each worker (gunicorn runs one app per process) has a
`ModelWatcher` that looks at that row at most every `MODEL_CHECK_SECONDS`, before a request. When
it changed, the worker loads the new `Bot` in a background thread and then replaces
`app.extensions[BOT]` in one assignment: requests already running keep the `Bot` object they
fetched, new ones get the new model, and no request waits for the load or fails. The worker where
the admin clicked loads it in the request instead, so the admin sees a broken bundle as an error
and nothing is recorded.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError

from chatbot.batching import Batcher
from chatbot.bundle import BundleError, bundle_version, is_bundle
from chatbot.config import REPLY_TIMEOUT_S
from chatbot.options import MODES, DecodeOptions, find_mode
from chatbot.storage import switches
from chatbot.storage.db import ModelSwitch
from chatbot.web.database import open_session

if TYPE_CHECKING:  # these import TensorFlow, which only create_app may load
    from chatbot.bot import Bot, Reply

BOT = "lembra.bot"
BOT_ERROR = "lembra.bot_error"
BATCHER = "lembra.batcher"
WATCHER = "lembra.model_watcher"
DEFERRED = "lembra.deferred_model_dir"  # a command line's model, loaded when first asked for
_BATCHER_LOCK = threading.Lock()
_ABSOLUTE_PATH = re.compile(r"(?<![\w.])/[^\s:'\"()]+")


class ModelUnavailable(RuntimeError):
    """The reply could not be computed; the message says why."""


def init_app(app: Flask) -> None:
    """Load this worker's bot (the bundle an admin activated last, else MODEL_DIR) and check
    for a newer activation before each request. A broken bundle is logged and reported by
    /healthz; the app still serves everything else."""
    watcher = ModelWatcher(app)
    app.extensions[WATCHER] = watcher
    app.extensions[BOT] = app.config.get("BOT")  # tests hand in a loaded bot
    app.extensions[BOT_ERROR] = None if app.extensions[BOT] else "the model is not loaded"
    model_dir = watcher.start()
    app.extensions[DEFERRED] = None
    if app.extensions[BOT] is None and app.config["LOAD_MODEL"]:
        if in_a_command():
            app.extensions[DEFERRED] = model_dir
        else:
            _load_at_start(app, model_dir)
    app.before_request(watcher.check)


def in_a_command() -> bool:
    """True when the app is loaded by a `flask --app app ...` command other than `run`: to find
    the command (create-admin, init-db, purge), or by Flask's own `routes` and `shell`. None of
    them needs a reply at once, so TensorFlow and the model (seconds) load only if one is asked
    for (`current_bot()` in the shell). `flask run` serves, and loads it as a server does."""
    import click

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return False
    return isinstance(ctx.command, click.Group) or ctx.command.name != "run"


def _load_at_start(app: Flask, model_dir: str) -> None:
    try:
        bot = load_bot(app, model_dir)
    except BundleError as exc:
        app.extensions[BOT_ERROR] = without_paths(str(exc))  # visitors see it; the log has all
        app.logger.error("no model: %s", exc)
        return
    except Exception as exc:  # a bundle that loads but cannot decode is just as unusable
        app.extensions[BOT_ERROR] = f"the model failed its first reply ({type(exc).__name__})"
        first_line = (str(exc).strip().splitlines() or [""])[0]
        app.logger.error("no model: %s: %s", app.extensions[BOT_ERROR], first_line)
        app.logger.debug("model warm-up failed", exc_info=True)
        return
    app.extensions[BOT] = bot
    app.logger.info("loaded model %s", bot.version)


def without_paths(text: str) -> str:
    """`text` with each absolute path cut to its last two parts: anonymous visitors read this
    (/healthz, the page, API errors), and the server's directory layout is none of theirs."""
    return _ABSOLUTE_PATH.sub(lambda m: "/".join(Path(m.group(0)).parts[1:][-2:]), text)


def load_bot(app: Flask, path: str | Path) -> Bot:
    """The bundle at `path`, warmed up unless WARM_UP is off."""
    from chatbot.bot import Bot

    bot = Bot.load(path, xla=app.config.get("XLA", True))
    if app.config.get("WARM_UP", True):
        warm_up(bot)
    return bot


def warm_up(bot: Bot) -> None:
    """Reply once per compiled search, so the first visitor does not wait for graph tracing or
    XLA (the sampler is compiled for every shape bucket), and fit the support classifier
    (chatbot.support), which every message goes through."""
    from chatbot.support import classify

    classify("hello")
    if bot.decoder.xla:
        bot.decoder.warm_up()
    for mode in MODES:
        bot.reply(["hello"], DecodeOptions(mode=mode, max_len=4, seed=0))
    bot.explain(["hello"], "hi")  # the teacher-forced pass "Why this reply?" runs


def install(app: Flask, bot: Bot) -> None:
    """Serve `bot` from now on. One assignment each: a request that already fetched the old bot
    keeps using it."""
    app.extensions[BOT] = bot
    app.extensions[BOT_ERROR] = None
    app.logger.info("now serving model %s", bot.version)


class ModelWatcher:
    """One per app: notices a new row in model_switches and swaps this worker's bot."""

    def __init__(self, app: Flask):
        self.app = app
        self.interval = float(app.config.get("MODEL_CHECK_SECONDS", 2.0))
        self.seen_id: int | None = None
        self._next_check = 0.0
        self._lock = threading.Lock()
        self._loader: threading.Thread | None = None

    def latest(self) -> ModelSwitch | None:
        """The newest switch, or None (also when the table does not exist yet)."""
        session = open_session(self.app)
        try:
            return switches.latest(session)
        except SQLAlchemyError:
            self.app.logger.warning("cannot read model_switches (run init-db?)")
            return None
        finally:
            session.close()

    def start(self) -> str:
        """At start-up: the directory to serve, the activated bundle when there is one."""
        configured = self.app.config["MODEL_DIR"]
        switch = self.latest()
        if switch is None:
            return configured
        self.seen_id = switch.id
        if is_bundle(switch.model_dir):
            return switch.model_dir
        self.app.logger.error("activated model %s is gone; serving %s", switch.model_dir, configured)
        return configured

    def check(self) -> None:
        """Before a request: start loading the newest activated model if it is not ours yet."""
        now = time.monotonic()
        if now < self._next_check or not self._lock.acquire(blocking=False):
            return
        try:
            self._next_check = now + self.interval
            if self._loader is not None and self._loader.is_alive():
                return
            switch = self.latest()
            if switch is None or switch.id == self.seen_id:
                return
            self.seen_id = switch.id  # once: a bundle that fails to load is not retried forever
            self._loader = threading.Thread(target=self._load_quietly, args=(switch.model_dir,),
                                            name="lembra-model-loader", daemon=True)
            self._loader.start()
        finally:
            self._lock.release()

    def wait(self, timeout: float | None = None) -> None:
        """Block until a background load has finished (for tests and the CLI)."""
        loader = self._loader
        if loader is not None:
            loader.join(timeout)

    def activate(self, path: Path, admin: str) -> ModelSwitch:
        """Load `path` here and now, then record the switch so every other worker follows."""
        install(self.app, load_bot(self.app, path))
        session = open_session(self.app)
        try:
            with self._lock:
                switch = switches.record(session, str(path), bundle_version(path), admin)
                self.seen_id = switch.id
            return switch
        finally:
            session.close()

    def _load_quietly(self, path: str) -> None:
        try:
            bot = load_bot(self.app, path)
        except Exception:  # keep serving the old model; the admin sees the error on activation
            self.app.logger.exception("could not switch to the model at %s", path)
            return
        install(self.app, bot)


# -- in a request -------------------------------------------------------------------------------


_DEFERRED_LOCK = threading.Lock()


def current_bot() -> Bot:
    bot = current_app.extensions.get(BOT)
    if bot is None and current_app.extensions.get(DEFERRED):
        with _DEFERRED_LOCK:  # a command's model, asked for the first time
            model_dir, current_app.extensions[DEFERRED] = current_app.extensions[DEFERRED], None
            if model_dir:
                _load_at_start(current_app._get_current_object(), model_dir)
        bot = current_app.extensions.get(BOT)
    if bot is None:
        raise ModelUnavailable(current_app.extensions.get(BOT_ERROR) or "the model is not loaded")
    return bot


def model_status() -> tuple[bool, str]:
    """(loaded, version or the reason it is not)."""
    bot = current_app.extensions.get(BOT)
    if bot is None:
        return False, current_app.extensions.get(BOT_ERROR) or "the model is not loaded"
    return True, bot.version


def parse_options(data: Mapping[str, Any] | None) -> DecodeOptions:
    """Decoding options from a request; a sampling (or rerank) request without a seed gets one.

    The stored seed makes a sampled reply reproducible, so its explanation can be recomputed.
    Raises ValueError with a readable message on unknown keys or bad values.
    """
    options = DecodeOptions.from_dict(dict(data or {}))
    if find_mode(options.mode).stochastic and options.seed is None:
        options = DecodeOptions.from_dict({**options.to_dict(), "seed": secrets.randbelow(2**31)})
    return options


def explain_reply(history: list[str], reply_text: str,
                  exemplar: str | None = None) -> tuple[dict, str]:
    """Teacher-forced explanation of a stored reply by the current bot, and that bot's version;
    `exemplar`: the example it was written from, when the reply's record has it."""
    bot = current_bot()
    try:
        return bot.explain(history, reply_text, exemplar=exemplar), bot.version
    except Exception as exc:
        current_app.logger.exception("explanation failed")
        raise ModelUnavailable(f"the model failed to explain ({type(exc).__name__})") from exc


def batcher() -> Batcher | None:
    """This process's reply queue, made on first use (after gunicorn's fork); None when off."""
    queue = current_app.extensions.get(BATCHER)
    if queue is None and current_app.config["BATCH_WINDOW_MS"] > 0:
        with _BATCHER_LOCK:
            queue = current_app.extensions.get(BATCHER)
            if queue is None:
                queue = current_app.extensions[BATCHER] = Batcher(
                    current_app.config["BATCH_WINDOW_MS"], current_app.config["BATCH_MAX_SIZE"])
    return queue


def generate(history: list[str], options: DecodeOptions, explain: bool,
             avoid: list[str] | None = None) -> Reply:
    """One reply from the loaded bot, batched with concurrent requests unless batching is off;
    it begins unlike any reply in `avoid` (a regenerate). Any failure becomes ModelUnavailable."""
    bot = current_bot()
    queue = batcher()
    try:
        if queue is None:
            return bot.reply(history, options, explain=explain, avoid=avoid)
        return queue.reply(bot, history, options, explain, timeout=REPLY_TIMEOUT_S, avoid=avoid)
    except Exception as exc:  # TensorFlow raises many kinds; the visitor needs one sentence
        current_app.logger.exception("reply failed")
        raise ModelUnavailable(f"the model failed to reply ({type(exc).__name__})") from exc
