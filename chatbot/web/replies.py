"""The model side of the web app: load the bot once per process, turn stored turns into replies.

Views never touch TensorFlow directly: they call `generate()`, which raises `ModelUnavailable` with
a sentence the visitor can read when the model is missing or fails. Concurrent replies go through
this process's `Batcher` (chatbot/batching.py) unless `LEMBRA_BATCH_WINDOW_MS=0`.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from chatbot.batching import Batcher

if TYPE_CHECKING:  # these import TensorFlow, which only create_app may load
    from chatbot.bot import Bot, Reply
    from chatbot.decoding import DecodeOptions

BOT = "lembra.bot"
BOT_ERROR = "lembra.bot_error"
BATCHER = "lembra.batcher"
REPLY_TIMEOUT_S = 60.0  # gunicorn's worker timeout: a reply slower than this is not coming
_BATCHER_LOCK = threading.Lock()


class ModelUnavailable(RuntimeError):
    """The reply could not be computed; the message says why."""


def init_bot(app: Flask) -> None:
    """Load the bundle at MODEL_DIR (a broken bundle is logged and reported by /healthz)."""
    app.extensions[BOT] = app.config.pop("BOT", None)
    app.extensions[BOT_ERROR] = None if app.extensions[BOT] else "the model is not loaded"
    if app.extensions[BOT] is not None or not app.config["LOAD_MODEL"]:
        return
    from chatbot.bot import Bot
    from chatbot.bundle import BundleError

    try:
        bot = Bot.load(app.config["MODEL_DIR"])
        if app.config.get("WARM_UP", True):
            warm_up(bot)
    except BundleError as exc:
        app.extensions[BOT_ERROR] = str(exc)
        app.logger.error("no model: %s", exc)
        return
    except Exception as exc:  # a bundle that loads but cannot decode is just as unusable
        app.extensions[BOT_ERROR] = f"the model failed its first reply ({type(exc).__name__})"
        first_line = (str(exc).strip().splitlines() or [""])[0]
        app.logger.error("no model: %s: %s", app.extensions[BOT_ERROR], first_line)
        app.logger.debug("model warm-up failed", exc_info=True)
        return
    app.extensions[BOT] = bot
    app.extensions[BOT_ERROR] = None
    app.logger.info("loaded model %s", bot.version)


def warm_up(bot: Bot) -> None:
    """Reply once per compiled search, so the first visitor does not wait for graph tracing."""
    from chatbot.decoding import DecodeOptions

    for mode in ("greedy", "beam"):  # sampling shares the greedy loop
        bot.reply(["hello"], DecodeOptions(mode=mode, max_len=4))


def current_bot() -> Bot:
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
    """Decoding options from a request; a sampling request without a seed gets one.

    The stored seed makes a sampled reply reproducible, so its explanation can be recomputed.
    Raises ValueError with a readable message on unknown keys or bad values.
    """
    from chatbot.decoding import DecodeOptions

    data = dict(data or {})
    options = DecodeOptions.from_dict(data)
    if options.mode == "sample" and options.seed is None:
        options = DecodeOptions.from_dict({**options.to_dict(), "seed": secrets.randbelow(2**31)})
    return options


def default_options() -> dict[str, Any]:
    from chatbot.decoding import DecodeOptions

    return DecodeOptions().to_dict()


def history_turns(turns: Iterable[tuple[str, str]]) -> list[str]:
    """(role, text) pairs, oldest first, as alternating turns ending with the user's.

    A user message whose reply failed is followed by the user's next message; the two are joined
    so the model still sees turns that alternate.
    """
    merged: list[tuple[str, str]] = []
    for role, text in turns:
        if merged and merged[-1][0] == role:
            merged[-1] = (role, merged[-1][1] + "\n" + text)
        else:
            merged.append((role, text))
    return [text for _, text in merged]


def explain_reply(history: list[str], reply_text: str) -> tuple[dict, str]:
    """Teacher-forced explanation of a stored reply by the current bot, and that bot's version."""
    bot = current_bot()
    try:
        return bot.explain(history, reply_text), bot.version
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


def generate(history: list[str], options: DecodeOptions, explain: bool) -> Reply:
    """One reply from the loaded bot, batched with concurrent requests unless batching is off;
    any failure becomes ModelUnavailable."""
    bot = current_bot()
    queue = batcher()
    try:
        if queue is None:
            return bot.reply(history, options, explain=explain)
        return queue.reply(bot, history, options, explain, timeout=REPLY_TIMEOUT_S)
    except Exception as exc:  # TensorFlow raises many kinds; the visitor needs one sentence
        current_app.logger.exception("reply failed")
        raise ModelUnavailable(f"the model failed to reply ({type(exc).__name__})") from exc
