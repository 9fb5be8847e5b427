"""A model bundle: one directory holding everything serving needs, loaded from one path.

    model.keras        weights and architecture (custom layers registered in chatbot.model)
    tokenizer.model    the SentencePiece model the weights were trained with
    config.json        the ModelConfig
    manifest.json      which data, which split (written by train/)
    metrics.json       evaluation figures (written by train/)
    history.csv        per-epoch losses; curves.png their plot
    backward.keras     optional: the backward model p(message | reply) that reranks replies
    rerank.json        optional: the rerank weights chosen on the validation split
    scorer.keras       optional: the relevance scorer (chatbot.scorer), float16 weights
    memory.npz         optional, with the scorer: its training replies as vectors
    scorer_history.csv, scorer_curves.png: the scorer's training curves
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from chatbot.config import ConfigError, ModelConfig
from chatbot.rerank import RerankWeights
from chatbot.tokenizer import Tokenizer

MODEL_FILE = "model.keras"
TOKENIZER_FILE = "tokenizer.model"
CONFIG_FILE = "config.json"
MANIFEST_FILE = "manifest.json"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.csv"
CURVES_FILE = "curves.png"
TRAIN_CONFIG_FILE = "train_config.json"
CARD_FILE = "MODEL_CARD.md"
BACKWARD_FILE = "backward.keras"
RERANK_FILE = "rerank.json"
SCORER_FILE = "scorer.keras"
MEMORY_FILE = "memory.npz"
SCORER_HISTORY_FILE = "scorer_history.csv"
SCORER_CURVES_FILE = "scorer_curves.png"
REQUIRED = (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE)  # what serving cannot do without


class BundleError(ValueError):
    """The bundle directory is missing a file or holds one that cannot be read."""


@dataclass
class Bundle:
    config: ModelConfig
    tokenizer: Tokenizer
    model: object  # chatbot.model.Seq2Seq
    version: str
    backward: object | None = None  # chatbot.model.Seq2Seq over reversed pairs, same tokenizer
    rerank: RerankWeights | None = None
    scorer: object | None = None  # chatbot.scorer.DualEncoder (float32), same tokenizer
    memory: object | None = None  # chatbot.reply_memory.ReplyMemory, scored by that scorer


def bundle_version(path: str | Path) -> str:
    """Directory name plus a short hash of the files that decide replies: changes whenever the
    model, its backward model, the scorer, its memory or the rerank weights do."""
    path = Path(path)
    digest = hashlib.sha1()
    for name in (MODEL_FILE, BACKWARD_FILE, RERANK_FILE, SCORER_FILE, MEMORY_FILE):
        if name == MODEL_FILE or (path / name).is_file():
            with open(path / name, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
    return f"{path.resolve().name}-{digest.hexdigest()[:8]}"


def is_bundle(path: str | Path) -> bool:
    return all((Path(path) / name).is_file() for name in REQUIRED)


def check_bundle(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"model bundle not found: {path} is not a directory")
    for name in REQUIRED:
        if not (path / name).is_file():
            raise BundleError(f"model bundle {path} is missing {name}")
    return path


def load_bundle(path: str | Path) -> Bundle:
    import chatbot.model  # noqa: F401  (registers the custom layers)
    import chatbot.scorer  # noqa: F401

    path = check_bundle(path)
    try:
        config = ModelConfig.load(path / CONFIG_FILE)
    except (ConfigError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path / CONFIG_FILE}: {exc}") from exc
    try:
        tokenizer = Tokenizer(path / TOKENIZER_FILE)
    except (OSError, RuntimeError, AssertionError) as exc:
        raise BundleError(f"{path / TOKENIZER_FILE}: cannot load tokenizer ({exc})") from exc
    model = _load_model(path / MODEL_FILE)
    backward = _load_model(path / BACKWARD_FILE) if (path / BACKWARD_FILE).is_file() else None
    rerank = None
    if (path / RERANK_FILE).is_file():
        try:
            rerank = RerankWeights.load(path / RERANK_FILE)
        except (ValueError, KeyError, TypeError) as exc:
            raise BundleError(f"{path / RERANK_FILE}: {exc}") from exc
    scorer = memory = None
    if (path / SCORER_FILE).is_file():
        from chatbot.scorer import as_float32

        scorer = as_float32(_load_model(path / SCORER_FILE))
        if (path / MEMORY_FILE).is_file():
            memory = _load_memory(path / MEMORY_FILE)
    return Bundle(config, tokenizer, model, bundle_version(path), backward, rerank, scorer, memory)


def _load_memory(file: Path):
    from chatbot.reply_memory import ReplyMemory

    try:
        return ReplyMemory.load(file)
    except (OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
        raise BundleError(f"{file}: cannot load the reply memory ({exc})") from exc


def _load_model(file: Path):
    """The Keras model in `file`. One failed load is tried again: twice on this project's busy
    2-core machine a load of an intact scorer.keras raised ValueError and the same load then
    passed (not reproduced in 20 more tries); a corrupt file fails both times."""
    import logging

    import keras

    for attempt in (1, 2):
        try:
            return keras.models.load_model(file, compile=False)
        except Exception as exc:  # keras raises many types for a corrupt archive
            logging.getLogger(__name__).warning("loading %s failed (attempt %d): %s: %s", file,
                                                attempt, type(exc).__name__, str(exc)[:300])
            if attempt == 2:
                raise BundleError(f"{file}: cannot load model ({type(exc).__name__})") from exc


def save_model(model, config: ModelConfig, out: str | Path, name: str = MODEL_FILE) -> Path:
    """A fresh float32 copy is saved, so a bundle trained in mixed precision serves on any CPU."""
    import numpy as np

    from chatbot.model import build_model

    fresh = build_model(config)
    fresh.set_weights([np.asarray(w, np.float32) for w in model.get_weights()])
    path = Path(out) / name
    fresh.save(path)
    return path


def read_metrics(path: str | Path) -> dict:
    file = Path(path) / METRICS_FILE
    return json.loads(file.read_text()) if file.is_file() else {}
