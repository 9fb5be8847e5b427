"""Writing the trained model into its bundle, always as float32 whatever policy trained it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from chatbot.bundle import MODEL_FILE
from chatbot.config import ModelConfig
from chatbot.model import build_model


def save_bundle_model(model, model_cfg: ModelConfig, out: Path) -> Path:
    """A fresh float32 copy is saved, so a bundle trained in mixed precision serves on any CPU."""
    fresh = build_model(model_cfg)
    fresh.set_weights([np.asarray(w, np.float32) for w in model.get_weights()])
    path = Path(out) / MODEL_FILE
    fresh.save(path)
    return path
