"""The model bundles under `models_root`, and switching every worker to the one an admin activates.

Activating a bundle appends a row to `model_switches`; the newest row names the model to serve.
Each worker (gunicorn runs one app per process) has a `ModelWatcher` that looks at that row at
most every `MODEL_CHECK_SECONDS`, before a request. When it changed, the worker loads the new
`Bot` in a background thread and then replaces `app.extensions["lembra.bot"]` in one assignment:
requests already running keep the `Bot` object they fetched, new ones get the new model, and no
request waits for the load or fails. The worker where the admin clicked loads it in the request
instead, so the admin sees a broken bundle as an error and nothing is recorded.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from chatbot.bundle import METRICS_FILE, MODEL_FILE, BundleError, bundle_version, read_metrics
from chatbot.db import ModelSwitch

CURVES_FILE = "curves.png"
TRAIN_CONFIG_FILE = "train_config.json"
# The evaluation figures the models page compares, in this order (train.evaluate writes them).
FIGURES = ("n", "perplexity_per_word", "bleu", "distinct_1", "distinct_2", "unique_reply_ratio",
           "top1_reply_share", "mean_reply_words", "latency_ms_p50")
BUNDLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
WATCHER = "lembra.model_watcher"


@dataclass(frozen=True)
class BundleInfo:
    name: str
    path: Path
    metrics: dict
    has_curves: bool
    modified: datetime
    parent: str | None = None  # the bundle it was fine-tuned from (train_config's init_from)

    def evaluation(self, split: str) -> dict:
        """metrics.json's figures for "test" or "base_test" ({} when absent)."""
        value = self.metrics.get(split)
        return value if isinstance(value, dict) else {}

    def parent_evaluation(self, bundles: dict[str, BundleInfo]) -> dict:
        """The parent's "test" figures: from its own bundle when listed, else the copy that
        training put in metrics.json under "parent"."""
        if self.parent in bundles:
            return bundles[self.parent].evaluation("test")
        stored = self.metrics.get("parent")
        metrics = stored.get("metrics") if isinstance(stored, dict) else None
        test = metrics.get("test") if isinstance(metrics, dict) else None
        return test if isinstance(test, dict) else {}


def parent_name(path: Path) -> str | None:
    """The directory name of the bundle `path` was fine-tuned from, or None for a new model."""
    try:
        config = json.loads((path / TRAIN_CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return None
    init_from = config.get("init_from") if isinstance(config, dict) else None
    if not isinstance(init_from, str) or not init_from.strip():
        return None
    return Path(init_from.rstrip("/")).name or None


def bundle_dir(root: str | Path, name: str) -> Path:
    """The bundle `name` directly under `root`; BundleError for anything else (`..`, `/`, links)."""
    root = Path(root).resolve()
    if not BUNDLE_NAME.fullmatch(name or ""):
        raise BundleError(f"not a bundle name: {name!r}")
    path = root / name
    if path.resolve().parent != root or not (path / MODEL_FILE).is_file():
        raise BundleError(f"no model bundle named {name!r} under {root}")
    return path


def list_bundles(root: str | Path) -> list[BundleInfo]:
    """Every directory under `root` holding a model.keras, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        try:
            path = bundle_dir(root, path.name)
            metrics = read_metrics(path) if (path / METRICS_FILE).is_file() else {}
        except (BundleError, ValueError, OSError):
            continue  # not a bundle, or metrics.json unreadable: not listed as activatable
        modified = datetime.fromtimestamp((path / MODEL_FILE).stat().st_mtime, UTC)
        found.append(BundleInfo(path.name, path, metrics if isinstance(metrics, dict) else {},
                                (path / CURVES_FILE).is_file(), modified, parent_name(path)))
    return sorted(found, key=lambda b: (b.modified, b.name), reverse=True)


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
        session = self.app.extensions["lembra.db"]()
        try:
            return session.scalar(select(ModelSwitch).order_by(ModelSwitch.id.desc()).limit(1))
        except SQLAlchemyError:
            self.app.logger.warning("cannot read model_switches (run init-db?)")
            return None
        finally:
            session.close()

    def start(self) -> None:
        """At start-up: serve the activated bundle instead of MODEL_DIR, when there is one."""
        switch = self.latest()
        if switch is None:
            return
        self.seen_id = switch.id
        if Path(switch.model_dir, MODEL_FILE).is_file():
            self.app.config["MODEL_DIR"] = switch.model_dir
        else:
            self.app.logger.error("activated model %s is gone; serving %s",
                                  switch.model_dir, self.app.config["MODEL_DIR"])

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
        self._install(self._load(path))
        session = self.app.extensions["lembra.db"]()
        try:
            switch = ModelSwitch(model_dir=str(path), version=bundle_version(path), admin=admin)
            with self._lock:
                session.add(switch)
                session.commit()
                self.seen_id = switch.id
            return switch
        finally:
            session.close()

    def _load(self, path: str | Path):
        from chatbot.bot import Bot
        from chatbot.web.replies import warm_up

        bot = Bot.load(path)
        if self.app.config.get("WARM_UP", True):
            warm_up(bot)
        return bot

    def _load_quietly(self, path: str) -> None:
        try:
            bot = self._load(path)
        except Exception:  # keep serving the old model; the admin sees the error on activation
            self.app.logger.exception("could not switch to the model at %s", path)
            return
        self._install(bot)

    def _install(self, bot) -> None:
        from chatbot.web.replies import BOT, BOT_ERROR

        # One assignment each: a request that already fetched the old bot keeps using it.
        self.app.extensions[BOT] = bot
        self.app.extensions[BOT_ERROR] = None
        self.app.logger.info("now serving model %s", bot.version)


def init_app(app: Flask) -> ModelWatcher:
    """Create this worker's watcher, pick the activated model, and check before each request."""
    watcher = ModelWatcher(app)
    watcher.start()
    app.extensions[WATCHER] = watcher

    @app.before_request
    def _check_model() -> None:
        watcher.check()

    return watcher
