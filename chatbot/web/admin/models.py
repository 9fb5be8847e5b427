"""Models: the bundles under `models_root` with their metrics and curves, each fine-tuned bundle
beside its parent (its figures on the transcripts' test slice and the base test split next to the
parent's), which one this worker serves, the history of switches, and activating another (every
worker follows; see chatbot/web/serving.py)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as N_  # extracted by default; translated per request
from werkzeug.wrappers import Response as BaseResponse

from chatbot.bundle import (
    CURVES_FILE,
    METRICS_FILE,
    MODEL_FILE,
    TRAIN_CONFIG_FILE,
    BundleError,
    is_bundle,
    read_metrics,
)
from chatbot.storage import switches
from chatbot.web.admin.auth import current_admin
from chatbot.web.database import get_session
from chatbot.web.serving import WATCHER, model_status

bp = Blueprint("admin_models", __name__, url_prefix="/admin")
HISTORY = 20
# The evaluation figures the page compares, in this order (train.evaluate writes them).
FIGURES = ("n", "perplexity_per_word", "bleu", "distinct_1", "distinct_2", "unique_reply_ratio",
           "top1_reply_share", "mean_reply_words", "latency_ms_p50")
BUNDLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# What each figure is called on the page, and how to read it.
FIGURE_LABELS = {
    "n": (N_("Test conversations"), N_("how many replies were scored")),
    "perplexity_per_word": (N_("Perplexity per word"),
                            N_("how surprised the model is by the real replies; lower is better")),
    "bleu": (N_("BLEU"), N_("word overlap with the real reply, 0 to 100; higher is better")),
    "distinct_1": (N_("Distinct words"), N_("share of reply words that are different; higher is more varied")),
    "distinct_2": (N_("Distinct word pairs"), N_("the same for pairs of words")),
    "unique_reply_ratio": (N_("Unique replies"), N_("share of replies given only once")),
    "top1_reply_share": (N_("Most common reply"), N_("share of the most frequent reply; lower is better")),
    "mean_reply_words": (N_("Words per reply"), N_("mean length of a reply")),
    "latency_ms_p50": (N_("Latency, median (ms)"), N_("time per reply on the machine that evaluated it")),
}


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

    def shipped_parent(self, bundles: dict[str, BundleInfo]) -> bool:
        """Whether the parent is another bundle listed here (a bundle that replaced its parent
        in the same directory names itself)."""
        return self.parent in bundles and self.parent != self.name

    def parent_label(self, bundles: dict[str, BundleInfo]) -> str | None:
        """The parent's name to show: the listed bundle, else the version its stored figures
        name (metrics.json "previous"), else its directory name."""
        if self.shipped_parent(bundles):
            return self.parent
        previous = self.metrics.get("previous")
        version = previous.get("version") if isinstance(previous, dict) else None
        return version if isinstance(version, str) and version else self.parent

    def parent_evaluation(self, bundles: dict[str, BundleInfo]) -> dict:
        """The parent's "test" figures: from its own bundle when listed, else the copy that
        training put in metrics.json ("parent", or "previous" from the model card)."""
        if self.shipped_parent(bundles):
            return bundles[self.parent].evaluation("test")
        stored = self.metrics.get("parent")
        metrics = stored.get("metrics") if isinstance(stored, dict) else None
        test = metrics.get("test") if isinstance(metrics, dict) else None
        if not isinstance(test, dict):
            previous = self.metrics.get("previous")
            test = previous.get("default") if isinstance(previous, dict) else None
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
    if path.resolve().parent != root or not is_bundle(path):
        raise BundleError(f"no model bundle named {name!r} under {root}")
    return path


def list_bundles(root: str | Path) -> list[BundleInfo]:
    """Every directory under `root` that is a bundle (chatbot.bundle.is_bundle), newest first."""
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


def _bundle(name: str) -> Path:
    try:
        return bundle_dir(current_app.config["MODELS_ROOT"], name)
    except BundleError:
        abort(404, description=_("No such model bundle."))


@bp.get("/models")
def models() -> str:
    loaded, serving = model_status()
    history = switches.history(get_session(), HISTORY)
    bundles = list_bundles(current_app.config["MODELS_ROOT"])
    active = _active_dir()
    return render_template("admin/models.html", bundles=bundles,
                           by_name={b.name: b for b in bundles}, figures=FIGURES,
                           labels=FIGURE_LABELS, loaded=loaded, serving=serving,
                           switches=history,
                           active=next((b.name for b in bundles if b.path.resolve() == active), None))


def _active_dir() -> Path:
    """The bundle every worker is told to serve: the newest switch, else MODEL_DIR."""
    latest = switches.history(get_session(), 1)
    return Path(latest[0].model_dir if latest else current_app.config["MODEL_DIR"]).resolve()


@bp.get("/models/<name>/curves.png")
def curves(name: str):
    path = _bundle(name) / CURVES_FILE
    if not path.is_file():
        abort(404, description=_("This bundle has no curves.png."))
    return send_file(path, mimetype="image/png", max_age=0)


@bp.post("/models/<name>/activate")
def activate(name: str) -> BaseResponse:
    path = _bundle(name)
    if path.resolve() == _active_dir():
        flash(_("%(name)s is already the active model; nothing changed.", name=name))
        return redirect(url_for(".models"))
    try:
        switch = current_app.extensions[WATCHER].activate(path, current_admin().name)
    except Exception as exc:  # a broken bundle: keep the current model, tell the admin why
        current_app.logger.exception("activating %s failed", path)
        flash(_("Could not load %(name)s: %(error)s", name=name, error=str(exc) or type(exc).__name__),
              "error")
        return redirect(url_for(".models"))
    flash(_("Now serving %(version)s; the other workers switch within seconds.",
            version=switch.version))
    return redirect(url_for(".models"))
